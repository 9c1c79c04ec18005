"""Remote evaluators: `langfuse:<score>` references, scored in Langfuse and folded in here.

Pipeline role: `prepare` splits a run's evaluator references into local ones (built and run
by `cases`) and remote ones (`RemoteEvaluator`); after the run was recorded in Langfuse, the
provider waits for the remote scores (`engine.providers.langfuse.remote_scores`) and calls
`fold` per variant, which puts them into each case's scores under the evaluator's label and
re-aggregates - from then on a remote score is gated, ranked and reported like a local one.

Rules, the same as for local evaluators: a failed call scores 0; a score that never came
within the timeout is an evaluator error (counted 0, the reason in the report); a value
outside [0, 1] is an error too (normalise it in the Langfuse evaluator's template).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.evaluation.results import EvaluatorInfo, aggregate
from engine.evaluation.run import VariantRun
from engine.evaluators import Score, is_remote, validate_reference
from engine.spec.schema import EvaluatorRef


@dataclass(frozen=True)
class RemoteEvaluator:
    #: the name scores are reported under in agentops (the ref's `name:` or the score name)
    label: str
    #: the score's name in Langfuse
    score: str
    timeout: float
    poll_interval: float
    source: str

    @classmethod
    def of(cls, ref: EvaluatorRef) -> RemoteEvaluator:
        values = validate_reference(ref.use, ref.params)
        return cls(
            label=ref.label,
            score=ref.use.split(":", 1)[1],
            timeout=_seconds(values["timeout"]),
            poll_interval=_seconds(values["poll_interval"]),
            source=str(values["source"]),
        )


def _seconds(value: object) -> float:
    assert isinstance(value, int | float)  # validate_params made durations seconds
    return float(value)


def split_refs(refs: Sequence[EvaluatorRef]) -> tuple[list[EvaluatorRef], list[RemoteEvaluator]]:
    """(local references, remote evaluators), each in spec order."""
    local = [r for r in refs if not is_remote(r.use)]
    remote = [RemoteEvaluator.of(r) for r in refs if is_remote(r.use)]
    return local, remote


def fold(
    variant: VariantRun,
    remote: Sequence[RemoteEvaluator],
    values: Mapping[str, Mapping[tuple[str, int], float]],
    infos: Sequence[EvaluatorInfo],
) -> None:
    """Put the remote scores (`values[score name][(item, repetition)]`) into the cases."""
    for ev in remote:
        got = values.get(ev.score, {})
        for case in variant.cases:
            key = (case.item_id, case.repetition)
            value = got.get(key)
            if not case.ok:
                score = Score(ev.label, 0.0, comment="the call failed")
            elif value is None:
                score = Score(
                    ev.label,
                    None,
                    error=f"Langfuse gave no '{ev.score}' score (source {ev.source}) within "
                    f"{ev.timeout:g}s",
                )
            elif not (math.isfinite(value) and 0.0 <= value <= 1.0):
                score = Score(
                    ev.label,
                    None,
                    error=f"Langfuse score '{ev.score}' = {value:g} is outside [0, 1]; "
                    "normalise it in the Langfuse evaluator",
                )
            else:
                score = Score(ev.label, float(value), comment=f"Langfuse {ev.source.lower()}")
            case.scores = {**case.scores, ev.label: score}
    # keep the spec's evaluator order in every case's scores
    order = [i.label for i in infos]
    for case in variant.cases:
        case.scores = {k: case.scores[k] for k in order if k in case.scores}
    variant.aggregate = aggregate(variant.cases, infos)

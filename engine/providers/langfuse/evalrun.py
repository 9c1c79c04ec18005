"""Record a finished `EvalRun` (every variant of an Experiment, or a QualityGate) in Langfuse.

Pipeline role: the one call the evaluation provider needs when the run's environment has
`store: langfuse` - after `execute()` produced the run and before (or next to) saving it in
the local store:

    if ctx.workspace.environments[run.env].doc.spec.store == "langfuse":
        record_eval_run(run, ctx, recorder=recorder, remote=plan.remote)  # opened before deploying

Each variant becomes one Langfuse dataset run named after the address, the variant and the
agent digest (`langfuse_runs.run_name`); every case is a trace linked to its dataset item
with the evaluators' scores; the variant's aggregates are the run-level scores. It reads
the runner's data model only (`engine.evaluation.run`), never changes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

from engine.evaluation.remote import RemoteEvaluator, fold
from engine.evaluation.results import VariantAggregate
from engine.evaluation.run import EvalRun, VariantRun
from engine.evaluators import Score
from engine.providers.base import Context
from engine.providers.langfuse.remote_scores import wait_for_remote_scores
from engine.providers.langfuse.runs import (
    DatasetRunRecording,
    LangfuseRunRecorder,
    RunSummary,
    ScoreInput,
    run_name,
)


def scores_of(scores: Iterable[Score]) -> list[ScoreInput]:
    """Engine scores as recorder inputs: errors count 0 (as in the aggregates), skips go."""
    out: list[ScoreInput] = []
    for s in scores:
        if s.skipped:
            continue
        if s.error is not None or s.value is None:
            out.append((s.name, 0.0, f"evaluator error: {s.error}"[:500]))
        else:
            out.append((s.name, s.value, s.comment))
    return out


def aggregates_of(agg: VariantAggregate) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for label, summary in agg.evaluators.items():
        out[label] = summary.mean
        out[f"{label}.pass_rate"] = summary.pass_rate
    out["pass_rate"] = agg.pass_rate
    out["latency_p50_ms"] = agg.latency_p50
    out["latency_p95_ms"] = agg.latency_p95
    out["call_errors"] = float(agg.call_errors)
    out["evaluator_errors"] = float(agg.evaluator_errors)
    return out


def record_eval_run(
    run: EvalRun,
    ctx: Context,
    *,
    recorder: LangfuseRunRecorder | None = None,
    remote: Sequence[RemoteEvaluator] = (),
    cancel: threading.Event | None = None,
    on_wait: Callable[[str], None] = lambda _msg: None,
    clock: Callable[[], float] = time.monotonic,
) -> list[RunSummary]:
    """One Langfuse dataset run per variant; remote scores awaited and folded; flushed.

    Order: every variant's cases are recorded (traces + local scores), then - when the run
    has `langfuse:<score>` evaluators - the traces are flushed and each remote score is
    awaited (one deadline per evaluator, `timeout` after the flush, shared by the variants)
    and folded into the cases (`engine.evaluation.remote.fold`, which re-aggregates), and
    only then are the run-level aggregates sent, so they include the remote scores.
    """
    recorder = recorder or LangfuseRunRecorder.for_environment(ctx, run.env)
    items = ctx.workspace.items.get(run.dataset, [])
    by_id = {i.id: i for i in items}
    labels = [e.label for e in run.evaluators]
    recordings: list[tuple[VariantRun, DatasetRunRecording]] = []
    for v in run.variants:
        recording = recorder.start_run(
            dataset=run.dataset,
            run_name=run_name(run.address, v.name, v.agent_digest, run.run_id),
            items=items,
            repetitions=run.repetitions,
            score_names=[x for x in labels if x not in {r.label for r in remote}],
            description=f"{run.kind} {run.address}, variant {v.name} ({v.label or 'base'})",
            metadata={
                "address": run.address,
                "run_id": run.run_id,
                "variant": v.name,
                "values": {k: dict(x) for k, x in v.values.items()},
                "model": v.model,
                "agent_digest": v.agent_digest,
                "dataset_digest": run.dataset_digest,
                "inputs_digest": run.inputs_digest,
            },
        )
        for c in v.cases:
            item = by_id.get(c.item_id)
            recording.record_item(
                c.item_id,
                input=item.input if item is not None else None,
                output=c.response if c.ok else None,
                latency_ms=c.latency_ms,
                error=None if c.ok else (c.error or "the invocation failed"),
                scores=scores_of(c.scores.values()),
                trajectory=c.trajectory,
                usage=c.usage,
                repetition=c.repetition,
            )
        recording.record_missing()
        recordings.append((v, recording))
    if remote:
        recorder.flush()  # the judges can only score traces Langfuse has
        started = clock()
        for v, recording in recordings:
            values: dict[str, dict[tuple[str, int], float]] = {}
            for ev in remote:
                left = max(0.0, started + ev.timeout - clock())
                on_wait(
                    f"{run.address} {v.name}: waiting for Langfuse score '{ev.score}' "
                    f"on {len(v.cases)} trace(s) (at most {left:.0f}s)"
                )
                got = wait_for_remote_scores(
                    recording,
                    [ev.score],
                    timeout=left,
                    poll_interval=ev.poll_interval,
                    source=ev.source,
                    cancel=cancel,
                    clock=clock,
                )
                values[ev.score] = got.values[ev.score]
            fold(v, remote, values, run.evaluators)
    summaries = [rec.finish(aggregates_of(v.aggregate)) for v, rec in recordings]
    recorder.flush()
    return summaries

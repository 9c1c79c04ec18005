"""Results: the cases of one variant reduced to comparable numbers, and variants ranked.

Pipeline role: after `cases`, before `gate`, `store` and the reports. Per evaluator it uses
`engine.evaluators.aggregate.summarize` (errors count as 0, skipped scores are left out,
mean, stdev, pass rate and a 95% interval across repetitions); per variant it adds the
overall pass rate (a case passes when every evaluator that applies passed it), latency
percentiles of the successful calls, failed calls, evaluator errors and token usage.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.evaluation.cases import CaseResult
from engine.evaluators import EvaluatorSummary, percentile, summarize
from engine.spec.schema import LOWER_IS_BETTER, EvaluatorRef

#: objective metrics that are not evaluator labels (`tokens`: total tokens per case)
RUN_METRICS = ("pass_rate", "latency_p50", "latency_p95", "errors", "tokens")


@dataclass(frozen=True)
class EvaluatorInfo:
    """What reports and gates need to know about one evaluator of a run."""

    label: str
    use: str
    pass_at: float = 0.5
    #: the gate's thresholds (None: not gated)
    mean: float | None = None
    pass_rate: float | None = None

    @classmethod
    def of(cls, ref: EvaluatorRef) -> EvaluatorInfo:
        th = ref.threshold
        return cls(
            label=ref.label,
            use=ref.use,
            pass_at=ref.pass_at,
            mean=th.mean if th else None,
            pass_rate=th.pass_rate if th else None,
        )


@dataclass
class VariantAggregate:
    """One variant over all its items x repetitions."""

    cases: int
    evaluators: dict[str, EvaluatorSummary]
    #: share of cases every applicable evaluator passed (None when nothing applied)
    pass_rate: float | None
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    #: failed invocations (each scored 0 by every evaluator)
    call_errors: int
    #: evaluator exceptions or invalid scores (each counted as 0)
    evaluator_errors: int
    tokens: dict[str, int] = field(default_factory=dict)
    #: repetition -> {"p50", "p95", "p99", "pass_rate"}: the run-to-run spread
    per_repetition: dict[int, dict[str, float | None]] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.call_errors + self.evaluator_errors

    def metric(self, name: str) -> float | None:
        """An objective metric: an evaluator label (its mean), `label.pass_rate`, or a run
        metric (`pass_rate`, `latency_p50`, `latency_p95`, `errors`)."""
        if name in self.evaluators:
            return self.evaluators[name].mean
        if name.endswith(".pass_rate") and name[: -len(".pass_rate")] in self.evaluators:
            return self.evaluators[name[: -len(".pass_rate")]].pass_rate
        if name == "errors":
            return float(self.errors)
        if name == "tokens":
            total = total_tokens(self.tokens)
            return total / self.cases if total and self.cases else None
        if name in ("pass_rate", "latency_p50", "latency_p95"):
            value: float | None = getattr(self, name)
            return value
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["per_repetition"] = {str(k): v for k, v in self.per_repetition.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VariantAggregate:
        values = dict(data)
        values["evaluators"] = {
            k: EvaluatorSummary(**v) for k, v in dict(values["evaluators"]).items()
        }
        values["per_repetition"] = {int(k): v for k, v in dict(values["per_repetition"]).items()}
        return cls(**values)


def total_tokens(usage: Mapping[str, int]) -> int | None:
    """Total tokens of a usage record: its total, else input + output (None: no usage)."""
    total = usage.get("total_tokens") or usage.get("totalTokens")
    if total is None:
        total = sum(v for k, v in usage.items() if "input" in k.lower() or "output" in k.lower())
    return total or None


def metric_names(evaluators: Sequence[EvaluatorInfo]) -> list[str]:
    labels = [e.label for e in evaluators]
    return labels + [f"{x}.pass_rate" for x in labels] + list(RUN_METRICS)


def case_passed(case: CaseResult, infos: Mapping[str, EvaluatorInfo]) -> bool | None:
    """Every applicable evaluator scored at least its passAt (None: none applied)."""
    if not case.ok:
        return False
    verdicts = []
    for label, score in case.scores.items():
        counted = score.counted_value
        if counted is None:
            continue
        info = infos.get(label)
        verdicts.append(counted >= (info.pass_at if info else 0.5))
    return all(verdicts) if verdicts else None


def aggregate(cases: Sequence[CaseResult], evaluators: Sequence[EvaluatorInfo]) -> VariantAggregate:
    infos = {e.label: e for e in evaluators}
    summaries = {
        e.label: summarize(
            e.label,
            [(c.item_id, c.repetition, c.scores[e.label]) for c in cases if e.label in c.scores],
            pass_at=e.pass_at,
        )
        for e in evaluators
    }
    tokens: dict[str, int] = {}
    for c in cases:
        for key, n in c.usage.items():
            tokens[key] = tokens.get(key, 0) + n
    ok_latencies = [c.latency_ms for c in cases if c.ok]
    per_rep: dict[int, dict[str, float | None]] = {}
    for rep in sorted({c.repetition for c in cases}):
        rep_cases = [c for c in cases if c.repetition == rep]
        lat = [c.latency_ms for c in rep_cases if c.ok]
        per_rep[rep] = {
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "p99": percentile(lat, 99),
            "pass_rate": _share([case_passed(c, infos) for c in rep_cases]),
        }
        for e in evaluators:
            counted = [v for c in rep_cases if (v := _counted(c, e.label)) is not None]
            per_rep[rep][f"{e.label}.pass_rate"] = (
                sum(1 for v in counted if v >= e.pass_at) / len(counted) if counted else None
            )
    return VariantAggregate(
        cases=len(cases),
        evaluators=summaries,
        pass_rate=_share([case_passed(c, infos) for c in cases]),
        latency_p50=percentile(ok_latencies, 50),
        latency_p95=percentile(ok_latencies, 95),
        latency_p99=percentile(ok_latencies, 99),
        call_errors=sum(1 for c in cases if not c.ok),
        evaluator_errors=sum(
            1 for c in cases if c.ok for s in c.scores.values() if s.error is not None
        ),
        tokens=tokens,
        per_repetition=per_rep,
    )


def _counted(case: CaseResult, label: str) -> float | None:
    score = case.scores.get(label)
    return score.counted_value if score is not None else None


def _share(flags: Sequence[bool | None]) -> float | None:
    counted = [f for f in flags if f is not None]
    return sum(1 for f in counted if f) / len(counted) if counted else None


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def rank(
    aggregates: Sequence[tuple[str, VariantAggregate]], metric: str, goal: str
) -> list[tuple[str, float | None]]:
    """Variants best first by `metric` (`goal` maximize|minimize); None values last.

    Ties are broken by pass rate (higher), errors (fewer), p50 latency (lower), then the
    matrix order, so the same results always give the same winner.
    """
    sign = -1.0 if goal == "maximize" else 1.0

    def key(entry: tuple[int, str, VariantAggregate]) -> tuple[float, ...]:
        order, _name, agg = entry
        value = agg.metric(metric)
        primary = math.inf if value is None else sign * value
        return (
            primary,
            -(agg.pass_rate if agg.pass_rate is not None else -1.0),
            float(agg.errors),
            agg.latency_p50 if agg.latency_p50 is not None else math.inf,
            float(order),
        )

    ordered = sorted(((i, n, a) for i, (n, a) in enumerate(aggregates)), key=key)
    return [(n, a.metric(metric)) for _i, n, a in ordered]

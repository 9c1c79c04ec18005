"""Gate verdicts: a QualityGate's thresholds against the aggregate of the agent it tested.

Pipeline role: after `results`, for QualityGate runs only. Every threshold is one `Check`
with its own verdict, so the failure message names exactly what missed:

* an evaluator's `threshold.mean`: `engine.evaluators.aggregate.verdict`, i.e. inconclusive
  when the threshold lies strictly inside the 95% interval of the mean across repetitions;
* an evaluator's `threshold.passRate`, and the `latency` percentiles: inconclusive when the
  threshold lies strictly between the lowest and the highest per-repetition value (another
  run could land on either side), otherwise pass/fail on the value over all repetitions;
* `maxErrors`: failed calls plus evaluator errors, never inconclusive. A gate whose evaluator
  crashes does not pass quietly.

The gate's verdict is `fail` if any check failed, else `inconclusive` if any check is,
else `pass`; `spec.inconclusive` decides whether inconclusive lets the promotion through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from engine.evaluation.results import EvaluatorInfo, VariantAggregate
from engine.evaluators import verdict
from engine.evaluators.aggregate import Verdict
from engine.spec.schema import LatencyLimits


@dataclass(frozen=True)
class Check:
    """One threshold: `value op threshold`, e.g. facts mean 0.62 >= 0.5."""

    name: str
    value: float | None
    threshold: float
    op: Literal[">=", "<="]
    verdict: Verdict
    #: (low, high) the result could plausibly take in another run (None: one repetition)
    spread: tuple[float, float] | None = None
    #: the evaluator label or "latency" / "errors", for charts
    subject: str = ""
    metric: str = ""

    def describe(self) -> str:
        value = "n/a" if self.value is None else fmt_metric(self.value, self.metric)
        text = f"{self.name} {value} {self.op} {fmt_metric(self.threshold, self.metric)}"
        if self.spread is not None:
            lo, hi = self.spread
            text += f" (spread {fmt_metric(lo, self.metric)}–{fmt_metric(hi, self.metric)})"
        return text


@dataclass
class GateOutcome:
    verdict: Verdict
    #: after applying `inconclusive: pass|fail`
    passed: bool
    inconclusive_as: str
    checks: list[Check] = field(default_factory=list)

    def message(self) -> str:
        missed = [c for c in self.checks if c.verdict == "fail"]
        unsure = [c for c in self.checks if c.verdict == "inconclusive"]
        if self.verdict == "pass":
            return f"gate passed: {len(self.checks)} check(s) met"
        if self.verdict == "fail":
            return "gate failed: " + "; ".join(_miss(c) for c in missed)
        return f"gate inconclusive (counted as {self.inconclusive_as}): " + "; ".join(
            f"{c.describe()} straddles the threshold" for c in unsure
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateOutcome:
        checks = []
        for c in data.get("checks", []):
            spread = tuple(c["spread"]) if c.get("spread") else None
            checks.append(Check(**{**c, "spread": spread}))
        return cls(data["verdict"], data["passed"], data["inconclusive_as"], checks)


def fmt_metric(value: float, metric: str) -> str:
    """A check's value as people read it: ms for latency, a count for errors, else 0.00."""
    if metric.startswith("latency"):
        return f"{value:.0f} ms"
    if metric == "errors":
        return f"{value:.0f}"
    if metric == "tokens":
        return f"{value:,.0f} tokens"
    return f"{value:.2f}"


def _miss(c: Check) -> str:
    word = "<" if c.op == ">=" else ">"
    value = "no value" if c.value is None else fmt_metric(c.value, c.metric)
    return f"{c.name} {value} {word} {fmt_metric(c.threshold, c.metric)}"


def _spread(values: Sequence[float | None]) -> tuple[float, float] | None:
    """(min, max) of the per-repetition values when there are at least two."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    return (min(present), max(present))


def _range_check(
    name: str,
    value: float | None,
    threshold: float,
    op: Literal[">=", "<="],
    per_rep: Sequence[float | None],
    subject: str,
    metric: str,
) -> Check:
    spread = _spread(per_rep)
    if value is None:
        v: Verdict = "fail"
    elif spread is not None and spread[0] < threshold < spread[1]:
        v = "inconclusive"
    else:
        ok = value >= threshold if op == ">=" else value <= threshold
        v = "pass" if ok else "fail"
    return Check(name, value, threshold, op, v, spread, subject, metric)


def evaluate_gate(
    agg: VariantAggregate,
    evaluators: Sequence[EvaluatorInfo],
    *,
    latency: LatencyLimits | None,
    max_errors: int,
    inconclusive: str,
) -> GateOutcome:
    checks: list[Check] = []
    reps = [agg.per_repetition[r] for r in sorted(agg.per_repetition)]
    for info in evaluators:
        summary = agg.evaluators[info.label]
        if info.mean is not None:
            spread = (
                (summary.ci95_low, summary.ci95_high)
                if summary.ci95_low is not None and summary.ci95_high is not None
                else None
            )
            checks.append(
                Check(
                    f"{info.label} mean",
                    summary.mean,
                    info.mean,
                    ">=",
                    verdict(summary, threshold_mean=info.mean),
                    spread,
                    info.label,
                    "mean",
                )
            )
        if info.pass_rate is not None:
            per = [r.get(f"{info.label}.pass_rate") for r in reps]
            check = _range_check(
                f"{info.label} pass rate",
                summary.pass_rate,
                info.pass_rate,
                ">=",
                per,
                info.label,
                "pass_rate",
            )
            if summary.pass_rate is None:  # every item skipped: no evidence either way
                check = Check(**{**asdict(check), "verdict": "inconclusive"})
            checks.append(check)
    if latency is not None:
        for q, limit in (("p50", latency.p50_ms), ("p95", latency.p95_ms), ("p99", latency.p99_ms)):
            if limit is None:
                continue
            value: float | None = getattr(agg, f"latency_{q}")
            per = [r.get(q) for r in reps]
            checks.append(
                _range_check(f"latency {q}", value, limit, "<=", per, "latency", f"latency_{q}")
            )
    checks.append(
        Check(
            "errors",
            float(agg.errors),
            float(max_errors),
            "<=",
            "pass" if agg.errors <= max_errors else "fail",
            None,
            "errors",
            "errors",
        )
    )
    overall: Verdict = "pass"
    if any(c.verdict == "fail" for c in checks):
        overall = "fail"
    elif any(c.verdict == "inconclusive" for c in checks):
        overall = "inconclusive"
    passed = overall == "pass" or (overall == "inconclusive" and inconclusive == "pass")
    return GateOutcome(overall, passed, inconclusive, checks)

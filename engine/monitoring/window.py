"""A Monitor's window: the figures over the traces that started within it, and the verdict.

Role: after a run scored its new traces, the thresholds are judged over the whole window
(`spec.window`, e.g. the last hour), which includes traces earlier runs scored: a breach is
a property of recent traffic, not of the few traces one run happened to see. Per evaluator:
mean score and pass rate (share of scored traces at or above its `passAt`); per window:
error rate and latency percentiles of every matching trace. Fewer scored traces than
`minTraces` make the verdict `inconclusive` (never a breach on three requests).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.evaluators import percentile
from engine.monitoring.model import TraceScore
from engine.spec.schema.monitor import MonitorSpec


@dataclass(frozen=True)
class Check:
    metric: str
    value: float | None
    limit: float
    op: str  # ">=" or "<="
    ok: bool

    def line(self) -> str:
        shown = "–" if self.value is None else f"{self.value:.3g}"
        return (
            f"{self.metric} {shown} {'met' if self.ok else 'breached'} ({self.op} {self.limit:g})"
        )


@dataclass(frozen=True)
class Window:
    since: float
    until: float
    traces: int
    scored: int
    errors: int
    means: dict[str, float]
    pass_rates: dict[str, float]
    latency: dict[str, float | None]
    checks: list[Check] = field(default_factory=list)
    verdict: str = "ok"  # ok | breached | inconclusive

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.traces if self.traces else None

    def summary(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "traces": self.traces,
            "scored": self.scored,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "means": self.means,
            "pass_rates": self.pass_rates,
            "latency_ms": self.latency,
            "checks": [c.__dict__ for c in self.checks],
            "verdict": self.verdict,
        }


def judge_window(
    spec: MonitorSpec,
    *,
    since: float,
    until: float,
    scores: Sequence[TraceScore],
    traces: int,
    errors: int,
    latencies: Sequence[float],
    pass_at: dict[str, float],
) -> Window:
    by_name: dict[str, list[TraceScore]] = defaultdict(list)
    for s in scores:
        by_name[s.name].append(s)
    means = {n: sum(s.value for s in v) / len(v) for n, v in sorted(by_name.items())}
    pass_rates = {
        n: sum(1 for s in v if s.value >= pass_at.get(n, 0.5)) / len(v)
        for n, v in sorted(by_name.items())
    }
    scored = len({s.trace_id for s in scores})
    lat = {f"p{q}": percentile(latencies, q) for q in (50, 95, 99)}
    checks: list[Check] = []
    for ev in spec.evaluators:
        t = ev.threshold
        if t is None:
            continue
        if t.mean is not None:
            v = means.get(ev.label)
            checks.append(Check(f"{ev.label} mean", v, t.mean, ">=", v is None or v >= t.mean))
        if t.pass_rate is not None:
            v = pass_rates.get(ev.label)
            ok = v is None or v >= t.pass_rate
            checks.append(Check(f"{ev.label} pass rate", v, t.pass_rate, ">=", ok))
    th = spec.thresholds
    if th.error_rate is not None:
        er = errors / traces if traces else None
        checks.append(
            Check("error rate", er, th.error_rate, "<=", er is None or er <= th.error_rate)
        )
    for q, limit in ((50, th.p50_ms), (95, th.p95_ms), (99, th.p99_ms)):
        if limit is not None:
            v = lat[f"p{q}"]
            checks.append(Check(f"latency p{q} ms", v, limit, "<=", v is None or v <= limit))
    if scored < spec.min_traces:
        verdict = "inconclusive"
    else:
        verdict = "breached" if any(not c.ok for c in checks) else "ok"
    return Window(
        since=since,
        until=until,
        traces=traces,
        scored=scored,
        errors=errors,
        means=means,
        pass_rates=pass_rates,
        latency=lat,
        checks=checks,
        verdict=verdict,
    )

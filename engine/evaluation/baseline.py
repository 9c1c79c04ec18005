"""Baseline comparison: a gate's new result against the last passing result of the digest
that is promoted now, per metric, with a paired bootstrap over per-case scores.

Pipeline role: after a gate run (in a preview: `engine.preview.run`), before the report.
Cases are matched by item id x repetition, so the comparison is paired: the same question,
asked the same number of times, answered by the old and the new digest. For each metric
(an evaluator's mean of counted scores, and `latency_ms`) the bootstrap resamples the
matched pairs with a seeded `random.Random`, so the same two runs always give the same
interval, and a delta is significant when its 95% interval excludes 0. A gate's
`maxRegression` bounds how far a metric may fall below the baseline (for `latency_ms`: rise
above it); a regression beyond it fails the comparison whether significant or not.

Where the baseline comes from and where passing results are kept for later comparisons is
`engine.evaluation.baseline_store`; a `Comparison` also carries the baseline's own cases
(answers and scores), so a report can put the old answer next to the new one.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.evaluation.cases import CaseResult
from engine.evaluators import Score

BOOTSTRAP_SAMPLES = 2000
SEED = 20261202
LATENCY = "latency_ms"


@dataclass(frozen=True)
class MetricDelta:
    metric: str
    baseline: float | None
    new: float | None
    delta: float | None
    #: 95% paired-bootstrap interval of the delta (None: fewer than two pairs)
    ci95: tuple[float, float] | None
    significant: bool
    pairs: int
    max_regression: float | None = None
    #: the metric fell further than maxRegression allows
    regressed: bool = False


@dataclass
class Comparison:
    baseline_run: str | None
    baseline_digest: str | None
    deltas: list[MetricDelta] = field(default_factory=list)
    note: str = ""
    #: where the baseline digest came from, e.g. "promoted in prd", "declared"
    source: str = ""
    #: the baseline run's cases (answers, latencies, scores), for side-by-side reports
    baseline_cases: list[CaseResult] = field(default_factory=list)

    @property
    def regressed(self) -> list[MetricDelta]:
        return [d for d in self.deltas if d.regressed]

    def describe_regressions(self) -> str:
        """`facts -0.120 (maxRegression 0.050)`, one per regressed metric."""
        return "; ".join(
            f"{d.metric} {d.delta:+.3f} (maxRegression {d.max_regression:g})"
            for d in self.regressed
            if d.delta is not None and d.max_regression is not None
        )

    def to_json(self, *, cases: bool = True) -> dict[str, Any]:
        out = asdict(self)
        if not cases:
            del out["baseline_cases"]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        deltas = []
        for d in data.get("deltas") or []:
            ci = tuple(d["ci95"]) if d.get("ci95") is not None else None
            deltas.append(MetricDelta(**{**d, "ci95": ci}))
        return cls(
            baseline_run=data.get("baseline_run"),
            baseline_digest=data.get("baseline_digest"),
            deltas=deltas,
            note=str(data.get("note") or ""),
            source=str(data.get("source") or ""),
            baseline_cases=[case_from_json(c) for c in data.get("baseline_cases") or []],
        )


def case_to_json(c: CaseResult) -> dict[str, Any]:
    return asdict(c)


def case_from_json(data: Mapping[str, Any]) -> CaseResult:
    scores = {str(k): Score(**v) for k, v in (data.get("scores") or {}).items()}
    return CaseResult(
        item_id=str(data["item_id"]),
        item_index=int(data.get("item_index") or 0),
        repetition=int(data.get("repetition") or 0),
        ok=bool(data.get("ok")),
        response=str(data.get("response") or ""),
        error=data.get("error"),
        latency_ms=float(data.get("latency_ms") or 0.0),
        usage=dict(data.get("usage") or {}),
        trajectory=list(data.get("trajectory") or []),
        scores=scores,
        trace_id=str(data.get("trace_id") or ""),
    )


def _values(cases: Sequence[CaseResult], metric: str) -> dict[tuple[str, int], float]:
    out: dict[tuple[str, int], float] = {}
    for c in cases:
        if metric == LATENCY:
            if c.ok:
                out[(c.item_id, c.repetition)] = c.latency_ms
            continue
        score = c.scores.get(metric)
        counted = score.counted_value if score is not None else None
        if counted is not None:
            out[(c.item_id, c.repetition)] = counted
    return out


def paired_bootstrap(
    pairs: Sequence[tuple[float, float]], *, samples: int = BOOTSTRAP_SAMPLES, seed: int = SEED
) -> tuple[float, float] | None:
    """The 95% interval of mean(new - old) over `pairs` (old, new), resampled with
    replacement; deterministic for a seed. None for fewer than two pairs."""
    if len(pairs) < 2:
        return None
    diffs = [new - old for old, new in pairs]
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(samples))
    lo = means[int(0.025 * (samples - 1))]
    hi = means[int(0.975 * (samples - 1))]
    return (lo, hi)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compare_metric(
    metric: str,
    old_cases: Sequence[CaseResult],
    new_cases: Sequence[CaseResult],
    max_regression: float | None = None,
) -> MetricDelta:
    old, new = _values(old_cases, metric), _values(new_cases, metric)
    keys = sorted(set(old) & set(new))
    pairs = [(old[k], new[k]) for k in keys]
    # over the matched pairs, so the delta is the mean paired difference its interval is of
    base = _mean([o for o, _ in pairs] if pairs else list(old.values()))
    now = _mean([n for _, n in pairs] if pairs else list(new.values()))
    delta = None if base is None or now is None else now - base
    ci = paired_bootstrap(pairs)
    significant = ci is not None and (ci[0] > 0 or ci[1] < 0)
    regressed = False
    if max_regression is not None and delta is not None:
        # latency: higher is worse; scores: lower is worse
        worse = delta if metric == LATENCY else -delta
        regressed = worse > max_regression
    return MetricDelta(
        metric, base, now, delta, ci, significant, len(pairs), max_regression, regressed
    )


def compare(
    new_cases: Sequence[CaseResult],
    old_cases: Sequence[CaseResult] | None,
    metrics: Sequence[str],
    max_regression: Mapping[str, float],
    *,
    baseline_run: str | None = None,
    baseline_digest: str | None = None,
    source: str = "",
    note: str = "",
) -> Comparison:
    """Every metric of a new run against its baseline's cases (None: no baseline yet)."""
    if old_cases is None:
        return Comparison(
            None,
            baseline_digest,
            [],
            note or "no baseline: nothing passed for the promoted digest yet",
            source,
        )
    deltas = [
        compare_metric(m, old_cases, new_cases, max_regression.get(m)) for m in [*metrics, LATENCY]
    ]
    return Comparison(baseline_run, baseline_digest, deltas, note, source, list(old_cases))

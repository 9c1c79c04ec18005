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
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.evaluation.cases import CaseResult

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

    @property
    def regressed(self) -> list[MetricDelta]:
        return [d for d in self.deltas if d.regressed]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
) -> Comparison:
    """Every metric of a new run against its baseline's cases (None: no baseline yet)."""
    if old_cases is None:
        return Comparison(
            None, baseline_digest, [], "no baseline: nothing passed for the promoted digest yet"
        )
    deltas = [
        compare_metric(m, old_cases, new_cases, max_regression.get(m)) for m in [*metrics, LATENCY]
    ]
    return Comparison(baseline_run, baseline_digest, deltas)

"""Aggregation of scores: per-evaluator summaries, percentiles and gate verdicts.

Role: pure functions (standard library only) the experiment and gate runners call after
scoring. Conventions, chosen so a flaky agent can never look better than a reliable one:

* **errors count as 0** in the mean, the spread and the pass rate, and are counted
  (``n_errors``); failed agent calls already arrive as value-0 scores;
* **skipped** scores (the evaluator does not apply to the item) are counted (``n_skipped``)
  and left out of every statistic;
* ``pass_rate`` = share of counted scores (scored + errors) with a value >= ``pass_at``;
* the **95% interval of the mean** is computed across repetitions: the mean of each
  repetition is one observation, and the interval is ``mean ± t(0.975, r-1) · s / √r`` with
  Student's t (exact table for up to 30 degrees of freedom, the Cornish-Fisher expansion
  beyond), clipped to [0, 1]. With a single repetition there is no interval (None): the
  items are fixed, so their spread says nothing about run-to-run noise;
* `verdict` is ``inconclusive`` when a mean threshold lies strictly inside that interval,
  i.e. another run could plausibly land on the other side of it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from engine.evaluators.base import Score

Verdict = Literal["pass", "fail", "inconclusive"]
#: whatever identifies a dataset item (a TypeVar because Mapping keys are invariant)
ItemId = TypeVar("ItemId", bound=Hashable)

# Two-sided 95% quantiles of Student's t, t(0.975, df), for df = 1..30.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """t(0.975, df): the table up to 30, then the Cornish-Fisher expansion (error < 1e-3)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (
        z
        + (z**3 + z) / (4 * v)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
    )


@dataclass(frozen=True)
class EvaluatorSummary:
    """One evaluator over one run (all items x repetitions)."""

    name: str
    #: all scores, whatever their state
    n: int
    #: scores with a value (failed agent calls included, as 0)
    n_scored: int
    #: evaluator errors (counted as 0)
    n_errors: int
    #: not applicable, left out of every statistic
    n_skipped: int
    #: the statistics below are None when nothing was counted (n_scored + n_errors == 0)
    mean: float | None
    #: sample standard deviation over counted scores (None with fewer than 2)
    stdev: float | None
    min: float | None
    max: float | None
    #: share of counted scores >= pass_at
    pass_rate: float | None
    #: 95% interval of the mean across repetitions (None with a single repetition)
    ci95_low: float | None
    ci95_high: float | None
    #: distinct repetitions with at least one counted score
    repetitions: int = 1
    pass_at: float = 0.5

    @property
    def n_counted(self) -> int:
        return self.n_scored + self.n_errors


def summarize(
    name: str,
    scores: Mapping[tuple[ItemId, int], Score] | Iterable[tuple[ItemId, int, Score]],
    *,
    pass_at: float = 0.5,
) -> EvaluatorSummary:
    """Summary of one evaluator's scores, keyed by (item id, repetition index).

    Accepts a mapping ``{(item_id, repetition): Score}`` or an iterable of
    ``(item_id, repetition, Score)`` triples.
    """
    triples = (
        [(item, rep, score) for (item, rep), score in scores.items()]
        if isinstance(scores, Mapping)
        else list(scores)
    )
    values: list[float] = []
    per_rep: dict[int, list[float]] = defaultdict(list)
    n_scored = n_errors = n_skipped = 0
    for _item, rep, score in triples:
        counted = score.counted_value
        if counted is None:
            n_skipped += 1
            continue
        if score.error is not None or score.value is None:
            n_errors += 1
        else:
            n_scored += 1
        values.append(counted)
        per_rep[rep].append(counted)
    n = len(triples)
    if not values:
        return EvaluatorSummary(
            name, n, 0, 0, n_skipped, None, None, None, None, None, None, None,
            repetitions=0, pass_at=pass_at,
        )  # fmt: skip
    mean = math.fsum(values) / len(values)
    low, high = _interval(mean, [math.fsum(v) / len(v) for v in per_rep.values()])
    return EvaluatorSummary(
        name=name,
        n=n,
        n_scored=n_scored,
        n_errors=n_errors,
        n_skipped=n_skipped,
        mean=mean,
        stdev=statistics.stdev(values) if len(values) > 1 else None,
        min=min(values),
        max=max(values),
        pass_rate=sum(1 for v in values if v >= pass_at) / len(values),
        ci95_low=low,
        ci95_high=high,
        repetitions=len(per_rep),
        pass_at=pass_at,
    )


def _interval(mean: float, rep_means: list[float]) -> tuple[float | None, float | None]:
    r = len(rep_means)
    if r < 2:
        return None, None
    half = t_quantile_975(r - 1) * statistics.stdev(rep_means) / math.sqrt(r)
    return max(0.0, mean - half), min(1.0, mean + half)


def verdict(
    summary: EvaluatorSummary,
    threshold_mean: float | None = None,
    threshold_pass_rate: float | None = None,
) -> Verdict:
    """pass / fail / inconclusive for one evaluator against its thresholds.

    * no thresholds -> pass;
    * nothing counted (every item skipped) while a threshold is set -> inconclusive (there
      is no evidence either way; the gate's ``inconclusive:`` setting decides);
    * a threshold missed outright -> fail (a definite miss wins over an inconclusive one);
    * the mean threshold strictly inside the 95% interval (repetitions > 1) -> inconclusive;
    * otherwise pass.
    """
    if threshold_mean is None and threshold_pass_rate is None:
        return "pass"
    if summary.mean is None or summary.pass_rate is None:
        return "inconclusive"
    failed = False
    unsure = False
    if threshold_mean is not None:
        low, high = summary.ci95_low, summary.ci95_high
        if low is not None and high is not None and low < threshold_mean < high:
            unsure = True
        elif summary.mean < threshold_mean:
            failed = True
    if threshold_pass_rate is not None and summary.pass_rate < threshold_pass_rate:
        failed = True
    if failed:
        return "fail"
    return "inconclusive" if unsure else "pass"


def percentile(values: Iterable[float], q: float) -> float | None:
    """The q-th percentile (0 <= q <= 100) with linear interpolation; None when empty.

    Linear interpolation between closest ranks (numpy's default, Hyndman & Fan type 7):
    sort the n values, take the position p = (n - 1) · q / 100, and interpolate between
    the values at floor(p) and ceil(p). p50 of [1, 2, 3, 4] is 2.5; p100 is the maximum.
    """
    if not 0.0 <= q <= 100.0 or math.isnan(q):
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    if any(math.isnan(v) for v in ordered):
        raise ValueError("percentile of values containing NaN")
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction

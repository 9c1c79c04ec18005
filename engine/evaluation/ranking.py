"""Ranking: the variants of an Experiment in order, and whether the first one really is best.

Pipeline role: `runner.judge`, for Experiments, after `results`. `results.rank` orders the
variants by the objective's value; this module asks the question a QualityGate asks of a
threshold: is the difference real, or could another run land the other way? The test is a
**paired bootstrap over the dataset's items**:

* every variant answered the same items, so the comparison is paired and item difficulty
  cancels out. An item's repetitions are resampled together (a cluster bootstrap), so
  repeated runs of one item never count as independent evidence;
* each of `RESAMPLES` (2,000) resamples draws the items with replacement, from
  `random.Random(SEED)` (the same results always give the same verdict), and computes the
  metric for both variants on them exactly as the run does (mean of the counted scores,
  pass rate, latency percentile, errors, tokens per case) and their difference;
* the leader is *better* when the 95% percentile interval of those differences lies
  entirely on its side of 0 (above for `maximize`, below for `minimize`). An exact tie is
  never better; nor is anything measured on fewer than `MIN_ITEMS` (6) items: below that
  even a clean sweep (every item favouring the leader) is not significant at that level
  (a sign test gives 2^-5 ≈ 3% for 5 items, more than the 2.5% each tail allows).

The leader must be better than *every* other variant. If it is not, the variants it cannot
be told apart from are tied, and the objective's `tieBreakers` are tried in order, each with
the same test among the tied variants only; the first that separates one of them from the
rest decides ("best by tie-breaker latency_p50"). Otherwise the result is `inconclusive`:
the ranking is still shown, but nothing is named best and `experiment apply-best` refuses
without `--force`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from engine.evaluation.cases import CaseResult
from engine.evaluation.gate import fmt_metric
from engine.evaluation.results import EvaluatorInfo, case_passed, rank, total_tokens
from engine.evaluators import percentile

if TYPE_CHECKING:  # run.py holds a RankingOutcome
    from engine.evaluation.run import VariantRun

RESAMPLES = 2000
SEED = 17
MIN_ITEMS = 6

RankingVerdict = Literal["best", "inconclusive"]


@dataclass(frozen=True)
class Comparison:
    """The leader against one other variant on one metric."""

    metric: str
    goal: str
    leader: str
    other: str
    leader_value: float | None
    other_value: float | None
    #: leader - other on the whole dataset, and its 95% bootstrap interval
    difference: float | None = None
    interval: tuple[float, float] | None = None
    #: paired items the test resampled
    items: int = 0
    #: the leader is better beyond the spread
    decisive: bool = False
    #: why not (or "better")
    reason: str = ""

    def describe(self) -> str:
        """`v2 0.62 vs v1 0.50, difference +0.12, 95% interval +0.04…+0.20 over 16 items`."""
        a, b = _value(self.leader_value, self.metric), _value(self.other_value, self.metric)
        text = f"{self.leader} {a} vs {self.other} {b}"
        if self.difference is not None and self.interval is not None:
            lo, hi = self.interval
            m = self.metric
            text += (
                f", difference {_signed(self.difference, m)}, 95% interval {_signed(lo, m)}…"
                f"{_signed(hi, m)} over {self.items} items"
            )
        if not self.decisive:
            text += f" — {self.reason}"
        return text

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        interval = data.get("interval")
        return cls(**{**data, "interval": tuple(interval) if interval else None})


@dataclass
class RankingOutcome:
    verdict: RankingVerdict
    #: variant names, first = the winner (verdict best) or the leader by point value
    order: list[str]
    metric: str
    goal: str
    #: "objective", "tie-breaker <metric>", "the only variant"; "" when inconclusive
    decided_by: str = ""
    #: the leader against every other variant on the objective
    comparisons: list[Comparison] = field(default_factory=list)
    #: every tie-breaker comparison that was made, in order
    tie_breaks: list[Comparison] = field(default_factory=list)
    tie_breakers: list[str] = field(default_factory=list)
    resamples: int = RESAMPLES
    seed: int = SEED

    @property
    def winner(self) -> str | None:
        return self.order[0] if self.verdict == "best" and self.order else None

    @property
    def leader(self) -> str:
        return self.order[0]

    def message(self) -> str:
        """One sentence: who is best and why, or (inconclusive) why nobody is."""
        if self.decided_by == "the only variant":
            return f"{self.leader} is the only variant"
        closest = _closest(self.comparisons)
        if self.verdict == "best" and self.decided_by == "objective":
            text = f"{self.leader} is better than every other variant on {self.metric}"
            return text + (f" ({closest.describe()})" if closest else "")
        if self.verdict == "best":
            breaker = self.decided_by.removeprefix("tie-breaker ")
            decisive = [
                c
                for c in self.tie_breaks
                if c.metric == breaker and c.leader == self.leader and c.decisive
            ]
            text = f"{self.leader} is best by tie-breaker {breaker}: {_tied_text(self)}"
            shown = _closest(decisive)
            return text + (f"; on {breaker}: {shown.describe()}" if shown else "")
        text = f"no variant is better than all others on {self.metric}"
        if closest is not None:
            text += f" ({closest.describe()})"
        if self.tie_breakers:
            text += f"; tie-breakers {', '.join(self.tie_breakers)} did not separate them"
        return text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RankingOutcome:
        values = dict(data)
        values["comparisons"] = [Comparison.from_json(c) for c in values.get("comparisons", [])]
        values["tie_breaks"] = [Comparison.from_json(c) for c in values.get("tie_breaks", [])]
        return cls(**values)


def decide(
    variants: Sequence[VariantRun],
    infos: Sequence[EvaluatorInfo],
    metric: str,
    goal: str,
    tie_breakers: Sequence[tuple[str, str]] = (),
) -> RankingOutcome:
    """Rank `variants` by the objective and judge whether the first is best."""
    by_name = {v.name: v for v in variants}
    order = [n for n, _ in rank([(v.name, v.aggregate) for v in variants], metric, goal)]
    outcome = RankingOutcome(
        "inconclusive", order, metric, goal, tie_breakers=[m for m, _ in tie_breakers]
    )
    if len(order) == 1:
        outcome.verdict, outcome.decided_by = "best", "the only variant"
        return outcome
    leader = by_name[order[0]]
    outcome.comparisons = [compare(leader, by_name[n], metric, goal, infos) for n in order[1:]]
    if all(c.decisive for c in outcome.comparisons):
        outcome.verdict, outcome.decided_by = "best", "objective"
        return outcome
    tied = [order[0]] + [c.other for c in outcome.comparisons if not c.decisive]
    for tb_metric, tb_goal in tie_breakers:
        among = [(n, by_name[n].aggregate) for n in tied]
        candidates = [n for n, _ in rank(among, tb_metric, tb_goal)]
        first = by_name[candidates[0]]
        tries = [compare(first, by_name[n], tb_metric, tb_goal, infos) for n in candidates[1:]]
        outcome.tie_breaks.extend(tries)
        if all(c.decisive for c in tries):
            outcome.verdict, outcome.decided_by = "best", f"tie-breaker {tb_metric}"
            outcome.order = [first.name] + [n for n in order if n != first.name]
            return outcome
        tied = [first.name] + [c.other for c in tries if not c.decisive]
    return outcome


def compare(
    leader: VariantRun,
    other: VariantRun,
    metric: str,
    goal: str,
    infos: Sequence[EvaluatorInfo],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """Is `leader` better than `other` on `metric` beyond the spread?"""
    a, b = leader.aggregate.metric(metric), other.aggregate.metric(metric)
    base = Comparison(metric, goal, leader.name, other.name, a, b)
    if a is None or b is None:
        if a is not None:  # the other has no value at all: it ranks last, as in the table
            return _with(base, decisive=True, reason="better")
        reason = "neither has a value" if b is None else f"{leader.name} has no value"
        return _with(base, reason=reason)
    kind, q = _statistic(metric)
    xa, xb = observations(leader.cases, metric, infos), observations(other.cases, metric, infos)
    items = sorted(set(xa) | set(xb))
    pairs = [(xa.get(i, []), xb.get(i, [])) for i in items]
    diffs = bootstrap(pairs, kind, q, resamples=resamples, seed=seed)
    if not diffs:
        return _with(base, items=len(items), reason="no resample has values for both")
    interval = (percentile(diffs, 2.5) or 0.0, percentile(diffs, 97.5) or 0.0)
    found = _with(base, difference=a - b, interval=interval, items=len(items))
    if a == b:
        return _with(found, reason="exact tie")
    if len(items) < MIN_ITEMS:
        return _with(found, reason=f"only {len(items)} items (at least {MIN_ITEMS} are needed)")
    beyond = interval[0] > 0 if goal == "maximize" else interval[1] < 0
    if not beyond:
        return _with(found, reason="within the spread")
    return _with(found, decisive=True, reason="better")


def observations(
    cases: Sequence[CaseResult], metric: str, infos: Sequence[EvaluatorInfo]
) -> dict[str, list[float]]:
    """Item id -> the per-case values `metric` is computed from (cases it ignores left out)."""
    by_label = {i.label: i for i in infos}
    out: dict[str, list[float]] = {}
    for c in cases:
        value = _case_value(c, metric, by_label)
        if value is not None:
            out.setdefault(c.item_id, []).append(value)
    return out


def _case_value(case: CaseResult, metric: str, infos: Mapping[str, EvaluatorInfo]) -> float | None:
    if metric in infos:
        score = case.scores.get(metric)
        return score.counted_value if score is not None else None
    if metric.endswith(".pass_rate") and metric[: -len(".pass_rate")] in infos:
        info = infos[metric[: -len(".pass_rate")]]
        score = case.scores.get(info.label)
        counted = score.counted_value if score is not None else None
        return None if counted is None else float(counted >= info.pass_at)
    if metric == "pass_rate":
        passed = case_passed(case, infos)
        return None if passed is None else float(passed)
    if metric in ("latency_p50", "latency_p95"):
        return case.latency_ms if case.ok else None
    if metric == "errors":
        if not case.ok:
            return 1.0
        return float(sum(1 for s in case.scores.values() if s.error is not None))
    if metric == "tokens":
        return float(total_tokens(case.usage) or 0)
    raise KeyError(metric)


def _statistic(metric: str) -> tuple[str, float]:
    """How the run computes `metric` from per-case values: ("mean" | "sum" | "percentile", q)."""
    if metric == "latency_p50":
        return "percentile", 50.0
    if metric == "latency_p95":
        return "percentile", 95.0
    if metric == "errors":
        return "sum", 0.0
    return "mean", 0.0


def bootstrap(
    pairs: Sequence[tuple[Sequence[float], Sequence[float]]],
    kind: str,
    q: float = 0.0,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[float]:
    """Paired bootstrap: per resample of the items (with replacement), the statistic of the
    first variant's values minus the second's. Resamples where a side has no value are
    left out. Deterministic for a given seed."""
    n = len(pairs)
    if n == 0:
        return []
    rng = random.Random(seed)
    indices = range(n)
    out: list[float] = []
    if kind == "percentile":
        for _ in range(resamples):
            pick = rng.choices(indices, k=n)
            xa = [v for i in pick for v in pairs[i][0]]
            xb = [v for i in pick for v in pairs[i][1]]
            pa, pb = percentile(xa, q), percentile(xb, q)
            if pa is not None and pb is not None:
                out.append(pa - pb)
        return out
    sa = [math.fsum(a) for a, _ in pairs]
    sb = [math.fsum(b) for _, b in pairs]
    na = [len(a) for a, _ in pairs]
    nb = [len(b) for _, b in pairs]
    for _ in range(resamples):
        pick = rng.choices(indices, k=n)
        ta, tb = sum(map(sa.__getitem__, pick)), sum(map(sb.__getitem__, pick))
        if kind == "sum":
            out.append(ta - tb)
            continue
        ca, cb = sum(map(na.__getitem__, pick)), sum(map(nb.__getitem__, pick))
        if ca and cb:
            out.append(ta / ca - tb / cb)
    return out


def _with(c: Comparison, **changes: Any) -> Comparison:
    return Comparison(**{**asdict(c), **changes})


def _closest(comparisons: Sequence[Comparison]) -> Comparison | None:
    """The comparison to show: the first one that is not decisive, else the runner-up."""
    for c in comparisons:
        if not c.decisive:
            return c
    return comparisons[0] if comparisons else None


def _tied_text(outcome: RankingOutcome) -> str:
    """`on facts v1, v3 cannot be told apart (v1 0.50 vs v3 0.50: ... — exact tie)`."""
    tied = [c for c in outcome.comparisons if not c.decisive]
    if not tied:
        return f"on {outcome.metric} the objective did not separate them"
    names = ", ".join([tied[0].leader, *(c.other for c in tied)])
    return f"on {outcome.metric} {names} cannot be told apart ({tied[0].describe()})"


def _value(value: float | None, metric: str) -> str:
    return "n/a" if value is None else fmt_metric(value, metric)


def _signed(value: float, metric: str) -> str:
    return ("+" if value >= 0 else "−") + fmt_metric(abs(value), metric)

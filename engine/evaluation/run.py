"""The record of one finished evaluation run: what the store keeps and the reports show.

Pipeline role: the shared data model between the provider (which builds it), `store`
(which persists and reloads it) and the report renderers (which only read it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.evaluation.baseline import Comparison
from engine.evaluation.cases import CaseResult
from engine.evaluation.gate import GateOutcome
from engine.evaluation.ranking import RankingOutcome
from engine.evaluation.results import EvaluatorInfo, VariantAggregate


@dataclass(frozen=True)
class ItemRecord:
    """A dataset item as the run asked it, so a report shows the question next to the
    answers even after the dataset changed (runs recorded before items were kept: none)."""

    id: str
    index: int
    input: object
    expected: object = None


@dataclass
class VariantRun:
    name: str
    label: str
    #: matrix key -> {"name", "value"}
    values: Mapping[str, Mapping[str, Any]]
    agent_digest: str
    model: str
    aggregate: VariantAggregate
    cases: list[CaseResult] = field(default_factory=list)
    #: 1 = first in the ranking (the best only when the ranking's verdict says so); None
    #: for a gate's single variant
    rank: int | None = None
    #: the objective metric's value
    metric: float | None = None


@dataclass
class EvalRun:
    run_id: str
    address: str
    kind: str  # "Experiment" | "QualityGate"
    name: str
    env: str
    agent: str
    dataset: str
    status: str  # "succeeded" | "failed"
    message: str | None
    started_at: str
    finished_at: str
    inputs_digest: str
    agent_digest: str
    dataset_digest: str
    repetitions: int
    evaluators: list[EvaluatorInfo]
    variants: list[VariantRun]
    #: {"metric", "goal"} for experiments
    objective: dict[str, str] | None = None
    #: an experiment's verdict: best (and why) or inconclusive
    ranking: RankingOutcome | None = None
    gate: GateOutcome | None = None
    #: {"p50_ms", "p95_ms", "p99_ms"} limits of a gate
    latency_limits: dict[str, float | None] | None = None
    max_errors: int | None = None
    #: wall time of the phases, seconds ({"deploy", "cases", "teardown", "total"})
    timings: dict[str, float] = field(default_factory=dict)
    #: files written for this run: {"markdown": path, "html": path}
    reports: dict[str, str] = field(default_factory=dict)
    #: `store: langfuse`: variant name -> URL of its Langfuse dataset run
    langfuse: dict[str, str] = field(default_factory=dict)
    #: {"estimate": the plan's estimate or None, "actual": what it used and cost}
    #: (`engine.planner.cost`, `engine.evaluation.cost`; {} for runs recorded before)
    cost: dict[str, Any] = field(default_factory=dict)
    #: the dataset items the run asked, in dataset order
    items: list[ItemRecord] = field(default_factory=list)
    #: a gate's result against its baseline (deltas, and the baseline's own cases)
    comparison: Comparison | None = None

    @property
    def ranked(self) -> list[VariantRun]:
        return sorted(self.variants, key=lambda v: (v.rank is None, v.rank or 0))

    @property
    def leader(self) -> VariantRun | None:
        """The first variant of the ranking, whether or not it is better than the others."""
        ranked = [v for v in self.variants if v.rank == 1]
        return ranked[0] if ranked else None

    @property
    def best(self) -> VariantRun | None:
        """The winner: the leader when the ranking's verdict is `best`, else None."""
        if self.ranking is not None and self.ranking.verdict != "best":
            return None
        return self.leader

    @property
    def inconclusive(self) -> bool:
        return self.ranking is not None and self.ranking.verdict == "inconclusive"

    @property
    def title(self) -> str:
        return f"{self.address} · {self.run_id}"

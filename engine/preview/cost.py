"""Cost estimate of a preview: how many invocations its runs make, and roughly how many tokens.

Pipeline role: after the main plan, before the comment. Invocations are items x variants x
repetitions (a gate has one variant; an Experiment one per matrix cell). Tokens per
invocation come from the recorded usage of the run's last result in the main state (its
`tokens` over its `cases`); a run that never ran has no estimate, only the count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import AgentOpsError
from engine.evaluation.matrix import expand_matrix
from engine.spec.addresses import Address
from engine.spec.schema import ExperimentSpec
from engine.spec.workspace import Workspace
from engine.state.model import RunRecord


@dataclass(frozen=True)
class Estimate:
    address: str
    items: int
    variants: int
    repetitions: int
    #: tokens per invocation recorded by the last run (None: no earlier run)
    tokens_per_call: float | None

    @property
    def invocations(self) -> int:
        return self.items * self.variants * self.repetitions

    @property
    def tokens(self) -> int | None:
        if self.tokens_per_call is None:
            return None
        return round(self.invocations * self.tokens_per_call)


def _tokens(counts: Mapping[str, Any]) -> int:
    """input + output tokens (else the total) of one usage dict."""
    io = sum(int(v) for k, v in counts.items() if "input" in k.lower() or "output" in k.lower())
    return io or int(sum(int(v) for k, v in counts.items() if "total" in k.lower()))


def tokens_per_call(record: RunRecord | None) -> float | None:
    if record is None:
        return None
    s = record.summary
    rows = s.get("ranking") or ([s["aggregate"]] if isinstance(s.get("aggregate"), dict) else [])
    cases = int(s.get("cases") or 0)
    if not rows or not cases:
        return None
    return sum(_tokens(r.get("tokens") or {}) for r in rows) / cases


def estimate(
    ws: Workspace, runs: Sequence[Address], records: Mapping[str, RunRecord]
) -> list[Estimate]:
    out = []
    for a in runs:
        spec = (ws.gates if a.kind == "QualityGate" else ws.experiments)[a.name].doc.spec
        variants = 1
        if isinstance(spec, ExperimentSpec):
            try:
                variants = len(expand_matrix(ws, spec))
            except AgentOpsError:
                variants = 0  # the run itself reports the bad matrix value
        items = len(ws.items.get(spec.dataset, []))
        per_call = tokens_per_call(records.get(str(a)))
        out.append(Estimate(str(a), items, variants, spec.repetitions, per_call))
    return out

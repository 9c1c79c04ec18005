"""Cost estimate of a preview: the plan's estimate of each run the preview starts.

Pipeline role: after the main plan, before the comment. The numbers are the planner's
(`engine.planner.cost.estimate`) for the run on main - items x variants x repetitions,
tokens per invocation from the main state's recorded runs of the same agent (else the
declared `budget.tokensPerCall`), money from the environment's price table - so the
comment says what `agentops plan` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.planner.cost import estimate as estimate_run
from engine.planner.cost_model import RunCost
from engine.spec.addresses import Address
from engine.spec.workspace import Workspace
from engine.state.model import RunRecord


@dataclass(frozen=True)
class Estimate:
    address: str
    cost: RunCost

    @property
    def invocations(self) -> int:
        return self.cost.invocations

    @property
    def items(self) -> int:
        return self.cost.items or 0

    @property
    def variants(self) -> int:
        return self.cost.variants or 0

    @property
    def repetitions(self) -> int:
        return self.cost.repetitions or 0

    @property
    def tokens(self) -> int | None:
        """Agent and judge tokens (None: no recorded usage and no declared estimate)."""
        return self.cost.total_tokens


def estimate(
    ws: Workspace, runs: Sequence[Address], records: Mapping[str, RunRecord]
) -> list[Estimate]:
    out = []
    for a in runs:
        cost = estimate_run(ws, records, a)
        if cost is not None:
            out.append(Estimate(str(a), cost))
    return out

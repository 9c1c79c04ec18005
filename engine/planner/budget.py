"""Budgets: each run's estimate against its own cap, each environment's sum against its cap.

Pipeline role: pure, the planner's last step over the runs it will start. Every `run`
change of an Experiment, QualityGate or LoadTest gets its estimate (`engine.planner.cost`);
one over its own `budget:` - or one whose cap it cannot be checked against, because a token
count or a price is missing - is marked `refused`. Then each Environment with a `budget:`
caps the sum of the plan's runs in it (the runs their own budget refuses are left out: they
will not run); over it, every run of that environment is refused. The applier fails a
refused run before starting it (`engine.applier`), so its dependents are skipped and every
other action goes on, as with any failed action.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.planner.cost import ESTIMATED_KINDS, estimate
from engine.planner.cost_model import Cap, EnvBudget, RunCost
from engine.planner.plan import Action, Change
from engine.spec.addresses import Address
from engine.spec.pricing import currency, money
from engine.spec.workspace import Workspace
from engine.state.model import State

HINT = (
    "raise the budget, make the run smaller (items, matrix, repetitions, load), or apply "
    "other runs with --target"
)


def over(
    cap: Cap, invocations: int, tokens: int | None, amount: float | None, unknown: str
) -> str | None:
    """Why an estimate is over `cap` or cannot be checked against it; None when within.
    `unknown` says why a missing token count or amount is missing."""
    problems: list[str] = []
    if cap.max_invocations is not None and invocations > cap.max_invocations:
        problems.append(f"{invocations:,} invocations > maxInvocations {cap.max_invocations:,}")
    if cap.max_tokens is not None:
        if tokens is None:
            return f"cannot check maxTokens of {cap.source}: {unknown}"
        if tokens > cap.max_tokens:
            problems.append(f"~{tokens:,} tokens > maxTokens {cap.max_tokens:,}")
    if cap.max_cost is not None:
        if amount is None:
            return f"cannot check maxCost of {cap.source}: {unknown}"
        if amount > cap.max_cost:
            problems.append(
                f"~{money(amount, cap.currency)} > maxCost {money(cap.max_cost, cap.currency)}"
            )
    return f"over the budget of {cap.source}: {'; '.join(problems)}" if problems else None


def unknown_because(cost: RunCost) -> str:
    """Why a run's tokens or money cannot be estimated, and what to declare."""
    if cost.tokens is None:
        return f"no token estimate ({cost.tokens_from}): declare budget.tokensPerCall"
    if cost.judge_calls and cost.judge_tokens is None:
        return (
            f"{cost.judge_calls:,} judge calls have no token estimate: declare "
            "budget.tokensPerJudgeCall"
        )
    if cost.unpriced:
        return f"no price for {', '.join(cost.unpriced)}: add it to the environment's pricing"
    return "the estimate is incomplete"


def attach(ws: Workspace, state: State, changes: Sequence[Change]) -> list[EnvBudget]:
    """Estimate every run the plan starts, check the budgets; the environments' sums."""
    runs: list[tuple[Address, Change, RunCost]] = []
    for change in changes:
        if change.action is not Action.RUN or change.kind not in ESTIMATED_KINDS:
            continue
        address = Address.parse(change.address)
        cost = estimate(ws, state.runs, address)
        if cost is None:
            continue
        change.cost = cost
        if cost.budget is not None:
            cost.refused = over(
                cost.budget,
                cost.invocations,
                cost.total_tokens,
                cost.amount,
                unknown_because(cost),
            )
        runs.append((address, change, cost))
    out: list[EnvBudget] = []
    for env in sorted({a.env for a, _c, _r in runs if a.env}):
        spec = ws.environments.get(env)
        budget = spec.doc.spec.budget if spec is not None else None
        cap = Cap.of(budget, f"environment.{env}", currency(ws, env))
        if cap is None:
            continue
        mine = [(c, r) for a, c, r in runs if a.env == env and r.refused is None]
        out.append(_env_budget(cap, mine))
    return out


def _env_budget(cap: Cap, runs: Sequence[tuple[Change, RunCost]]) -> EnvBudget:
    costs = [r for _c, r in runs]
    tokens = [r.total_tokens for r in costs]
    amounts = [r.amount for r in costs]
    unknown = next((unknown_because(r) for r in costs if r.total_tokens is None), None)
    unknown = unknown or next((unknown_because(r) for r in costs if r.amount is None), "")
    total = EnvBudget(
        cap,
        [c.address for c, _r in runs],
        sum(r.invocations for r in costs),
        None if None in tokens else sum(t or 0 for t in tokens),
        None if None in amounts else sum(a or 0.0 for a in amounts),
    )
    total.refused = over(cap, total.invocations, total.total_tokens, total.amount, unknown)
    if total.refused is not None:
        for _c, r in runs:
            r.refused = f"{total.refused} (the sum of {len(runs)} run(s) in this plan)"
    return total


__all__ = ["HINT", "attach", "over", "unknown_because"]

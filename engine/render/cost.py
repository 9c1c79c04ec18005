"""How the cost estimates of a plan read: one line per run, the totals, the budgets.

Pipeline role: part of the plan's text and markdown views (`engine.render.plan`), and of the
preview's comment. It reads only the JSON-able estimate (`engine.planner.cost.RunCost`).
"""

from __future__ import annotations

from engine.planner.cost_model import Cap, EnvBudget, RunCost
from engine.planner.plan import Plan
from engine.spec.pricing import money


def shows_money(cost: RunCost) -> bool:
    """Money is shown where there is a price table or a cap on it (offline: free, not news)."""
    return cost.price_table or (cost.budget is not None and cost.budget.max_cost is not None)


def money_text(cost: RunCost) -> str:
    if cost.amount is not None:
        return f"~{money(cost.amount, cost.currency)}"
    if cost.unpriced:
        return f"cost unknown (no price for {', '.join(cost.unpriced)})"
    return "cost unknown"


def tokens_text(cost: RunCost) -> str:
    if cost.tokens is None:
        return f"tokens unknown ({cost.tokens_from})"
    total = cost.total_tokens
    if total is None:
        return f"~{cost.tokens.total:,} tokens ({cost.tokens_from}) + judge tokens unknown"
    return f"~{total:,} tokens ({cost.tokens_from})"


def describe(cost: RunCost) -> str:
    """`48 invocations (12 items × 4 variants × 1 repetition), ~14,400 tokens (…), ~USD 0.05`"""
    parts = [f"{cost.invocations:,} invocations ({cost.basis})"]
    if cost.judge_calls:
        parts.append(f"{cost.judge_calls:,} judge calls")
    parts.append(tokens_text(cost))
    if shows_money(cost):
        parts.append(money_text(cost))
    return ", ".join(parts)


def caps(cap: Cap) -> str:
    out = []
    if cap.max_cost is not None:
        out.append(f"maxCost {money(cap.max_cost, cap.currency)}")
    if cap.max_tokens is not None:
        out.append(f"maxTokens {cap.max_tokens:,}")
    if cap.max_invocations is not None:
        out.append(f"maxInvocations {cap.max_invocations:,}")
    return ", ".join(out)


def env_line(b: EnvBudget) -> str:
    """`environment.tst: 60 invocations, ~12,000 tokens, ~USD 0.06 of maxCost USD 5.00`"""
    if not b.runs:
        return f"{b.cap.source}: nothing to sum (its runs here are over their own budgets)"
    parts = [f"{b.invocations:,} invocations"]
    parts.append(f"~{b.total_tokens:,} tokens" if b.total_tokens is not None else "tokens unknown")
    if b.cap.max_cost is not None:
        parts.append(
            f"~{money(b.amount, b.cap.currency)}" if b.amount is not None else "cost unknown"
        )
    runs = f"{len(b.runs)} run{'s' if len(b.runs) != 1 else ''}"
    return f"{b.cap.source} ({runs}): {', '.join(parts)} of {caps(b.cap)}"


def totals_line(plan: Plan) -> str | None:
    """`Estimated cost of 3 runs: 120 invocations, ~45,000 tokens, ~USD 0.12.`"""
    data = plan.cost_json()
    if data is None:
        return None
    n = data["runs"]
    parts = [f"{data['invocations']:,} invocations"]
    if data["judge_calls"]:
        parts.append(f"{data['judge_calls']:,} judge calls")
    tokens = data["total_tokens"]
    parts.append(f"~{tokens:,} tokens" if tokens is not None else "tokens unknown")
    if any(shows_money(r) for _c, r in plan.costs):
        amounts = data["amounts"]
        parts.append(
            " + ".join(f"~{money(v, k)}" for k, v in sorted(amounts.items()))
            if amounts
            else "cost unknown"
        )
    return f"Estimated cost of {n} run{'s' if n != 1 else ''}: {', '.join(parts)}."


def text_lines(plan: Plan) -> list[str]:
    """The lines after the changes: totals, budgets, what apply will refuse."""
    lines = []
    total = totals_line(plan)
    if total is not None:
        lines.append(total)
    for b in plan.budgets:
        mark = "over budget" if b.refused else "within budget"
        lines.append(f"Budget of {env_line(b)}" + (f": {mark}." if b.runs else "."))
    refused = [c.address for c, r in plan.costs if r.refused]
    if refused:
        lines.append(
            f"Over budget: apply will not start {', '.join(refused)} (its dependents are skipped)."
        )
    return lines


def markdown_lines(plan: Plan) -> list[str]:
    """A cost table of the plan's runs (money and budget columns where they apply), with the
    environments' budgets and the totals under it."""
    if not plan.costs:
        return []
    with_money = any(shows_money(r) for _c, r in plan.costs)
    with_budget = any(r.budget is not None or r.refused for _c, r in plan.costs)
    head = ["run", "invocations", "tokens"] + ["cost"] * with_money + ["budget"] * with_budget
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for change, r in plan.costs:
        row = [f"`{change.address}`", f"{r.invocations:,} ({r.basis})", tokens_text(r)]
        if with_money:
            row.append(money_text(r) if shows_money(r) else "n/a (no price table)")
        if with_budget:
            budget = caps(r.budget) if r.budget else ""
            if r.refused:
                budget = (budget + " — " if budget else "") + f"❌ {r.refused}"
            row.append(budget.replace("|", "\\|"))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for b in plan.budgets:
        mark = "❌ over budget" if b.refused else "✅ within budget"
        lines.append(f"- Budget of {env_line(b)}" + (f": {mark}" if b.runs else ""))
    if plan.budgets:
        lines.append("")
    total = totals_line(plan)
    if total is not None:
        lines += [f"_{total}_", ""]
    return lines

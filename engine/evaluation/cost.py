"""What an evaluation run really used and cost: its agents' usage, its judge calls.

Pipeline role: after `judge`, before the reports: `run.cost["actual"]` next to the plan's
estimate (`run.cost["estimate"]`), so the reports and the state show both. The agents'
tokens are what each invocation reported (`usage` of the answer contract); judge calls are
counted from the answered cases (one per expected fact for `facts` by judge, one per
answer for the other judges), and their tokens are the declared `tokensPerJudgeCall`: the
judge's own usage is not measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.evaluation.run import EvalRun
from engine.spec.datasets import LoadedItem
from engine.spec.pricing import (
    actual_cost,
    declared,
    judge_calls_per_case,
    judge_model,
    usage_tokens,
)
from engine.spec.schema import EvaluatorRef
from engine.spec.schema.cost import Budget
from engine.spec.workspace import Workspace


def actual_of(
    ws: Workspace,
    run: EvalRun,
    refs: Sequence[EvaluatorRef],
    items: Sequence[LoadedItem],
    budget: Budget | None,
) -> dict[str, Any]:
    """The `actual` half of a run's `cost`: invocations, tokens, judge calls, money."""
    env_spec = ws.environments.get(run.env)
    judge_set = env_spec is not None and env_spec.doc.spec.judge is not None
    expected = {i.id: i.expected_output for i in items}
    answered = [c for v in run.variants for c in v.cases if c.ok]
    judge: dict[str, int] = {}
    for ref in refs:
        model = judge_model(ws, run.env, ref)
        if model is None:
            continue
        calls = sum(
            judge_calls_per_case(ref, expected.get(c.item_id), judge_set=judge_set)
            for c in answered
        )
        if calls:
            judge[model] = judge.get(model, 0) + calls
    invocations = sum(len(v.cases) for v in run.variants)
    _per_call, per_judge = declared(ws, budget, run.env)
    return actual_cost(
        ws,
        run.env,
        invocations=invocations,
        usage=[(v.model, usage_tokens(v.aggregate.tokens)) for v in run.variants],
        tokens_of=invocations,
        judge=judge,
        per_judge_call=per_judge,
    )

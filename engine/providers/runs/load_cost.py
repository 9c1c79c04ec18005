"""What a load test really used and cost: its requests, their tokens, its judge calls.

Role: the `actual` half of a LoadTest's `summary["cost"]` (the plan's estimate is the other
half). The requests are the samples; their tokens are what the agent reported for each,
read from the local trace store (the load generator itself keeps no usage: it must stay
lean under load), so an AgentCore target - whose traces are in Langfuse - has its requests
counted and its tokens unknown. The trace writer flushes every 0.2 s; a short wait lets the
last batch land. Judge calls: the refusal evaluator by judge grades each distinct answer,
the others the `sampleRate` share they graded (`load_grading`), at the declared
`tokensPerJudgeCall`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.load.analysis import Sample
from engine.providers.base import Context
from engine.providers.local.traces import trace_store
from engine.providers.runs.load_target import Target
from engine.spec.pricing import Tokens, actual_cost, declared, judge_model, usage_tokens
from engine.spec.schema.loadtest import LoadTestSpec

#: how long to wait for the agent host's last trace batch (it flushes every 0.2 s)
TRACE_WAIT_S = 1.0


def traced_usage(
    ctx: Context, target: Target, env: str, agent: str, samples: Sequence[Sample]
) -> tuple[int, Tokens]:
    """(requests whose usage was found, their tokens); (0, nothing) off the local runtime."""
    if target.kind != "local" or not samples:
        return 0, Tokens()
    since = min(s.t for s in samples) - 1.0
    until = max(s.t + s.ms / 1000.0 for s in samples) + 1.0
    reached = sum(1 for s in samples if s.status)  # answered by the host, ok or not
    store = trace_store(ctx.state_dir)
    deadline = time.monotonic() + TRACE_WAIT_S
    while True:
        count, usages = store.usage_between(env, agent, "loadtest", since, until)
        if count >= reached or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    tokens = Tokens()
    for u in usages:
        tokens = tokens + usage_tokens(u)
    return min(count, len(samples)), tokens


def load_actual(
    ctx: Context,
    spec: LoadTestSpec,
    env: str,
    target: Target,
    samples: Sequence[Sample],
    grading: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    ws = ctx.workspace
    judge: dict[str, int] = {}
    distinct = len({(s.prompt, s.text) for s in samples if s.ok})
    for ref in spec.grading.evaluators:
        model = judge_model(ws, env, ref)
        if model is None or ref.use == "facts":
            continue
        calls = (
            distinct if ref.use == "refusal" else int(grading.get(ref.label, {}).get("calls", 0))
        )
        if calls:
            judge[model] = judge.get(model, 0) + calls
    traced, tokens = traced_usage(ctx, target, env, spec.agent, samples)
    agent = ws.agents[spec.agent].doc.spec.model
    _per_call, per_judge = declared(ws, spec.budget, env)
    return actual_cost(
        ws,
        env,
        invocations=len(samples),
        usage=[(agent, tokens)],
        tokens_of=traced,
        judge=judge,
        per_judge_call=per_judge,
    )

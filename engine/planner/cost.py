"""Cost estimate of a run before it happens: invocations, judge calls, tokens and money.

Pipeline role: pure, part of planning (`engine.planner.budget` checks it against the caps;
the preview's comment shows the same numbers). Nothing here does I/O: the workspace gives
the specs, datasets and price tables, the state the recorded usage of earlier runs.

* invocations: items x variants x repetitions for an Experiment or QualityGate (a gate has
  one variant); for a LoadTest, from its shape (`load_invocations`);
* judge calls: per answer, what each evaluator asks the judge (`engine.spec.pricing`);
* tokens per invocation: the usage recorded by this run's last result, else by the last
  run of another run of the same agent (its own environment first), else the declared
  `budget.tokensPerCall` (the run's, else its environment's); judge calls use
  `budget.tokensPerJudgeCall` (the judge's usage is not measured);
* money: each variant's tokens at its model's price, the judge calls at the judge's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import AgentOpsError
from engine.evaluation.matrix import expand_matrix
from engine.load.config import REQUESTS_TIME_LIMIT_S
from engine.planner.cost_model import Cap, RunCost
from engine.spec.addresses import Address
from engine.spec.pricing import (
    Price,
    Tokens,
    currency,
    declared,
    judge_calls_per_case,
    judge_model,
    price_of,
    usage_tokens,
)
from engine.spec.schema import EvaluatorRef, ExperimentSpec, LoadTestSpec, QualityGateSpec
from engine.spec.schema.cost import TokensPerCall
from engine.spec.workspace import Workspace
from engine.state.model import RunRecord

ESTIMATED_KINDS = frozenset({"Experiment", "QualityGate", "LoadTest"})
#: a closed-model load test's requests per user and second before any run measured it
#: (a user sends the next request when the answer arrives: 1 s per answer)
DEFAULT_USER_RPS = 1.0

RunSpec = ExperimentSpec | QualityGateSpec | LoadTestSpec


# --- tokens per invocation ------------------------------------------------------------------


@dataclass(frozen=True)
class PerCall:
    """`tokens` used by `calls` invocations: the rate an estimate scales."""

    tokens: Tokens
    calls: int
    source: str

    def for_calls(self, n: int) -> Tokens:
        return self.tokens.times(n / self.calls) if self.calls else Tokens()


def recorded_usage(record: RunRecord) -> tuple[Tokens, int] | None:
    """(tokens, invocations) a finished run recorded; None when it recorded no usage."""
    s = record.summary if isinstance(record.summary, dict) else {}
    actual = (s.get("cost") or {}).get("actual") if isinstance(s.get("cost"), dict) else None
    if isinstance(actual, dict):
        tokens = Tokens.from_json(actual.get("tokens"))
        calls = int(actual.get("tokens_of") or actual.get("invocations") or 0)
        if tokens is not None and tokens.total and calls:
            return tokens, calls
    rows = s.get("ranking") or ([s["aggregate"]] if isinstance(s.get("aggregate"), dict) else [])
    cases = int(s.get("cases") or 0)
    total = Tokens()
    for row in rows:
        if isinstance(row, dict) and isinstance(row.get("tokens"), dict):
            total = total + usage_tokens(row["tokens"])
    return (total, cases) if total.total and cases else None


def _run_spec(ws: Workspace, address: Address) -> RunSpec | None:
    if address.kind not in ESTIMATED_KINDS:
        return None
    found = ws.by_kind(address.kind).get(address.name)
    spec = found.doc.spec if found is not None else None
    return spec if isinstance(spec, ExperimentSpec | QualityGateSpec | LoadTestSpec) else None


def per_call(
    ws: Workspace, runs: Mapping[str, RunRecord], address: Address, declared: TokensPerCall | None
) -> PerCall | None:
    """Tokens per invocation: this run's record, the same agent's other runs, the declared."""
    own = runs.get(str(address))
    used = recorded_usage(own) if own is not None else None
    if used is not None:
        return PerCall(used[0], used[1], "its last run")
    spec = _run_spec(ws, address)
    others: list[tuple[bool, str, RunRecord]] = []
    for key, record in runs.items():
        try:
            other = Address.parse(key)
        except ValueError:
            continue
        other_spec = _run_spec(ws, other) if other != address else None
        if spec is not None and other_spec is not None and other_spec.agent == spec.agent:
            others.append((other.env == address.env, record.finished_at, record))
    for _same_env, _at, record in sorted(others, key=lambda o: (o[0], o[1]), reverse=True):
        used = recorded_usage(record)
        if used is not None:
            return PerCall(used[0], used[1], f"the last run of {record.address} (same agent)")
    if declared is not None:
        return PerCall(Tokens(declared.input, declared.output), 1, "budget.tokensPerCall")
    return None


# --- invocations ----------------------------------------------------------------------------


def _plural(n: float, word: str) -> str:
    return f"{n:g} {word}" + ("" if n == 1 else "s")


def load_invocations(spec: LoadTestSpec, last: RunRecord | None) -> tuple[int, str]:
    """A LoadTest's requests from its shape: rate x seconds (open model), users x seconds x
    requests per user-second (closed model: 1000 / the mean latency its last run measured,
    else 1), at most `requests`."""
    user_rps, measured = DEFAULT_USER_RPS, "assumed"
    mean_ms = _last_mean_ms(last)
    if mean_ms:
        user_rps, measured = 1000.0 / mean_ms, "last run"
    limits = [sum(s.duration for s in spec.steps)] if spec.steps else []
    if spec.duration is not None:
        limits.append(spec.duration)
    # the runner's own time limit (engine.providers.runs.loadtest.runner_config)
    limit = min(limits) if limits else REQUESTS_TIME_LIMIT_S
    if spec.requests is not None and not limits:
        return spec.requests, f"{spec.requests} requests"
    if spec.steps:
        left, expected = limit, 0.0
        for step in spec.steps:
            secs = min(step.duration, max(0.0, left))
            left -= step.duration
            expected += secs * (step.arrival_rate or (step.users or 0) * user_rps)
        open_model = spec.steps[0].arrival_rate is not None
        basis = f"{len(spec.steps)} ramp steps over {limit:g}s"
    elif spec.arrival_rate is not None:
        expected, open_model = spec.arrival_rate * limit, True
        basis = f"{spec.arrival_rate:g} req/s × {limit:g}s"
    else:
        users = spec.users or 1
        expected, open_model = users * limit * user_rps, False
        basis = f"{_plural(users, 'user')} × {limit:g}s"
    if not open_model:
        basis += f" × {user_rps:.2g} req/s per user ({measured})"
    count = math.ceil(expected)
    if spec.requests is not None and spec.requests < count:
        return spec.requests, f"{spec.requests} requests (the shape allows ~{count})"
    return count, basis


def _last_mean_ms(last: RunRecord | None) -> float | None:
    overall = last.summary.get("overall") if last is not None else None
    mean = overall.get("mean_ms") if isinstance(overall, dict) else None
    return float(mean) if isinstance(mean, int | float) and mean > 0 else None


# --- the estimate ---------------------------------------------------------------------------


@dataclass
class _Work:
    """What a run will do: invocations per model, and judge calls per judge model."""

    invocations: int
    basis: str
    by_model: dict[str, int]
    judge_by_model: dict[str, int]
    items: int | None = None
    variants: int | None = None
    repetitions: int | None = None


def _eval_work(ws: Workspace, spec: ExperimentSpec | QualityGateSpec, env: str) -> _Work:
    items = ws.items.get(spec.dataset, [])
    if isinstance(spec, ExperimentSpec):
        try:
            models = [v.model for v in expand_matrix(ws, spec)]
        except AgentOpsError:
            models = []  # the run itself reports the bad matrix value
    else:
        agent = ws.agents.get(spec.agent)
        models = [agent.doc.spec.model] if agent is not None else []
    by_model: dict[str, int] = {}
    for m in models:
        by_model[m] = by_model.get(m, 0) + len(items) * spec.repetitions
    judge = _judge_calls(ws, env, spec.evaluators, [i.expected_output for i in items])
    per_variant = spec.repetitions * len(models)
    return _Work(
        invocations=len(items) * len(models) * spec.repetitions,
        basis=f"{_plural(len(items), 'item')} × {_plural(len(models), 'variant')} × "
        f"{_plural(spec.repetitions, 'repetition')}",
        by_model=by_model,
        judge_by_model={m: n * per_variant for m, n in judge.items()},
        items=len(items),
        variants=len(models),
        repetitions=spec.repetitions,
    )


def _judge_calls(
    ws: Workspace, env: str, refs: Sequence[EvaluatorRef], expected: Sequence[Any]
) -> dict[str, int]:
    """Judge model -> its calls for one answer to each of `expected`."""
    judge_set = env in ws.environments and ws.environments[env].doc.spec.judge is not None
    out: dict[str, int] = {}
    for ref in refs:
        model = judge_model(ws, env, ref)
        if model is None:
            continue
        calls = sum(judge_calls_per_case(ref, e, judge_set=judge_set) for e in expected)
        if calls:
            out[model] = out.get(model, 0) + calls
    return out


def _load_work(ws: Workspace, spec: LoadTestSpec, env: str, last: RunRecord | None) -> _Work:
    n, basis = load_invocations(spec, last)
    agent = ws.agents.get(spec.agent)
    judge: dict[str, int] = {}
    for ref in spec.grading.evaluators:
        model = judge_model(ws, env, ref)
        if model is None or ref.use == "facts":  # no expected facts under load
            continue
        # refusal grades every answer, the others a `sampleRate` share (at most: the same
        # answer to the same prompt is graded once)
        share = 1.0 if ref.use == "refusal" else spec.grading.sample_rate
        judge[model] = judge.get(model, 0) + math.ceil(n * share)
    return _Work(n, basis, {agent.doc.spec.model: n} if agent else {}, judge)


def estimate(ws: Workspace, runs: Mapping[str, RunRecord], address: Address) -> RunCost | None:
    """The estimate of the run at `address` (None for kinds that are not estimated), from
    the recorded runs `runs` (the state's, by address)."""
    spec = _run_spec(ws, address)
    if spec is None or address.kind not in ESTIMATED_KINDS:
        return None
    env = address.env or spec.environment
    env_spec = ws.environments.get(env)
    own, cur = spec.budget, currency(ws, env)
    if isinstance(spec, LoadTestSpec):
        work = _load_work(ws, spec, env, runs.get(str(address)))
    else:
        work = _eval_work(ws, spec, env)
    per_call_declared, judged = declared(ws, own, env)
    rate = per_call(ws, runs, address, per_call_declared)
    cost = RunCost(
        invocations=work.invocations,
        basis=work.basis,
        items=work.items,
        variants=work.variants,
        repetitions=work.repetitions,
        tokens=rate.for_calls(work.invocations) if rate is not None else None,
        tokens_from=rate.source if rate is not None else _no_rate(spec.agent),
        judge_calls=sum(work.judge_by_model.values()),
        currency=cur,
        price_table=env_spec is not None and env_spec.doc.spec.pricing is not None,
        budget=Cap.of(own, str(address), cur),
    )
    if cost.judge_calls and judged is not None:
        cost.judge_tokens = Tokens(judged.input, judged.output).times(cost.judge_calls)
    _price(ws, env, cost, work, rate, judged)
    return cost


def _no_rate(agent: str) -> str:
    return f"no recorded run of agent {agent} and no budget.tokensPerCall"


def _price(
    ws: Workspace,
    env: str,
    cost: RunCost,
    work: _Work,
    rate: PerCall | None,
    judged: TokensPerCall | None,
) -> None:
    """Money: each model's share of the tokens at its price (None when one is missing)."""
    total = 0.0
    known = rate is not None and (not cost.judge_calls or judged is not None)
    parts: list[tuple[str, Tokens | None]] = [
        (m, rate.for_calls(n) if rate is not None else None) for m, n in work.by_model.items()
    ]
    parts += [
        (m, Tokens(judged.input, judged.output).times(n) if judged is not None else None)
        for m, n in work.judge_by_model.items()
    ]
    for model, tokens in parts:
        price: Price | None = price_of(ws, env, model)
        if price is None:
            if model not in cost.unpriced:
                cost.unpriced.append(model)
            continue
        if tokens is not None:
            total += price.of(tokens)
    cost.amount = total if known and not cost.unpriced else None


__all__ = ["Cap", "PerCall", "RunCost", "estimate", "load_invocations", "per_call"]

"""Runner: one Experiment or QualityGate run from its spec to a stored, reported `EvalRun`.

Pipeline role: called by `engine.providers.runs.evaluation.LocalEvalProvider.run` in an applier
worker thread. Order of work, and why:

1. stop anything a crashed earlier run of the same address left running (ownership tags);
2. build the variants and the evaluators *before* deploying anything, so a bad matrix value,
   an unknown evaluator or a missing judge key fails in milliseconds with a clear message;
3. per variant, one after another: deploy it as an ephemeral agent, run every item x
   repetition concurrently - each call carries its case's trace id as `traceparent`
   (`engine.evaluation.trace_ids`), the id the Langfuse recorder writes the case under, so
   the agent host's trace of the call joins the case's trace - and tear it down (in
   `finally`: also on errors and on Ctrl-C, which reaches this thread as `ctx.cancel`);
4. aggregate; the provider then records the run in Langfuse when the environment has
   `store: langfuse` (and folds in remote `langfuse:<score>` scores, `remote`), then `judge`
   ranks and tests whether the first variant is best (experiment, `ranking`) or applies
   the thresholds (gate), and the reports are written.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import PermanentError
from engine.evaluation.cases import (
    CANCEL_POLL_S,
    Cancelled,
    CaseResult,
    TraceIds,
    payload_of,
    run_cases,
)
from engine.evaluation.gate import evaluate_gate
from engine.evaluation.matrix import Variant, agent_variant, expand_matrix
from engine.evaluation.ranking import decide
from engine.evaluation.remote import RemoteEvaluator, split_refs
from engine.evaluation.results import EvaluatorInfo, aggregate, metric_names
from engine.evaluation.run import EvalRun, ItemRecord, VariantRun
from engine.evaluation.trace_ids import case_trace_id, run_name
from engine.evaluators import Evaluator, EvaluatorConfigError, build_evaluator
from engine.invoke import LocalInvoker
from engine.providers.base import Context, RunInputs
from engine.providers.local.runtime import LocalRuntimeProvider
from engine.providers.runs.ephemeral import EphemeralAgents, judge_config, reap_leftovers
from engine.spec.addresses import KIND_PREFIX
from engine.spec.datasets import LoadedItem
from engine.spec.graph import GraphNode
from engine.spec.schema import EvaluatorRef, ExperimentSpec, QualityGateSpec
from engine.state.model import now_iso
from engine.terminal import Terminal

__all__ = ["Cancelled", "RunPlan", "execute", "judge", "new_run_id", "prepare"]


@dataclass
class RunPlan:
    """Everything a run needs, checked before any agent is started."""

    node: GraphNode
    spec: ExperimentSpec | QualityGateSpec
    variants: list[Variant]
    evaluators: list[Evaluator]
    infos: list[EvaluatorInfo]
    items: list[LoadedItem]
    #: `langfuse:<score>` evaluators: scored in Langfuse after the run is recorded
    remote: list[RemoteEvaluator]

    @property
    def address(self) -> str:
        return str(self.node.address)

    @property
    def env(self) -> str:
        return self.node.address.env or ""


def new_run_id(node: GraphNode) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    a = node.address
    return f"{KIND_PREFIX[a.kind]}-{a.name}-{a.env}-{stamp}-{secrets.token_hex(2)}"


def build_evaluators(
    refs: Sequence[EvaluatorRef], ctx: Context, env: str, where: str
) -> list[Evaluator]:
    judge = judge_config(ctx.workspace, env)
    out = []
    for i, ref in enumerate(refs):
        try:
            out.append(
                build_evaluator(
                    ref.use, ref.params, workspace=ctx.workspace.root, judge=judge, name=ref.label
                )
            )
        except EvaluatorConfigError as exc:
            raise PermanentError(
                f"{where}: evaluator {i} ('{ref.use}'): {exc}", hint=exc.hint
            ) from None
    return out


def prepare(node: GraphNode, inputs: RunInputs, ctx: Context) -> RunPlan:
    ws = ctx.workspace
    spec = node.spec.doc.spec
    where = str(node.address)
    assert isinstance(spec, ExperimentSpec | QualityGateSpec)
    if isinstance(spec, ExperimentSpec):
        variants = expand_matrix(ws, spec)
    else:
        variants = [agent_variant(ws, spec.agent, spec.environment)]
        if variants[0].digest != inputs.attrs.get("agent_digest"):
            raise PermanentError(
                f"{where}: the agent digest changed while planning "
                f"({inputs.attrs.get('agent_digest')} → {variants[0].digest})",
                hint="plan and apply again",
            )
    infos = [EvaluatorInfo.of(ref) for ref in spec.evaluators]
    labels = [i.label for i in infos]
    if len(set(labels)) != len(labels):
        dupes = sorted({x for x in labels if labels.count(x) > 1})
        raise PermanentError(
            f"{where}: two evaluators report under the same name: {', '.join(dupes)}",
            hint="give one of them a distinct 'name:'",
        )
    if isinstance(spec, ExperimentSpec):
        known = metric_names(infos)
        named = [("objective metric", spec.objective.metric)] + [
            ("tie-breaker", t.metric) for t in spec.objective.tie_breakers
        ]
        for what, metric in named:
            if metric not in known:
                raise PermanentError(
                    f"{where}: {what} '{metric}' is not an evaluator of this experiment or "
                    "a run metric",
                    hint=f"use one of: {', '.join(known)}",
                )
    items = list(ws.items.get(spec.dataset, []))
    if not items:
        raise PermanentError(f"{where}: dataset '{spec.dataset}' has no items")
    local, remote = split_refs(spec.evaluators)
    store = ws.environments[spec.environment].doc.spec.store
    if remote and store != "langfuse":
        raise PermanentError(
            f"{where}: '{remote[0].score}' is a Langfuse score, but environment "
            f"'{spec.environment}' has store: {store}",
            hint="run it in an environment with store: langfuse",
        )
    evaluators = build_evaluators(local, ctx, spec.environment, where)
    return RunPlan(node, spec, variants, evaluators, infos, items, remote)


async def _unless_cancelled(work: Awaitable[object], cancel: threading.Event) -> None:
    """Await `work`, but give up (raising Cancelled) soon after `cancel` is set."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            if cancel.is_set():
                raise Cancelled("interrupted")
            await asyncio.wait({task}, timeout=CANCEL_POLL_S)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def _answer_all(
    url: str,
    token: str,
    plan: RunPlan,
    cancel: threading.Event,
    tick: Terminal,
    title: str,
    trace_ids: TraceIds,
) -> list[CaseResult]:
    spec = plan.spec
    task = tick.task(title, len(plan.items) * spec.repetitions)
    source = "experiment" if plan.node.kind == "Experiment" else "evaluation"
    try:
        async with LocalInvoker(
            url,
            token,
            timeout=spec.timeout,
            max_connections=spec.concurrency,
            # the variant's traces are evaluation traffic, never "production"
            headers={"X-Agentops-Source": source},
        ) as invoker:
            # One unscored call first: a fresh process pays one-off start-up costs (imports,
            # MCP tool servers) on its first request, which the long-lived agents in dev, tst
            # and prd do not; counting it would measure our deploy, not the agent's serving.
            await _unless_cancelled(invoker.ainvoke(payload_of(plan.items[0].input)), cancel)
            cases = await run_cases(
                invoker.ainvoke,
                plan.items,
                plan.evaluators,
                repetitions=spec.repetitions,
                concurrency=spec.concurrency,
                cancel=cancel,
                on_case=lambda c: task.advance(c.ok),
                trace_ids=trace_ids,
            )
    except BaseException:
        task.close(f"{title}: interrupted after {task.done} case(s)")
        raise
    errors = sum(1 for c in cases if not c.ok)
    task.close(f"{title}: {len(cases)} case(s), {errors} failed call(s)")
    return cases


def _trace_ids(workspace_id: str, plan: RunPlan, v: Variant, run_id: str) -> TraceIds:
    """The trace ids of a variant's cases: the ones the Langfuse recorder will use."""
    name = run_name(plan.address, v.name, v.digest, run_id)
    return lambda item_id, rep: case_trace_id(workspace_id, plan.env, name, item_id, rep)


def execute(
    plan: RunPlan,
    inputs: RunInputs,
    ctx: Context,
    runtime: LocalRuntimeProvider,
    board: Terminal,
) -> EvalRun:
    """Deploy, answer, score and tear down every variant; returns the unsaved, unjudged run
    (remote scores may still be folded in before `judge`)."""
    started_at, t0 = now_iso(), time.monotonic()
    timings = {"deploy": 0.0, "cases": 0.0, "teardown": 0.0}
    stale = reap_leftovers(ctx.workspace_id, plan.address)
    if stale:
        board.print(f"{plan.address}: stopped {len(stale)} process(es) left by an earlier run")
    token = runtime.token()
    spec = plan.spec
    # the run id names the Langfuse run and seeds each case's trace id, sent with its call
    run_id = new_run_id(plan.node)
    results: list[VariantRun] = []
    with EphemeralAgents(runtime, ctx, plan.address, plan.env, spec.agent) as fleet:
        for v in plan.variants:
            if ctx.cancel.is_set():
                raise Cancelled("interrupted")
            t = time.monotonic()
            try:
                proc = fleet.deploy(v)
            except PermanentError:
                if ctx.cancel.is_set():  # the start was cut short by Ctrl-C, not broken
                    raise Cancelled("interrupted") from None
                raise
            timings["deploy"] += time.monotonic() - t
            if ctx.cancel.is_set():
                raise Cancelled("interrupted")
            t = time.monotonic()
            title = f"{plan.address} {v.name}" + (f" ({v.label})" if v.values else "")
            try:
                ids = _trace_ids(ctx.workspace_id, plan, v, run_id)
                cases = asyncio.run(
                    _answer_all(proc.url, token, plan, ctx.cancel, board, title, ids)
                )
            finally:
                timings["cases"] += time.monotonic() - t
                t = time.monotonic()
                fleet.stop(v)
                timings["teardown"] += time.monotonic() - t
            agg = aggregate(cases, plan.infos)
            results.append(VariantRun(v.name, v.label, v.values, v.digest, v.model, agg, cases))
    run = EvalRun(
        run_id=run_id,
        address=plan.address,
        kind=plan.node.kind,
        name=plan.node.address.name,
        env=plan.env,
        agent=spec.agent,
        dataset=spec.dataset,
        status="succeeded",
        message=None,
        started_at=started_at,
        finished_at=now_iso(),
        inputs_digest=inputs.digest,
        agent_digest=str(inputs.attrs.get("agent_digest")),
        dataset_digest=str(inputs.attrs.get("dataset_digest")),
        repetitions=spec.repetitions,
        evaluators=plan.infos,
        variants=results,
        timings={**timings, "total": time.monotonic() - t0},
        items=[ItemRecord(i.id, i.index, i.input, i.expected_output) for i in plan.items],
    )
    return run


def judge(run: EvalRun, spec: ExperimentSpec | QualityGateSpec) -> None:
    """Rank the variants (experiment) or apply the thresholds (gate); sets run.status."""
    if isinstance(spec, ExperimentSpec):
        objective = spec.objective
        run.objective = {"metric": objective.metric, "goal": objective.goal}
        breakers = [(t.metric, t.goal) for t in objective.tie_breakers]
        run.ranking = decide(
            run.variants, run.evaluators, objective.metric, objective.goal, breakers
        )
        by_name = {v.name: v for v in run.variants}
        for position, name in enumerate(run.ranking.order, start=1):
            by_name[name].rank = position
            by_name[name].metric = by_name[name].aggregate.metric(objective.metric)
        return
    limits = spec.latency
    run.latency_limits = (
        {"p50_ms": limits.p50_ms, "p95_ms": limits.p95_ms, "p99_ms": limits.p99_ms}
        if limits
        else None
    )
    run.max_errors = spec.max_errors
    outcome = evaluate_gate(
        run.variants[0].aggregate,
        run.evaluators,
        latency=limits,
        max_errors=spec.max_errors,
        inconclusive=spec.inconclusive,
    )
    run.gate = outcome
    run.variants[0].rank = None
    if not outcome.passed:
        run.status = "failed"
        run.message = outcome.message()


def report_paths(state_dir: Path, run_id: str) -> dict[str, Path]:
    base = state_dir / "reports"
    return {"markdown": base / f"{run_id}.md", "html": base / f"{run_id}.html"}

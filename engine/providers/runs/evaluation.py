"""Local evaluation provider: Experiments and QualityGates as runs on the local machine.

Pipeline role: the `local-eval` JobProvider the registry routes both run kinds to. The
planner decides *whether* a run happens (its inputs digest, `engine.providers.runs.inputs`); this
provider does it (`engine.providers.runs.eval_runner`), keeps every result in the local store,
writes the reports, and hands the applier a compact summary for state (with `cost`: the
plan's estimate next to what the run used and cost). Two contracts the planner relies on:

* a QualityGate's summary carries `agent_digest` (the exact digest it evaluated) and
  `covered` (name -> digest of every agent its verdict covers: the agent, its callees, its
  `covers:`): an Agent in a `promotes:` environment is unblocked only by a succeeded gate
  that covers it with that digest;
* a gate that misses a threshold returns `status="failed"` and a message naming each miss,
  so the applier exits non-zero and the promotion is skipped (prd keeps its version).

Every gate result is compared with its baseline (`engine.evaluation.baseline_store`: this
gate's last passing result of the digest promoted now, or a declared one); a metric that
fell further than the gate's `maxRegression` fails the gate like a missed threshold, and a
result that passed is recorded in the state's sidecar as the baseline of its digest.

When the run's environment has `store: langfuse` the run is also recorded there (one
dataset run per variant, `engine.providers.langfuse.evalrun`), and remote `langfuse:<score>`
evaluators are awaited and folded in before the gate judges.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from engine.errors import AgentOpsError
from engine.evaluation.baseline_store import Baseline, BaselineRef, judge_against, lookup
from engine.evaluation.baseline_store import record as record_baseline
from engine.evaluation.cost import actual_of
from engine.evaluation.remote import fold
from engine.evaluation.run import EvalRun, VariantRun
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.runtime import LocalRuntimeProvider
from engine.providers.local.store import LocalStore
from engine.providers.runs.eval_runner import (
    Cancelled,
    RunPlan,
    execute,
    judge,
    prepare,
    report_paths,
)
from engine.providers.runs.inputs import langfuse_recorder, run_inputs
from engine.spec.addresses import Address
from engine.spec.coverage import input_digests
from engine.spec.digests import digest_of
from engine.spec.graph import GraphNode
from engine.spec.schema import QualityGateSpec
from engine.state.model import RunRecord
from engine.state.private import private_dir, write_private

if TYPE_CHECKING:
    from engine.providers.langfuse.runs import LangfuseRunRecorder


class LocalEvalProvider:
    name: ClassVar[str] = "local-eval"
    kinds: ClassVar[frozenset[str]] = frozenset({"Experiment", "QualityGate"})

    def __init__(
        self,
        state_dir: Path,
        store: LocalStore,
        *,
        runtime: LocalRuntimeProvider | None = None,
    ) -> None:
        self.state_dir = state_dir
        self.store = EvalStore(store)
        self.runtime = runtime or LocalRuntimeProvider(state_dir)
        self._write_lock = threading.Lock()
        self._run_lock = threading.Lock()

    def inputs(self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
        base = run_inputs(node, ctx, digests)
        env = node.spec.doc.spec.environment
        judge = ctx.workspace.environments[env].doc.spec.judge
        if judge is None:
            return base
        # A different judge scores differently: its identity (never its key) is an input.
        attrs = dict(base.attrs)
        attrs["judge"] = judge.model_dump(mode="json", by_alias=True, exclude={"api_key"})
        return RunInputs(digest=digest_of(attrs), attrs=attrs)

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        failed: dict[str, Any] = {"agent_digest": inputs.attrs.get("agent_digest")}
        estimate = ctx.cost_estimates.get(str(node.address))
        # nothing ran, so nothing was used: the estimate is kept for the record
        failed["cost"] = {"estimate": estimate, "actual": None}
        if node.kind == "QualityGate":
            failed["covered"] = input_digests(inputs.attrs, node.spec.doc.spec.agent)
        interrupted = "interrupted; every ephemeral agent of the run was stopped"
        try:
            plan = prepare(node, inputs, ctx)
            # `store: langfuse`: the keys are resolved and checked now, before any deploy
            recorder = langfuse_recorder(ctx, plan.env)
            # a pinned baseline without a recorded result fails now, before any deploy
            ref, baseline = self._baseline(node, ctx)
            # One evaluation at a time: an experiment's deploys running next to a gate would
            # eat the CPU the gate's agent needs, and its latency checks would measure that.
            with self._run_lock:
                run = execute(plan, inputs, ctx, self.runtime, ctx.terminal)
        except Cancelled:
            return RunResult("failed", failed, interrupted)
        except AgentOpsError as exc:
            return RunResult("failed", failed, _message(exc))
        not_recorded = None
        if recorder is not None:
            not_recorded = self._record(run, plan, ctx, recorder)
            if ctx.cancel.is_set():
                return RunResult("failed", failed, interrupted)
        judge(run, plan.spec)
        actual = actual_of(ctx.workspace, run, plan.spec.evaluators, plan.items, plan.spec.budget)
        run.cost = {"estimate": estimate, "actual": actual}
        if isinstance(plan.spec, QualityGateSpec):
            judge_against(run, plan.spec, ref, baseline)
        if not_recorded is not None:
            # The run and its report are kept locally; Langfuse misses it, so it is not a
            # success: the next apply runs it again (and records it).
            run.status = "failed"
            run.message = (f"{run.message}; " if run.message else "") + (
                f"the run was not recorded in Langfuse: {not_recorded}"
            )
        self.publish(run, ctx)
        if isinstance(plan.spec, QualityGateSpec) and run.status == "succeeded" and ctx.sidecar:
            # a passing result is the baseline of its digest, for whichever machine compares
            record_baseline(ctx.sidecar, node.address.name, run)
        message = run.message
        if message is not None:
            message += f" — report: {run.reports['markdown']}"
        summary = summarize(run)
        if "covered" in failed:
            summary["covered"] = failed["covered"]
        summary["cost"] = run.cost
        # Failed with its run recorded: the gate's checks said no (a verdict, exit code 3)
        verdict = run.status == "failed" and not_recorded is None
        return RunResult(run.status, summary, message, verdict=verdict)

    def _baseline(
        self, node: GraphNode, ctx: Context
    ) -> tuple[BaselineRef | None, Baseline | None]:
        """What a gate's result will be compared with (nothing for an experiment)."""
        if node.kind != "QualityGate":
            return None, None
        ref = ctx.baseline_of(node)
        where = f"{node.spec.loc('spec', 'baseline')}: {node.address}"

        def stored(r: BaselineRef) -> Baseline | None:
            # a run recorded in the local store before baselines were kept in the sidecar
            run_id = self.store.find_passing(str(node.address), r.digest)
            if run_id is None:
                return None
            old = self.store.load(run_id)
            return Baseline(r, run_id, old.finished_at, old.variants[0].cases)

        return ref, lookup(ctx.sidecar, ref, where, stored)

    def _record(
        self, run: EvalRun, plan: RunPlan, ctx: Context, recorder: LangfuseRunRecorder
    ) -> str | None:
        """Record the run in Langfuse and fold in remote scores; the error message, if any."""
        from engine.providers.langfuse.evalrun import record_eval_run

        try:
            summaries = record_eval_run(
                run,
                ctx,
                recorder=recorder,
                remote=plan.remote,
                cancel=ctx.cancel,
                on_wait=ctx.terminal.print,
            )
        except AgentOpsError as exc:
            if plan.remote:  # without the remote scores the gate cannot judge
                for v in run.variants:
                    fold(v, plan.remote, {}, run.evaluators)
            return _message(exc)
        run.langfuse = {v.name: s.url for v, s in zip(run.variants, summaries, strict=True)}
        for v, s in zip(run.variants, summaries, strict=True):
            ctx.terminal.print(f"{run.address} {v.name}: Langfuse dataset run {s.url}")
            if s.missing:
                ctx.terminal.print(
                    f"{run.address}: {len(s.missing)} input(s) had no result; recorded in "
                    f"Langfuse as errors scoring 0"
                )
        return None

    def publish(self, run: EvalRun, ctx: Context) -> None:
        """Reports on disk (the HTML one diffed against the previous run of the address),
        everything in the store, the table on the terminal."""
        from engine.evaluation.report_html import render_html
        from engine.evaluation.report_text import render_markdown, renderables

        paths = report_paths(self.state_dir, run.run_id)
        run.reports = {k: _shown(p, ctx.workspace.root) for k, p in paths.items()}
        private_dir(paths["markdown"].parent)
        write_private(paths["markdown"], render_markdown(run))
        with self._write_lock:
            earlier = self.store.previous(run)  # before this run is saved: never itself
            previous = self.store.load(earlier) if earlier is not None else None
        write_private(paths["html"], render_html(run, previous=previous))
        with self._write_lock:
            self.store.save(run)
        ctx.terminal.print(*renderables(run))


def _message(exc: AgentOpsError) -> str:
    return f"{exc} ({exc.hint})" if exc.hint else str(exc)


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def summarize(run: EvalRun) -> dict[str, Any]:
    """The compact result kept in state (the store has everything else)."""
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "agent_digest": run.agent_digest,
        "dataset_digest": run.dataset_digest,
        "cases": sum(v.aggregate.cases for v in run.variants),
        "repetitions": run.repetitions,
        "report": dict(run.reports),
        "seconds": {k: round(v, 2) for k, v in run.timings.items()},
    }
    if run.langfuse:
        out["langfuse"] = dict(run.langfuse)
    rows = [_row(v) for v in run.ranked]
    if run.kind == "Experiment":
        out["objective"] = run.objective
        out["ranking"] = rows
        if run.ranking is not None:
            out["verdict"] = run.ranking.verdict
            out["decided_by"] = run.ranking.decided_by or None
            out["why"] = run.ranking.message()
        leader = run.leader
        if leader is not None:
            # `best` only for a winner: an inconclusive run records its `leader` instead, so
            # nothing that reads state mistakes a tie for a result
            out["best" if run.best is not None else "leader"] = {
                "variant": leader.name,
                "label": leader.label,
                "metric": leader.metric,
                "values": {k: dict(v) for k, v in leader.values.items()},
                "agent_digest": leader.agent_digest,
            }
    elif run.gate is not None:
        out["verdict"] = run.gate.verdict
        out["passed"] = run.gate.passed
        out["checks"] = [
            {
                "name": c.name,
                "value": c.value,
                "op": c.op,
                "threshold": c.threshold,
                "verdict": c.verdict,
                "spread": list(c.spread) if c.spread else None,
            }
            for c in run.gate.checks
        ]
        out["aggregate"] = rows[0]
        if run.comparison is not None:
            # the deltas (the baseline's cases are in the store and the sidecar)
            out["baseline"] = run.comparison.to_json(cases=False)
    return out


def _row(v: VariantRun) -> dict[str, Any]:
    a = v.aggregate
    return {
        "rank": v.rank,
        "variant": v.name,
        "label": v.label,
        "metric": v.metric,
        "means": {k: s.mean for k, s in a.evaluators.items()},
        "pass_rate": a.pass_rate,
        "latency_p50_ms": a.latency_p50,
        "latency_p95_ms": a.latency_p95,
        "call_errors": a.call_errors,
        "evaluator_errors": a.evaluator_errors,
        "tokens": a.tokens,
    }

"""Run one preview end to end, and sweep what killed previews left.

Pipeline role: `agentops preview` calls `run_preview`; `agentops preview --sweep` calls
`sweep`. A preview has its own state in `.agentops/previews/<name>/` (its own lock, its own
workspace id, hence its own ownership tag on every process it starts), so previews of
different pull requests never contend with each other or with the main state, which the
preview only reads (no lock). The copy is destroyed in `finally`: after success, a failed
gate, a timeout (`ctx.cancel` via a timer) or Ctrl-C / SIGTERM (the applier sets
`ctx.cancel` and its runs tear their ephemeral agents down); whatever is still tagged with
the preview's workspace id afterwards is killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.applier import ApplyResult
from engine.errors import AgentOpsError, UsageError
from engine.evaluation.baseline import Comparison, compare
from engine.evaluation.verdicts import Verdict, save_verdict, verdict_key
from engine.planner.plan import Action, Plan
from engine.planner.planner import PlanOptions
from engine.preview.copy import check_name, preview_workspace
from engine.preview.cost import Estimate, estimate
from engine.providers.base import Context
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.runtime import owned_processes
from engine.providers.local.store import LocalStore
from engine.providers.registry import Registry
from engine.providers.runs.evaluation import write_html_report
from engine.reconcile import Session, apply, make_plan, open_session, prepare
from engine.spec.addresses import Address
from engine.spec.graph import build_graph
from engine.spec.workspace import Workspace
from engine.state.backend import state_dir
from engine.state.local import LocalStateStore
from engine.state.model import now_iso
from engine.state.store import StateStore

PREVIEWS_DIRNAME = "previews"
MARKER = "preview.json"
_RUN_KINDS = ("QualityGate", "Experiment")


@dataclass
class GateResult:
    """One gate (or experiment) the change triggered, as it ran in the preview."""

    address: str  # on main, e.g. qualitygate.release[tst]
    preview_address: str  # in the copy, e.g. qualitygate.release[pr-123]
    kind: str
    status: str  # succeeded | failed | skipped
    message: str | None
    summary: dict[str, Any] = field(default_factory=dict)
    verdict_key: str | None = None
    comparison: Comparison | None = None


@dataclass
class PreviewResult:
    name: str
    main_plan: Plan
    envs: dict[str, str] = field(default_factory=dict)
    preview_plan: Plan | None = None
    results: list[GateResult] = field(default_factory=list)
    #: pids still owned by the preview after teardown (killed; should be empty)
    leftovers: list[int] = field(default_factory=list)
    interrupted: str | None = None
    costs: list[Estimate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.interrupted is None and all(
            r.status == "succeeded" and not (r.comparison and r.comparison.regressed)
            for r in self.results
        )


def preview_dir(root: Path, name: str) -> Path:
    return state_dir(root) / PREVIEWS_DIRNAME / name


def triggered(plan: Plan) -> list[Address]:
    """The gates and experiments the change makes run (in plan order)."""
    return [
        Address.parse(c.address)
        for c in plan.changes
        if c.kind in _RUN_KINDS and c.action is Action.RUN
    ]


def run_preview(
    ws: Workspace,
    name: str,
    *,
    main_store: StateStore,
    timeout: float | None = None,
    parallelism: int = 4,
    registry: Registry | None = None,
) -> PreviewResult:
    with open_session(ws, "preview", store=main_store, lock=False) as main:
        main_plan = make_plan(main, PlanOptions(), prepare(main))
        promoted = {a: r.digest for a, r in main.state.resources.items()}
        records = dict(main.state.runs)
    runs = triggered(main_plan)
    result = PreviewResult(name, main_plan, costs=estimate(ws, runs, records))
    if not runs:
        return result
    envs = sorted({a.env or "" for a in runs})
    result.envs = check_name(ws, name, envs)
    pws = preview_workspace(
        ws,
        result.envs,
        [a.name for a in runs if a.kind == "QualityGate"],
        [a.name for a in runs if a.kind == "Experiment"],
    )
    directory = preview_dir(ws.root, name)
    store = LocalStateStore(directory)
    try:
        lock = store.lock("preview", 0.0)
        lock.__enter__()
    except AgentOpsError as exc:
        raise UsageError(
            f"preview '{name}' is already running ({exc})",
            hint="wait for it, or pick another --name",
        ) from None
    try:
        _run_locked(pws, result, store, directory, runs, timeout, parallelism, registry)
    finally:
        lock.__exit__(None, None, None)
    _judge(ws, result, runs, promoted, directory)
    return result


def _session(
    pws: Workspace, store: LocalStateStore, directory: Path, reg: Registry | None
) -> Session:
    state = store.read()
    if state.serial == 0:
        store.write(state)
    ctx = Context(workspace=pws, state_dir=directory, workspace_id=state.workspace_id)
    return Session(
        pws, build_graph(pws), store, state, reg or Registry.default(directory), ctx, created=True
    )


def _run_locked(
    pws: Workspace,
    result: PreviewResult,
    store: LocalStateStore,
    directory: Path,
    runs: list[Address],
    timeout: float | None,
    parallelism: int,
    registry: Registry | None,
) -> None:
    s = _session(pws, store, directory, registry)
    _write_marker(directory, result.name, s.state.workspace_id, result.envs)
    copies = tuple(sorted(result.envs.values()))
    timer = _timer(timeout, s.ctx.cancel)
    try:
        with _terminate_as_interrupt():
            plan = make_plan(s, PlanOptions(envs=copies), prepare(s))
            result.preview_plan = plan
            outcome = apply(s, plan, parallelism=parallelism, should_stop=s.ctx.cancel.is_set)
        _collect(result, s, runs, outcome)
        if s.ctx.cancel.is_set():
            result.interrupted = f"timed out after {timeout:g}s" if timeout else "interrupted"
    except KeyboardInterrupt:
        result.interrupted = "interrupted"
        raise
    finally:
        if timer is not None:
            timer.cancel()
        result.leftovers = _teardown(s, copies)
        store.compact_if_needed(s.state)


def _timer(timeout: float | None, cancel: threading.Event) -> threading.Timer | None:
    if not timeout:
        return None
    t = threading.Timer(timeout, cancel.set)
    t.daemon = True
    t.start()
    return t


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling the job) tears down like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _teardown(s: Session, copies: tuple[str, ...]) -> list[int]:
    """Destroy the copy, then kill anything still tagged with the preview's workspace id.

    Runs with SIGINT and SIGTERM ignored: a second Ctrl-C (or a runner's SIGTERM after
    the first) must not leave the copy half torn down."""
    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        s.ctx.cancel.clear()  # the destroy itself must not be cut short
        with contextlib.suppress(AgentOpsError):
            plan = make_plan(s, PlanOptions(destroy=True, envs=copies), {})
            if plan.has_changes:
                apply(s, plan)
        return kill_owned(s.state.workspace_id)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def kill_owned(workspace_id: str) -> list[int]:
    killed = []
    for pids in owned_processes(workspace_id).values():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


def _write_marker(directory: Path, name: str, workspace_id: str, envs: dict[str, str]) -> None:
    marker = {
        "name": name,
        "workspace_id": workspace_id,
        "pid": os.getpid(),
        "started": time.time(),
        "started_at": now_iso(),
        "environments": envs,
    }
    (directory / MARKER).write_text(json.dumps(marker, indent=1, sort_keys=True) + "\n")


def _collect(result: PreviewResult, s: Session, runs: list[Address], outcome: ApplyResult) -> None:
    by_addr = {o.address: o for o in outcome.outcomes}
    for a in runs:
        copy = Address(a.kind, a.name, result.envs[a.env or ""])
        record = s.state.runs.get(str(copy))
        o = by_addr.get(str(copy))
        inputs = s.run_inputs.get(copy)
        ran = record is not None and inputs is not None and record.inputs_digest == inputs.digest
        status = record.status if ran and record else "skipped"
        message = (record.message if ran and record else None) or (o.message if o else None)
        gr = GateResult(str(a), str(copy), a.kind, status, message)
        if ran and record is not None and inputs is not None:
            gr.summary = dict(record.summary)
            if a.kind == "QualityGate":
                gr.verdict_key = verdict_key(s.graph.nodes[copy], inputs.attrs)
        result.results.append(gr)


def _judge(
    ws: Workspace,
    result: PreviewResult,
    runs: list[Address],
    promoted: Mapping[str, str | None],
    directory: Path,
) -> None:
    """Baseline deltas for every gate, then its verdict recorded by digest for main."""
    main_dir = state_dir(ws.root)
    main_evals = EvalStore(LocalStore(main_dir / "store.sqlite"))
    preview_evals = EvalStore(LocalStore(directory / "store.sqlite"))
    for gr in result.results:
        if gr.kind != "QualityGate" or gr.status == "skipped":
            continue
        spec = ws.gates[Address.parse(gr.address).name].doc.spec
        run_id = gr.summary.get("run_id")
        if not run_id:
            continue
        new = preview_evals.load(str(run_id))
        digest = next(
            (promoted.get(str(Address("Agent", spec.agent, e))) for e in spec.promotes), None
        )
        old_id = main_evals.find_passing(gr.address, digest) if digest else None
        old_run = main_evals.load(old_id) if old_id else None
        gr.comparison = compare(
            new.variants[0].cases,
            old_run.variants[0].cases if old_run else None,
            [e.label for e in new.evaluators],
            spec.max_regression,
            baseline_run=old_id,
            baseline_digest=digest,
        )
        # the report written when the gate ran had no baseline yet: now it has
        write_html_report(directory, preview_evals, new, comparison=gr.comparison, baseline=old_run)
        if gr.verdict_key is None:
            continue
        passed = gr.status == "succeeded" and not gr.comparison.regressed
        save_verdict(
            main_dir,
            Verdict(
                key=gr.verdict_key,
                gate=gr.address,
                passed=passed,
                verdict=str(gr.summary.get("verdict", "fail")),
                agent_digest=str(gr.summary.get("agent_digest")),
                preview=result.name,
                recorded_at=now_iso(),
                summary={k: v for k, v in gr.summary.items() if k != "inputs"},
            ),
        )


@dataclass(frozen=True)
class Swept:
    name: str
    age_s: float
    killed: list[int]


def sweep(root: Path, older_than: float, *, now: float | None = None) -> list[Swept]:
    """Remove previews older than `older_than` seconds that no live preview holds: kill the
    processes tagged with their workspace id, then delete their directory. Only directories
    with a preview marker are touched; a preview whose lock is held is left alone."""
    base = state_dir(root) / PREVIEWS_DIRNAME
    now = time.time() if now is None else now
    out: list[Swept] = []
    if not base.is_dir():
        return out
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        try:
            marker = json.loads((directory / MARKER).read_text(encoding="utf-8"))
            started = float(marker["started"])
            workspace_id = str(marker["workspace_id"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a preview we recognise: never touched
        age = now - started
        if age < older_than:
            continue
        try:
            with LocalStateStore(directory).lock("preview --sweep", 0.0):
                killed = kill_owned(workspace_id)
        except AgentOpsError:
            continue  # a live preview holds it
        shutil.rmtree(directory, ignore_errors=True)
        out.append(Swept(directory.name, age, killed))
    return out

"""Run one preview end to end.

Pipeline role: `agentops preview` calls `run_preview` (`agentops preview --sweep`:
`engine.preview.sweep`). A preview has its own state in `.agentops/previews/<name>/` (its
own lock, its own workspace id, hence its own ownership tag on every process it starts and
its own AgentCore names), so previews of different pull requests never contend with each
other or with the main state, which the preview only reads (no lock). Everything it creates
also carries the preview tags (`engine.providers.base.TAG_PREVIEW*`: name, the main
state's workspace id, start time), by which the sweeper finds what a killed preview left.

What it records goes beside the *main* state (its sidecar: a local directory, or the S3
prefix of a shared state): a passing gate's verdict by digest, and its cases as a baseline,
so the apply on main - on another machine - reuses the verdict and compares with it.

The copy is destroyed in `finally`: after success, a failed gate, a timeout (`ctx.cancel`
via a timer) or Ctrl-C / SIGTERM (the applier sets `ctx.cancel` and its runs tear their
ephemeral agents down); whatever is still tagged with the preview's workspace id afterwards
is killed. A teardown that fails says what it left (`PreviewResult.left`) and keeps the
preview's state, which the sweeper destroys later.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.applier import ApplyResult
from engine.errors import AgentOpsError, UsageError
from engine.evaluation.baseline import Comparison
from engine.evaluation.baseline_store import BaselineRef, resolve
from engine.evaluation.verdicts import Verdict, save_verdict, verdict_key
from engine.planner.plan import Action, Plan
from engine.planner.planner import PlanOptions
from engine.preview.copy import check_name, preview_workspace
from engine.preview.cost import Estimate, estimate
from engine.providers.base import (
    TAG_PREVIEW,
    TAG_PREVIEW_OF,
    TAG_PREVIEW_STARTED,
    Context,
)
from engine.providers.local.runtime import owned_processes
from engine.providers.registry import Registry
from engine.reconcile import Session, apply, make_plan, open_session, prepare
from engine.spec.addresses import Address
from engine.spec.graph import GraphNode, build_graph
from engine.spec.workspace import Workspace
from engine.state.backend import state_dir
from engine.state.local import LocalStateStore
from engine.state.model import State, now_iso
from engine.state.sidecar import Sidecar
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
    #: failed because of its verdict (a missed threshold, a regression), not an error
    verdict: bool = False


@dataclass
class PreviewResult:
    name: str
    main_plan: Plan
    envs: dict[str, str] = field(default_factory=dict)
    preview_plan: Plan | None = None
    results: list[GateResult] = field(default_factory=list)
    #: pids still owned by the preview after teardown (killed; should be empty)
    leftovers: list[int] = field(default_factory=list)
    #: what the teardown could not remove: one line per resource (and the errors); the
    #: preview's state keeps them, and `agentops preview --sweep` removes them later
    left: list[str] = field(default_factory=list)
    interrupted: str | None = None
    costs: list[Estimate] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.interrupted is None
            and not self.left
            and all(
                r.status == "succeeded" and not (r.comparison and r.comparison.regressed)
                for r in self.results
            )
        )

    @property
    def exit_code(self) -> int:
        """0 passed; 3 the tool worked and a verdict failed (as `apply`); 1 anything else."""
        if self.ok:
            return 0
        bad = [r for r in self.results if r.status != "succeeded"]
        if self.interrupted is None and not self.left and all(r.verdict for r in bad):
            return 3
        return 1


@dataclass(frozen=True)
class Parent:
    """What a preview takes from the main state, read once without its lock."""

    workspace: Workspace
    #: the main state's workspace id ("" when there is no main state yet)
    workspace_id: str
    #: address -> the digest deployed there on main (the baselines' digests)
    digests: Mapping[str, str | None]
    #: the main state's sidecar: verdicts and baselines are read and written there
    sidecar: Sidecar

    def baseline_of(self, node: GraphNode) -> BaselineRef | None:
        """The copy's gate is compared with what the *original* gate would compare with."""
        original = self.workspace.gates.get(node.address.name)
        if node.kind != "QualityGate" or original is None:
            return None
        return resolve(node.address.name, original.doc.spec, self.digests.get)


def preview_dir(root: Path, name: str) -> Path:
    return state_dir(root) / PREVIEWS_DIRNAME / name


def preview_tags(name: str, parent: str, started: float) -> dict[str, str]:
    """The tags of everything the preview creates (AWS tag values: letters, digits, -.:)."""
    return {
        TAG_PREVIEW: name,
        TAG_PREVIEW_OF: parent or "none",
        TAG_PREVIEW_STARTED: str(int(started)),
    }


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
    check_name(ws, name, [])  # a bad or taken name is refused before anything is read
    with open_session(ws, "preview", store=main_store, lock=False) as main:
        main_plan = make_plan(main, PlanOptions(), prepare(main))
        parent = Parent(
            ws,
            main.state.workspace_id if main.state.serial else "",
            {a: r.digest for a, r in main.state.resources.items()},
            main_store.sidecar(),
        )
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
        s = _session(pws, store, directory, registry, parent, result.name)
        _run_locked(s, result, runs, timeout, parallelism)
    finally:
        lock.__exit__(None, None, None)
    _record_verdicts(result, parent.sidecar)
    return result


def _session(
    pws: Workspace,
    store: LocalStateStore,
    directory: Path,
    reg: Registry | None,
    parent: Parent,
    name: str,
) -> Session:
    state = store.read()
    if state.serial == 0:
        store.write(state)
    started = time.time()
    _write_marker(directory, name, state, parent.workspace_id, started)
    ctx = Context(
        workspace=pws,
        state_dir=directory,
        workspace_id=state.workspace_id,
        sidecar=parent.sidecar,
        baseline_of=parent.baseline_of,
        tags=preview_tags(name, parent.workspace_id, started),
    )
    return Session(
        pws, build_graph(pws), store, state, reg or Registry.default(directory), ctx, created=True
    )


def _run_locked(
    s: Session,
    result: PreviewResult,
    runs: list[Address],
    timeout: float | None,
    parallelism: int,
) -> None:
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
        result.leftovers, result.left = _teardown(s, copies)
        s.store.compact_if_needed(s.state)


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


def _teardown(s: Session, copies: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Destroy the copy, then kill anything still tagged with the preview's workspace id;
    (killed pids, what is left: one line per resource or error).

    Runs with SIGINT and SIGTERM ignored: a second Ctrl-C (or a runner's SIGTERM after
    the first) must not leave the copy half torn down."""
    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    errors: list[str] = []
    try:
        s.ctx.cancel.clear()  # the destroy itself must not be cut short
        try:
            plan = make_plan(s, PlanOptions(destroy=True, envs=copies), {})
            if plan.has_changes:
                done = apply(s, plan)
                errors = [f"{o.address}: {o.message}" for o in done.failed]
        except AgentOpsError as exc:
            errors.append(f"the destroy of the copy failed: {exc}")
        return kill_owned(s.state.workspace_id), left_in(s.state, copies, errors)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def left_in(state: State, copies: tuple[str, ...], errors: list[str]) -> list[str]:
    """What the preview's state still holds in its copies: resources, interrupted operations,
    and why (each failed delete's error)."""
    out = []
    for address, res in sorted(state.resources.items()):
        if Address.parse(address).env not in copies:
            continue
        name = res.outputs.get("name")
        ident = ", ".join(str(x) for x in (name, res.provider_id) if x)
        out.append(f"{address} ({res.provider}{': ' + ident if ident else ''})")
    for address, op in sorted(state.pending.items()):
        out.append(f"{address}: an interrupted {op.op} ({op.provider})")
    if out:
        out += errors
    return out


def kill_owned(workspace_id: str) -> list[int]:
    killed = []
    for pids in owned_processes(workspace_id).values():
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


def _write_marker(directory: Path, name: str, state: State, parent: str, started: float) -> None:
    marker = {
        "name": name,
        "workspace_id": state.workspace_id,
        "preview_of": parent,
        "pid": os.getpid(),
        "started": started,
        "started_at": now_iso(),
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
        gr.verdict = status == "failed" and bool(o is not None and o.verdict)
        if ran and record is not None and inputs is not None:
            gr.summary = dict(record.summary)
            if a.kind == "QualityGate":
                gr.verdict_key = verdict_key(s.graph.nodes[copy], inputs.attrs)
                if isinstance(record.summary.get("baseline"), dict):
                    gr.comparison = Comparison.from_json(record.summary["baseline"])
        result.results.append(gr)


def _record_verdicts(result: PreviewResult, sidecar: Sidecar) -> None:
    """Every gate that passed (thresholds and maxRegression) is recorded by digest beside
    the main state, for the gate on main to reuse. A failed gate records nothing: main runs
    it again."""
    if result.interrupted:
        return
    for gr in result.results:
        if gr.kind != "QualityGate" or gr.verdict_key is None or gr.status != "succeeded":
            continue
        if gr.comparison is not None and gr.comparison.regressed:
            continue
        save_verdict(
            sidecar,
            Verdict(
                key=gr.verdict_key,
                gate=gr.address,
                passed=True,
                verdict=str(gr.summary.get("verdict", "pass")),
                agent_digest=str(gr.summary.get("agent_digest")),
                preview=result.name,
                recorded_at=now_iso(),
                summary={k: v for k, v in gr.summary.items() if k != "inputs"},
            ),
        )

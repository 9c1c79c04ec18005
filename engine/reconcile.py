"""Reconcile: the orchestration of one plan or apply, end to end.

Why one file (~410 lines): it is the one place that sequences a session (lock, recovery,
observe, plan, apply, compaction); the pieces it calls live in their own packages.

    workspace -> graph -> providers -> resolve pending ops (crash recovery)
              -> desired views + run inputs + observations -> planner.plan -> Plan
    Plan -> Applier (journalled state) -> compact state -> ApplyResult

Everything that writes runs under the state lock; the planner itself stays pure. A
read-only session (`plan --no-lock`, the watcher's look before it acts) takes no lock and
writes nothing: pending operations are reported, not resolved.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.applier import Applier, ApplyResult, EventSink
from engine.errors import ProviderError, StalePlan, UsageError, WorkspaceInvalid
from engine.evaluation.baseline_store import BaselineRef
from engine.evaluation.baseline_store import resolve as resolve_baseline
from engine.evaluation.verdicts import load_verdict, reused_record, verdict_key
from engine.heap import SessionHeap
from engine.planner.drift import REFRESHED, refresh_record
from engine.planner.plan import Plan
from engine.planner.planner import RESOURCE_KINDS, PlanInput, PlanOptions, plan
from engine.providers.base import (
    Context,
    Desired,
    JobProvider,
    Observed,
    ResourceProvider,
    RunInputs,
)
from engine.providers.registry import Registry
from engine.providers.runs.inputs import run_inputs
from engine.providers.secret_refs import check_secret_uses
from engine.spec.addresses import Address
from engine.spec.datasets import canonical_json, sha256_hex
from engine.spec.graph import DesiredGraph, GraphNode, build_graph
from engine.spec.schema import RUN_KINDS, QualityGateSpec
from engine.spec.workspace import Workspace
from engine.state.backend import STATE_DIRNAME, state_dir, store_for
from engine.state.model import ResourceState, State, now_iso
from engine.state.store import StateStore


@dataclass
class Session:
    """One locked session over a workspace's state: plan and apply share it."""

    ws: Workspace
    graph: DesiredGraph
    store: StateStore
    state: State
    registry: Registry
    ctx: Context
    #: False for a read-only session: no lock, nothing is written
    locked: bool = True
    #: this session wrote the first state (there was none when it started)
    created: bool = False
    desired: dict[Address, Desired] = field(default_factory=dict)
    run_inputs: dict[Address, RunInputs] = field(default_factory=dict)
    providers: dict[Address, str] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    #: what each stage built lives until the session ends: kept out of GC scans (engine.heap)
    heap: SessionHeap = field(default_factory=SessionHeap.inert)


@contextmanager
def open_session(
    ws: Workspace,
    command: str,
    *,
    lock_timeout: float = 0.0,
    registry: Registry | None = None,
    store: StateStore | None = None,
    lock: bool = True,
) -> Iterator[Session]:
    store = store or store_for(ws.root)
    heap = SessionHeap()
    heap.keep()  # the workspace, loaded by the caller, lives as long as the session
    try:
        if not lock:
            session = _session(ws, store, store.read(), registry, locked=False, heap=heap)
            heap.keep()
            yield session
            return
        with store.lock(command, lock_timeout):
            state = store.read()
            heap.keep()
            created = state.serial == 0
            if created:
                # Persist lineage and workspace id before anything is journalled: they are
                # the ownership tag of every resource, and a crash must not make us forget
                # them.
                store.write(state)
            session = _session(ws, store, state, registry, locked=True, heap=heap)
            session.created = created
            heap.keep()
            try:
                yield session
            finally:
                # Writes cost what changed (journal entries); the snapshot is rewritten only
                # when the journal has grown, so a 1-change apply on a big state stays cheap.
                store.compact_if_needed(session.state)
    finally:
        heap.release()


def _session(
    ws: Workspace,
    store: StateStore,
    state: State,
    registry: Registry | None,
    *,
    locked: bool,
    heap: SessionHeap,
) -> Session:
    if not locked and state.serial == 0:
        state.lineage = ""  # no state yet: a plan saved now is for "the first state"
    graph = build_graph(ws)
    reg = registry or Registry.default(state_dir(ws.root))
    ctx = Context(
        workspace=ws,
        state_dir=state_dir(ws.root),
        workspace_id=state.workspace_id,
        sidecar=store.sidecar(),
        baseline_of=baselines_of(state),
    )
    return Session(ws, graph, store, state, reg, ctx, locked=locked, heap=heap)


def baselines_of(state: State) -> Callable[[GraphNode], BaselineRef | None]:
    """A gate's baseline from the digests `state` records now (read when the gate runs:
    its `promotes:` environments are updated only after it passed)."""

    def digest_of(address: str) -> str | None:
        res = state.resources.get(address)
        return res.digest if res is not None else None

    def of(node: GraphNode) -> BaselineRef | None:
        spec = node.spec.doc.spec
        if not isinstance(spec, QualityGateSpec):
            return None
        return resolve_baseline(node.address.name, spec, digest_of)

    return of


def recover_pending(s: Session) -> list[str]:
    """Resolve operations a crash interrupted before anything is planned."""
    if not s.locked:
        if not s.state.pending:
            return []
        return [
            f"{len(s.state.pending)} interrupted or running operation(s) "
            f"({', '.join(sorted(s.state.pending))}): the next locked plan or apply resolves them"
        ]
    notes = []
    dead = s.store.crashed_holder
    if dead:
        notes.append(
            f"a previous 'agentops {dead.get('command')}' (pid {dead.get('pid')}, "
            f"since {dead.get('since')}) did not finish; resolving what it left"
        )
    for address, pending in sorted(s.state.pending.items()):
        provider = s.registry.resource_by_name(pending.provider)
        prior = s.state.resources.get(address)
        res = provider.recover(pending, prior, s.ctx)
        if res is None:
            s.store.append(s.state, {"type": "forget", "address": address})
            notes.append(f"{address}: interrupted {pending.op} resolved (nothing exists)")
        else:
            s.store.append(s.state, {"type": "resource", "resource": res.model_dump(mode="json")})
            notes.append(f"{address}: interrupted {pending.op} resolved (adopted {res.digest})")
    return notes


def _digests(s: Session) -> dict[Address, str]:
    return {a: d.digest for a, d in s.desired.items()}


def prepare(s: Session, *, observe: bool = True) -> dict[str, Observed]:
    """Desired views, run inputs and observations for every node."""
    s.recovered = recover_pending(s)
    for node in s.graph:
        if node.kind in RESOURCE_KINDS:
            p = s.registry.resource_for(node, s.ws)
            s.providers[node.address] = p.name
            s.desired[node.address] = p.desired(node, s.ctx)
    digests = _digests(s)
    for node in s.graph:
        if node.kind in RUN_KINDS:
            # Inputs are provider-independent; the provider is needed only to run it.
            s.providers[node.address] = s.registry.route(node, s.ws)
            s.run_inputs[node.address] = run_inputs(node, s.ctx, digests)
    s.recovered += adopt_verdicts(s)
    observed: dict[str, Observed] = {}
    if observe:
        for address, res in s.state.resources.items():
            try:
                provider = s.registry.resource_by_name(res.provider)
            except UsageError:
                continue
            observed[address] = provider.observe(res, s.ctx)
    s.heap.keep()
    return observed


def adopt_verdicts(s: Session) -> list[str]:
    """Gates whose inputs a preview already judged and passed reuse that verdict.

    The verdict becomes the gate's run record (journalled under the lock, in memory only for
    a read-only plan), so the planner sees the gate up to date and promotion proceeds."""
    notes: list[str] = []
    sidecar = s.ctx.sidecar
    if sidecar is None:
        return notes
    for address, inputs in s.run_inputs.items():
        if address.kind != "QualityGate":
            continue
        last = s.state.runs.get(str(address))
        if last is not None and last.inputs_digest == inputs.digest:
            continue  # already judged on main (passed or failed): nothing to reuse
        key = verdict_key(s.graph.nodes[address], inputs.attrs)
        v = load_verdict(sidecar, key)
        if v is None or not v.passed:
            continue
        record = reused_record(str(address), inputs.digest, inputs.attrs, v)
        if s.locked:
            s.store.append(s.state, {"type": "run", "run": record.model_dump(mode="json")})
        else:
            s.state.runs[str(address)] = record
        notes.append(
            f"{address}: up to date: reused the passing verdict of preview {v.preview} "
            f"(digest {key}; no new run)"
        )
    return notes


def workspace_digest(s: Session) -> str:
    parts = {str(a): d.digest for a, d in s.desired.items()}
    parts.update({str(a): r.digest for a, r in s.run_inputs.items()})
    return sha256_hex(canonical_json(parts))[:16]


def make_plan(s: Session, opts: PlanOptions, observed: dict[str, Observed]) -> Plan:
    inp = PlanInput(
        graph=s.graph,
        state=s.state,
        desired=s.desired,
        run_inputs=s.run_inputs,
        observed=observed,
        providers=s.providers,
        workspace=s.ws,
    )
    opts = PlanOptions(**{**opts.__dict__, "workspace_digest": workspace_digest(s)})
    p = plan(inp, opts)
    p.warnings[:0] = s.recovered
    s.heap.keep()
    return p


def planned_envs(ws: Workspace, opts: PlanOptions) -> list[str]:
    """The environments a plan with `opts` looks at: `--env`, else the targets', else all."""
    if opts.envs:
        return sorted(opts.envs)
    if opts.targets and all(t.env for t in opts.targets):
        return sorted({t.env for t in opts.targets if t.env})
    return sorted(ws.environments)


def check_secrets(ws: Workspace, envs: Sequence[str]) -> None:
    """Plan's preflight: every secret reference of `envs` resolves, or WorkspaceInvalid.

    Runs before anything is observed, so a missing variable or SSM parameter is one clear
    error per spec field instead of a provider failure halfway through apply."""
    problems = check_secret_uses(ws, envs)
    if problems:
        raise WorkspaceInvalid(problems)


def check_fresh(s: Session, saved: Plan) -> None:
    """`apply PLANFILE` applies exactly that plan, and only if nothing moved on."""
    if saved.lineage == "" and saved.prior_serial == 0:
        # Planned (without the lock) before there was any state: only the run that creates
        # the first state may apply it.
        if not s.created:
            raise StalePlan(
                "the saved plan was made before the state existed, and another run has "
                f"created it since (serial {s.state.serial})",
                hint="run agentops plan --out again and review it",
            )
    elif saved.lineage != s.state.lineage:
        raise StalePlan(
            "the saved plan was made for a different state (lineage differs)",
            hint="run agentops plan again",
        )
    elif saved.prior_serial != s.state.serial:
        raise StalePlan(
            f"the state moved on since the plan was made (serial {saved.prior_serial} → "
            f"{s.state.serial})",
            hint="run agentops plan --out again and review it",
        )
    current = workspace_digest(s)
    if saved.workspace_digest != current:
        raise StalePlan(
            "the workspace changed since the plan was made",
            hint="run agentops plan --out again and review it",
        )


def apply(
    s: Session,
    p: Plan,
    *,
    parallelism: int = 4,
    on_event: EventSink = lambda _e, _c, _o: None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ApplyResult:
    nodes: dict[str, GraphNode] = {str(n.address): n for n in s.graph}
    s.ctx.cost_estimates = {c.address: c.cost.to_json() for c in p.changes if c.cost is not None}
    resource_providers: dict[str, ResourceProvider] = {}
    job_providers: dict[str, JobProvider] = {}
    for c in p.changes:
        if c.kind in RUN_KINDS:
            job_providers[c.provider] = s.registry.job_by_name(c.provider)
        else:
            resource_providers[c.provider] = s.registry.resource_by_name(c.provider)
    applier = Applier(
        p,
        nodes=nodes,
        desired={str(a): d for a, d in s.desired.items()},
        run_inputs={str(a): r for a, r in s.run_inputs.items()},
        resource_providers=resource_providers,
        job_providers=job_providers,
        store=s.store,
        state=s.state,
        ctx=s.ctx,
        parallelism=parallelism,
        on_event=on_event,
        should_stop=should_stop,
    )
    return applier.run()


def accept_refresh(s: Session, p: Plan, observed: dict[str, Observed]) -> list[str]:
    """`apply --refresh-only`: record what the refresh-only plan showed, in state alone.

    Nothing outside agentops is touched. A resource deleted outside agentops is forgotten; a
    drifted one keeps its record with the observation accepted (`private.refreshed`): the
    running digest and the outputs as observed, the drift as seen. The next refresh-only
    plan does not show it again; a normal plan still brings it back to the spec.
    """
    done = []
    for c in p.changes:
        prior = s.state.resources.get(c.address)
        seen = observed.get(c.address)
        if prior is None or seen is None:
            continue
        if not seen.exists:
            s.store.append(s.state, {"type": "forget", "address": c.address})
            done.append(f"{c.address}: forgotten ({seen.status})")
            continue
        record = {"at": now_iso(), "observed": refresh_record(seen)}
        res = prior.model_copy(
            update={
                "digest": seen.digest or prior.digest,
                "outputs": {**prior.outputs, **seen.outputs},
                "private": {**prior.private, REFRESHED: record},
            }
        )
        s.store.append(s.state, {"type": "resource", "resource": res.model_dump(mode="json")})
        done.append(f"{c.address}: observation recorded")
    return done


def import_resource(s: Session, address: Address, provider_id: str) -> ResourceState:
    """`import ADDRESS ID`: adopt an existing object as the declared resource ADDRESS.

    The provider observes it, refuses what another workspace owns, tags it as ours and
    returns its record; it is journalled like any applied change, so the next plan shows
    the update (or no-op) that brings it to the spec.
    """
    node = s.graph.nodes.get(address)
    if node is None or node.kind not in RESOURCE_KINDS:
        raise UsageError(
            f"{address} is not a declared resource",
            hint="declare it in a spec first (import adopts an object for a spec); "
            "see agentops graph",
        )
    provider = s.registry.resource_for(node, s.ws)
    adopt = getattr(provider, "adopt", None)
    if adopt is None:
        raise UsageError(
            f"import is not supported for {address} ({provider.name}): "
            f"{IMPORT_UNSUPPORTED.get(provider.name, 'this provider cannot adopt objects')}",
            hint="run agentops apply to create it",
        )
    if str(address) in s.state.resources:
        raise UsageError(
            f"{address} is already in the state",
            hint=f"run agentops state rm {address} first to adopt another object",
        )
    desired = s.desired.get(address) or provider.desired(node, s.ctx)
    res = adopt(node, desired, provider_id, s.ctx)
    assert isinstance(res, ResourceState)
    s.store.append(s.state, {"type": "resource", "resource": res.model_dump(mode="json")})
    return res


#: why a provider has no `adopt`
IMPORT_UNSUPPORTED = {
    "local-runtime": "a local agent is a process agentops starts itself",
    "local-store": "a local dataset lives in agentops' own store",
}


def load_plan_file(path: Path) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Plan.from_json(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"cannot read plan file {path}: {exc}", hint="create it with agentops plan --out FILE"
        ) from exc


def parse_targets(values: Sequence[str]) -> list[Address]:
    out = []
    for v in values:
        try:
            out.append(Address.parse(v))
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    return out


__all__ = ["STATE_DIRNAME", "Any", "ProviderError", "state_dir"]

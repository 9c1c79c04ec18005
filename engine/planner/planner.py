"""The planner: a pure function of (desired graph, state, observations) -> Plan.

It never calls a provider: `engine.reconcile` gathers desired views, run inputs and
observations first and hands them in, so the same inputs always give the same plan and
every case can be tested without I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.errors import UsageError
from engine.planner.budget import attach
from engine.planner.drift import drift_detail, drifted, refresh_changes
from engine.planner.plan import Action, Change, FieldDiff, Plan, Reason, ReasonEntry
from engine.planner.promotion import apply_gates
from engine.providers.base import Desired, Observed, RunInputs
from engine.spec.addresses import Address
from engine.spec.graph import DesiredGraph
from engine.spec.schema import RUN_KINDS
from engine.spec.workspace import Workspace
from engine.state.model import RunRecord, State

RESOURCE_KINDS = frozenset({"Agent", "Dataset", "EvaluationRule"})


@dataclass(frozen=True)
class PlanOptions:
    workspace_digest: str = ""
    prune: bool = False
    destroy: bool = False
    envs: Sequence[str] = ()
    targets: Sequence[Address] = ()
    force_runs: Sequence[Address] = ()
    #: `--replace ADDRESS`: replace these resources even when they are up to date
    replace: Sequence[Address] = ()
    #: `--refresh-only`: only what changed behind agentops' back, as state edits
    refresh_only: bool = False
    #: watch mode: a failed run is retried only when its inputs change
    retry_failed_runs: bool = True


@dataclass(frozen=True)
class PlanInput:
    graph: DesiredGraph
    state: State
    desired: Mapping[Address, Desired] = field(default_factory=dict)
    run_inputs: Mapping[Address, RunInputs] = field(default_factory=dict)
    #: observations of resources recorded in state, by address string
    observed: Mapping[str, Observed] = field(default_factory=dict)
    providers: Mapping[Address, str] = field(default_factory=dict)
    #: the specs, datasets and price tables the runs' cost is estimated from (None: the
    #: plan carries no estimate)
    workspace: Workspace | None = None


def select(graph: DesiredGraph, opts: PlanOptions) -> set[Address]:
    """Nodes in scope: everything, or the targets/environments plus their dependencies."""
    if not opts.targets and not opts.envs:
        return set(graph.nodes)
    picked = [
        a
        for a in graph.nodes
        if (not opts.targets or any(a.matches(t) for t in opts.targets))
        and (not opts.envs or a.env in opts.envs)
    ]
    if opts.targets and not picked:
        shown = ", ".join(str(t) for t in opts.targets)
        raise UsageError(
            f"no declared resource matches --target {shown}",
            hint="addresses look like agent.docs-assistant[prd]; see agentops graph",
        )
    return graph.closure(picked)


def diff_attrs(
    old: Mapping[str, object], new: Mapping[str, object], sensitive: frozenset[str]
) -> list[FieldDiff]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a != b:
            out.append(FieldDiff(key, a, b, key in sensitive))
    return out


def plan(inp: PlanInput, opts: PlanOptions) -> Plan:
    state = inp.state
    scope = select(inp.graph, opts)
    changes: list[Change] = []
    _check_replace(inp, scope, opts)
    if opts.destroy:
        changes = _destroy(inp, scope, opts)
    elif opts.refresh_only:
        changes = refresh_changes(inp.state, inp.observed, opts.envs, opts.targets)
    else:
        for node in inp.graph:
            if node.address not in scope or node.kind == "Environment":
                continue
            deps = [str(d) for d in node.depends_on if d.kind != "Environment" and d in scope]
            provider = inp.providers.get(node.address, "")
            if node.kind in RUN_KINDS:
                changes.append(_run_change(inp, node.address, deps, provider, opts))
            else:
                change = _resource_change(inp, node.address, deps, provider)
                if any(node.address.matches(t) for t in opts.replace):
                    _force_replace(change)
                changes.append(change)
        _apply_gates(inp, changes)
    plan_ = Plan(
        changes=changes,
        lineage=state.lineage,
        prior_serial=state.serial,
        workspace_digest=opts.workspace_digest,
        destroy=opts.destroy,
        prune=opts.prune,
        envs=list(opts.envs),
        targets=[str(t) for t in opts.targets],
        refresh_only=opts.refresh_only,
    )
    if not opts.destroy and not opts.refresh_only:
        _orphans(inp, plan_, opts)
        if inp.workspace is not None:
            plan_.budgets = attach(inp.workspace, state, changes)
    return plan_


def _resource_change(inp: PlanInput, addr: Address, deps: list[str], provider: str) -> Change:
    desired = inp.desired[addr]
    prior = inp.state.resources.get(str(addr))
    change = Change(
        str(addr), addr.kind, Action.NOOP, provider, depends_on=deps, digest=desired.digest
    )
    if prior is None:
        change.action = Action.CREATE
        change.reasons.append(ReasonEntry(Reason.NEW))
        change.field_diffs = diff_attrs({}, desired.attrs, desired.sensitive)
        return change
    change.prior_digest = prior.digest
    change.field_diffs = diff_attrs(prior.attrs, desired.attrs, desired.sensitive)
    observed = inp.observed.get(str(addr))
    if prior.status == "tainted":
        change.action = Action.REPLACE
        change.reasons.append(ReasonEntry(Reason.TAINTED, "a previous apply left it broken"))
        return change
    if observed is not None and not observed.exists:
        change.action = Action.CREATE
        change.reasons.append(ReasonEntry(Reason.DRIFTED, "deleted outside agentops"))
        return change
    if prior.digest != desired.digest:
        forced = {d.path for d in change.field_diffs} & desired.replace_on
        change.action = Action.REPLACE if forced else Action.UPDATE
        fields = ", ".join(d.path for d in change.field_diffs) or "content"
        change.reasons.append(ReasonEntry(Reason.SPEC_CHANGED, fields))
    if observed is not None and drifted(observed, prior):
        if change.action is Action.NOOP:
            change.action = Action.UPDATE
        change.reasons.append(ReasonEntry(Reason.DRIFTED, drift_detail(observed, prior)))
    return change


def _check_replace(inp: PlanInput, scope: set[Address], opts: PlanOptions) -> None:
    """Every `--replace` names a declared resource in scope (runs are forced with --force-run)."""
    if opts.destroy and opts.refresh_only:
        raise UsageError("--destroy and --refresh-only exclude each other")
    if opts.replace and (opts.destroy or opts.refresh_only):
        raise UsageError("--replace cannot be combined with a destroy or refresh-only plan")
    for pattern in opts.replace:
        if pattern.kind in RUN_KINDS:
            raise UsageError(
                f"--replace {pattern}: a {pattern.kind} is not a resource",
                hint=f"run it again with --force-run {pattern}",
            )
        if not any(a.matches(pattern) and a.kind in RESOURCE_KINDS for a in scope):
            raise UsageError(
                f"no declared resource matches --replace {pattern}",
                hint="addresses look like agent.docs-assistant[prd]; see agentops state list",
            )


def _force_replace(change: Change) -> None:
    """`--replace`: a recorded resource is deleted and created again, even when up to date."""
    if change.action is Action.CREATE:
        return  # nothing recorded (or it is gone): it is created anyway
    change.action = Action.REPLACE
    change.reasons.append(ReasonEntry(Reason.FORCED, "--replace"))


def _run_change(
    inp: PlanInput, addr: Address, deps: list[str], provider: str, opts: PlanOptions
) -> Change:
    inputs = inp.run_inputs[addr]
    last = inp.state.runs.get(str(addr))
    change = Change(
        str(addr), addr.kind, Action.NOOP, provider, depends_on=deps, digest=inputs.digest
    )
    if last is not None:
        change.prior_digest = last.inputs_digest
    if any(addr.matches(t) for t in opts.force_runs):
        change.action = Action.RUN
        change.reasons.append(ReasonEntry(Reason.FORCED))
    elif last is None:
        change.action = Action.RUN
        change.reasons.append(ReasonEntry(Reason.NEVER_RUN))
    elif last.inputs_digest != inputs.digest:
        change.action = Action.RUN
        old = last.summary.get("inputs", {}) if isinstance(last.summary, dict) else {}
        change.field_diffs = diff_attrs(old, inputs.attrs, frozenset())
        fields = ", ".join(d.path for d in change.field_diffs) or "inputs"
        change.reasons.append(ReasonEntry(Reason.INPUTS_CHANGED, fields))
    elif last.status == "failed" and opts.retry_failed_runs and _retryable(addr, last):
        change.action = Action.RUN
        change.reasons.append(ReasonEntry(Reason.LAST_RUN_FAILED, last.message or ""))
    return change


def _retryable(addr: Address, last: RunRecord) -> bool:
    """A failed run is run again, except a Monitor's verdict: with no new trace, running it
    again would judge the same window the same way. A Monitor that failed to record its
    results in Langfuse (`export_pending`) is retried: that was no verdict."""
    if addr.kind != "Monitor":
        return True
    return isinstance(last.summary, dict) and bool(last.summary.get("export_pending"))


def _apply_gates(inp: PlanInput, changes: list[Change]) -> None:
    """Agents in environments a gate promotes wait for a verdict covering their digest."""
    gates = {a: n.spec.doc.spec for a, n in inp.graph.nodes.items() if a.kind == "QualityGate"}
    calls = {a.name: n.spec.doc.spec.calls for a, n in inp.graph.nodes.items() if a.kind == "Agent"}
    digests = {a: d.digest for a, d in inp.desired.items()}
    apply_gates(gates, calls, inp.state, inp.run_inputs, digests, changes)


def _destroy(inp: PlanInput, scope: set[Address], opts: PlanOptions) -> list[Change]:
    order = [a for a in inp.graph.order if a.kind in RESOURCE_KINDS]
    declared = {str(a) for a in order}
    addrs = [str(a) for a in reversed(order) if a in scope and str(a) in inp.state.resources]
    # also resources in state that are no longer declared (destroy removes everything)
    if not opts.targets and not opts.envs:
        addrs += sorted(set(inp.state.resources) - declared)
    elif opts.envs:
        extra = [
            a
            for a in inp.state.resources
            if a not in declared and Address.parse(a).env in opts.envs
        ]
        addrs += sorted(extra)
    out = []
    callers = _callers(inp.state, addrs)
    for a in _delete_order(addrs, callers):
        prior = inp.state.resources[a]
        out.append(
            Change(
                a,
                prior.kind,
                Action.DELETE,
                prior.provider,
                reasons=[ReasonEntry(Reason.DESTROY)],
                prior_digest=prior.digest,
                depends_on=_delete_deps(a, callers),
            )
        )
    return out


#: (env, name) -> the addresses being deleted that call that name in that env, in order
Callers = Mapping[tuple[str | None, str], list[str]]


def _callers(state: State, deleting: Sequence[str]) -> Callers:
    """Who calls whom among the resources being deleted (from their recorded `calls`)."""
    out: dict[tuple[str | None, str], list[str]] = {}
    for other in deleting:
        env = Address.parse(other).env
        for name in dict.fromkeys(state.resources[other].attrs.get("calls", [])):
            out.setdefault((env, name), []).append(other)
    return out


def _delete_deps(address: str, callers: Callers) -> list[str]:
    """A callee is deleted after every caller that is being deleted too."""
    addr = Address.parse(address)
    return list(callers.get((addr.env, addr.name), []))


def _delete_order(addrs: Sequence[str], callers: Callers) -> list[str]:
    """`addrs` with every caller before its callees: each step takes the first address (in
    the given order) whose callers are all placed; a cycle in recorded state is deleted in
    the given order. Kahn's algorithm on a heap of positions: O(n log n + calls)."""
    position = {a: i for i, a in enumerate(addrs)}
    waiting = {a: 0 for a in addrs}
    waits_on: dict[str, list[str]] = {}
    for a in addrs:
        for caller in _delete_deps(a, callers):
            waiting[a] += 1
            if caller != a:  # one that calls itself waits forever: the cycle rule applies
                waits_on.setdefault(caller, []).append(a)
    ready = [position[a] for a in addrs if waiting[a] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        a = addrs[heapq.heappop(ready)]
        out.append(a)
        for callee in waits_on.get(a, ()):
            waiting[callee] -= 1
            if waiting[callee] == 0:
                heapq.heappush(ready, position[callee])
    if len(out) < len(addrs):
        placed = set(out)
        out.extend(a for a in addrs if a not in placed)
    return out


def _orphans(inp: PlanInput, plan_: Plan, opts: PlanOptions) -> None:
    declared = {str(a) for a in inp.graph.nodes}
    orphans = sorted(a for a in inp.state.resources if a not in declared)
    if opts.envs:
        orphans = [a for a in orphans if Address.parse(a).env in opts.envs]
    if opts.targets:
        orphans = [a for a in orphans if any(Address.parse(a).matches(t) for t in opts.targets)]
    if not orphans:
        return
    if not opts.prune:
        plan_.warnings.append(
            f"{len(orphans)} resource(s) in state are no longer declared: "
            f"{', '.join(orphans)} (run with --prune to delete them)"
        )
        return
    if not any(a.kind in RESOURCE_KINDS for a in inp.graph.nodes):
        raise UsageError(
            "--prune refuses to run: no resource is declared, so it would delete everything",
            hint="check that you are in the right workspace; use `agentops destroy` to "
            "remove everything on purpose",
        )
    callers = _callers(inp.state, orphans)
    for a in _delete_order(orphans, callers):
        prior = inp.state.resources[a]
        plan_.changes.append(
            Change(
                a,
                prior.kind,
                Action.DELETE,
                prior.provider,
                reasons=[ReasonEntry(Reason.ORPHANED, "no longer declared")],
                prior_digest=prior.digest,
                depends_on=_delete_deps(a, callers),
            )
        )

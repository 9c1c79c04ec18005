"""Promotion: an agent reaches an environment a gate promotes only with a covered digest.

Pipeline role: the planner's last pass over the changes (`planner.plan`). For every agent
that would be created, updated or replaced in an environment some QualityGate `promotes:`,
each gate that promotes it there and covers it (`engine.spec.coverage`: the gate's agent,
its callees, its `covers:`) must have a passing verdict whose covered digests are exactly
what that environment would receive: the agent's own digest and the digests of the agents it
calls there. Otherwise the change is BLOCKED, with the reason. An agent no gate covers is
blocked too: "prd is protected by a gate" holds for every agent in prd, or the plan says
which one it does not hold for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.planner.plan import Action, Change, Reason, ReasonEntry
from engine.providers.base import RunInputs
from engine.spec.addresses import Address
from engine.spec.coverage import call_closure, covered, input_digests, verdict_digests
from engine.spec.schema import QualityGateSpec
from engine.state.model import State

PROMOTED_ACTIONS = (Action.CREATE, Action.UPDATE, Action.REPLACE)


def apply_gates(
    gates: Mapping[Address, QualityGateSpec],
    calls: Mapping[str, Sequence[str]],
    state: State,
    run_inputs: Mapping[Address, RunInputs],
    desired_digests: Mapping[Address, str | None],
    changes: list[Change],
) -> None:
    """Block the changes of agents in promoted environments that no passing verdict covers."""
    by_addr = {c.address: c for c in changes}
    promoted = {
        env: sorted(a for a, g in gates.items() if env in g.promotes) for env in _envs(gates)
    }
    for change in changes:
        if change.kind != "Agent" or change.action not in PROMOTED_ACTIONS:
            continue
        addr = Address.parse(change.address)
        env = addr.env or ""
        if env not in promoted:
            continue
        mine = [g for g in promoted[env] if addr.name in covered(calls, gates[g])]
        if not mine:
            gated_by = ", ".join(str(g) for g in promoted[env])
            _block(
                change,
                None,
                f"{env} is promoted by {gated_by}; add {addr.name} to a gate's covers: "
                "or give it a QualityGate of its own",
                Reason.UNGATED,
            )
            continue
        needed = {addr.name: change.digest or ""}
        for callee in call_closure(calls, addr.name):
            needed[callee] = desired_digests.get(Address("Agent", callee, env)) or ""
        failing: list[tuple[Address, str, bool]] = []
        for gate in mine:
            verdict = _verdict(gate, gates[gate], state, run_inputs, by_addr, needed, change)
            if verdict is not None:
                failing.append((gate, *verdict))
        if failing:
            # Every covering gate must pass; a run of this apply unblocks it only when it is
            # the one gate missing (the applier checks that gate's verdict, and only it).
            gate, why, unblocks = next((f for f in failing if not f[2]), failing[0])
            if len(failing) > 1:
                why += f" (and {len(failing) - 1} more covering gate(s) must pass)"
            _block(change, str(gate), why, unblocks=unblocks and len(failing) == 1)
            continue
        breach = monitor_breach(state, addr.name, change.digest)
        if breach is not None:
            _block(
                change,
                breach[0],
                f"{breach[0]} breached on digest {change.digest} (onBreach: block): {breach[1]}",
            )


def _envs(gates: Mapping[Address, QualityGateSpec]) -> set[str]:
    return {env for g in gates.values() for env in g.promotes}


def _verdict(
    gate: Address,
    spec: QualityGateSpec,
    state: State,
    run_inputs: Mapping[Address, RunInputs],
    by_addr: Mapping[str, Change],
    needed: Mapping[str, str],
    change: Change,
) -> tuple[str, bool] | None:
    """None when the gate's last verdict passed exactly `needed` (the agent's digest and its
    callees' in the promoted environment); else (why it is blocked, whether a passing run of
    the gate in this apply unblocks it)."""
    env = Address.parse(change.address).env
    record = state.runs.get(str(gate))
    passed = (
        verdict_digests(record.summary, spec.agent)
        if record is not None and record.status == "succeeded"
        else {}
    )
    if all(passed.get(n) == d for n, d in needed.items()):
        return None
    inputs = run_inputs.get(gate)
    tested = input_digests(inputs.attrs, spec.agent) if inputs else {}
    for i, (name, digest) in enumerate(needed.items()):
        if tested.get(name) != digest:
            what = name if i == 0 else f"callee {name}"
            return (
                f"{gate} tests {what} digest {tested.get(name)} but {env} would receive "
                f"{digest} (does {env} resolve the model differently?)",
                False,
            )
    gate_change = by_addr.get(str(gate))
    if gate_change is not None and gate_change.action is Action.RUN:
        return f"{gate} runs first; {change.action.value} proceeds only if it passes", True
    why = record.message if record and record.message else "it has not passed"
    return f"{gate} did not pass {_digests(needed)}: {why}", False


def _digests(needed: Mapping[str, str]) -> str:
    (_, digest), *rest = needed.items()
    out = f"digest {digest}"
    if rest:
        out += " with " + ", ".join(f"{n} {d}" for n, d in rest)
    return out


def monitor_breach(state: State, agent: str, digest: str | None) -> tuple[str, str] | None:
    """(monitor, message) of a Monitor with `onBreach: block` whose last window breached on
    this agent digest: that digest is not promoted further until a window passes again."""
    for address, record in sorted(state.runs.items()):
        if record.kind != "Monitor" or record.status != "failed":
            continue
        summary = record.summary if isinstance(record.summary, dict) else {}
        window = summary.get("window") or {}
        if (
            summary.get("on_breach") == "block"
            and summary.get("agent") == agent
            and window.get("verdict") == "breached"
            and digest in (summary.get("digests") or [])
        ):
            return address, record.message or "breached"
    return None


def _block(
    change: Change,
    by: str | None,
    detail: str,
    code: Reason = Reason.GATE,
    *,
    unblocks: bool = False,
) -> None:
    change.then = change.action
    change.action = Action.BLOCKED
    change.blocked_by = by
    change.unblocks_if_gate_passes = unblocks
    change.reasons.append(ReasonEntry(code, detail))

"""Coverage: which agents a QualityGate's verdict covers, and the digests bound into it.

Pipeline role: shared by the graph (a covered agent in a promoted environment waits for the
gate), the run inputs (every covered digest is an input, so changing any of them re-runs the
gate), the evaluation provider (the run summary records them as `covered`), the planner and
the applier (an agent reaches a promoted environment only with a digest a passing verdict
covers) and `validate`. The rule, stated once (docs/evaluation.md, Promotion):

* a gate covers its `agent` and every agent that agent calls, transitively: the calls graph
  is one unit, because the evaluated agent answers through its callees; and
* the agents listed in `covers:` (and their callees): independent agents the gate vouches
  for by digest. The gate does not evaluate them; it binds their digests in the gate's
  environment into its verdict, so a change to any of them needs the gate to pass again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.spec.schema import QualityGateSpec

#: run-input keys holding a covered digest other than the evaluated agent's
CALLEE_KEY = "callee."
COVERS_KEY = "covers."


def call_closure(calls: Mapping[str, Sequence[str]], agent: str) -> list[str]:
    """Every agent `agent` calls, directly or through others, sorted (never `agent`)."""
    seen: set[str] = set()
    stack = list(calls.get(agent, ()))
    while stack:
        name = stack.pop()
        if name in seen or name == agent:
            continue
        seen.add(name)
        stack.extend(calls.get(name, ()))
    return sorted(seen)


def vouched(calls: Mapping[str, Sequence[str]], gate: QualityGateSpec) -> list[str]:
    """The agents of `covers:` and their callees that the evaluated unit does not hold."""
    unit = {gate.agent, *call_closure(calls, gate.agent)}
    out: set[str] = set()
    for name in gate.covers:
        out.update({name, *call_closure(calls, name)})
    return sorted(out - unit)


def covered(calls: Mapping[str, Sequence[str]], gate: QualityGateSpec) -> list[str]:
    """The gate's agent first, then its callees, then the vouched agents."""
    return [gate.agent, *call_closure(calls, gate.agent), *vouched(calls, gate)]


def verdict_digests(summary: Mapping[str, object], agent: str) -> dict[str, str]:
    """Agent name -> digest a gate's recorded run covers.

    `covered` is in every summary the evaluation provider writes; a record written before it
    existed still has its run inputs (`agent_digest`, `callee.<name>`), which say the same."""
    recorded = summary.get("covered")
    if isinstance(recorded, dict):
        return {str(k): str(v) for k, v in recorded.items()}
    out: dict[str, str] = {}
    if isinstance(summary.get("agent_digest"), str):
        out[agent] = str(summary["agent_digest"])
    inputs = summary.get("inputs")
    if isinstance(inputs, dict):
        out.update(_from_inputs(inputs))
    return out


def input_digests(attrs: Mapping[str, object], agent: str) -> dict[str, str]:
    """Agent name -> digest from a gate's run inputs (what a run now would cover)."""
    out = {agent: str(attrs["agent_digest"])} if attrs.get("agent_digest") else {}
    out.update(_from_inputs(attrs))
    return out


def _from_inputs(attrs: Mapping[str, object]) -> dict[str, str]:
    out = {}
    for key, value in attrs.items():
        for prefix in (CALLEE_KEY, COVERS_KEY):
            if key.startswith(prefix) and isinstance(value, str):
                out[key[len(prefix) :]] = value
    return out

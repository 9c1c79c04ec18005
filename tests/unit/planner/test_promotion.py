"""Promotion, pure: which agent changes in a promoted environment a gate's verdict lets through."""

from __future__ import annotations

from engine.planner.plan import Action, Change, Reason
from engine.planner.promotion import apply_gates
from engine.providers.base import RunInputs
from engine.spec.addresses import Address
from engine.spec.coverage import call_closure, covered, verdict_digests
from engine.spec.schema import QualityGateSpec
from engine.state.model import RunRecord, State

GATE = Address("QualityGate", "release", "tst")
CALLS = {"orchestrator": ["specialist"], "specialist": ["stats"], "stats": [], "docs": []}


def gate(agent: str = "orchestrator", covers: list[str] | None = None) -> QualityGateSpec:
    return QualityGateSpec.model_validate(
        {
            "agent": agent,
            "dataset": "d",
            "environment": "tst",
            "promotes": ["prd"],
            "covers": covers or [],
            "evaluators": [{"use": "facts"}],
        }
    )


def state(status: str = "succeeded", **covered_digests: str) -> State:
    record = RunRecord(
        address=str(GATE),
        kind="QualityGate",
        inputs_digest="i",
        status=status,  # type: ignore[arg-type]
        started_at="t",
        finished_at="t",
        summary={"covered": covered_digests},
        message=None if status == "succeeded" else "facts mean 0.2 < 0.5",
    )
    return State(runs={str(GATE): record})


def inputs(**digests: str) -> dict[Address, RunInputs]:
    main = digests.pop("orchestrator")
    attrs: dict[str, object] = {"agent_digest": main}
    attrs.update({f"callee.{k}": v for k, v in digests.items()})
    return {GATE: RunInputs(digest="i", attrs=attrs)}


def create(name: str, digest: str) -> Change:
    return Change(f"agent.{name}[prd]", "Agent", Action.CREATE, "local", digest=digest)


PRD = {
    Address("Agent", "orchestrator", "prd"): "o1",
    Address("Agent", "specialist", "prd"): "s1",
    Address("Agent", "stats", "prd"): "t1",
}
PASSED = {"orchestrator": "o1", "specialist": "s1", "stats": "t1"}


def plan(
    spec: QualityGateSpec, st: State, run: dict[Address, RunInputs], *changes: Change
) -> list[Change]:
    out = list(changes)
    apply_gates({GATE: spec}, CALLS, st, run, PRD, out)
    return out


def test_a_gate_covers_its_agent_and_every_agent_it_calls_transitively() -> None:
    assert call_closure(CALLS, "orchestrator") == ["specialist", "stats"]
    assert covered(CALLS, gate()) == ["orchestrator", "specialist", "stats"]
    assert covered(CALLS, gate(covers=["docs", "specialist"])) == [
        "orchestrator", "specialist", "stats", "docs",
    ]  # fmt: skip


def test_a_passing_verdict_of_every_covered_digest_lets_the_unit_through() -> None:
    changes = plan(
        gate(),
        state(**PASSED),
        inputs(**PASSED),
        create("orchestrator", "o1"),
        create("specialist", "s1"),
        create("stats", "t1"),
    )
    assert [c.action for c in changes] == [Action.CREATE] * 3


def test_a_changed_callee_blocks_the_caller_and_itself_until_the_gate_passes_again() -> None:
    # The verdict covered specialist s0; prd would receive s1 (the gate's inputs have s1 now).
    old = {**PASSED, "specialist": "s0"}
    caller, callee = plan(
        gate(),
        state(**old),
        inputs(**PASSED),
        create("orchestrator", "o1"),
        create("specialist", "s1"),
    )
    for c in (caller, callee):
        assert c.action is Action.BLOCKED and c.then is Action.CREATE
        assert c.blocked_by == str(GATE)
        assert not c.unblocks_if_gate_passes
    assert caller.reasons[-1].detail == (
        f"{GATE} did not pass digest o1 with specialist s1, stats t1: it has not passed"
    )
    assert (
        callee.reasons[-1].detail
        == f"{GATE} did not pass digest s1 with stats t1: it has not passed"
    )


def test_a_callee_digest_the_gate_does_not_test_can_never_unblock_the_caller() -> None:
    # tst resolves stats to another digest than prd: the gate cannot pass what prd receives
    (caller,) = plan(
        gate(),
        state(**{**PASSED, "stats": "t0"}),
        inputs(**{**PASSED, "stats": "t-tst"}),
        create("orchestrator", "o1"),
    )
    assert caller.action is Action.BLOCKED and not caller.unblocks_if_gate_passes
    assert caller.reasons[-1].detail == (
        f"{GATE} tests callee stats digest t-tst but prd would receive t1 "
        "(does prd resolve the model differently?)"
    )


def test_an_agent_no_gate_covers_is_blocked_with_the_reason() -> None:
    (docs,) = plan(gate(), state(**PASSED), inputs(**PASSED), create("docs", "d1"))
    assert docs.action is Action.BLOCKED and docs.blocked_by is None
    assert docs.reasons[-1].code is Reason.UNGATED
    assert docs.reasons[-1].text() == (
        f"no gate covers it: prd is promoted by {GATE}; add docs to a gate's covers: or give "
        "it a QualityGate of its own"
    )


def test_covers_vouches_for_an_independent_agent_by_digest() -> None:
    spec = gate(covers=["docs"])
    run = inputs(**PASSED)
    run[GATE].attrs["covers.docs"] = "d1"
    (ok,) = plan(spec, state(**PASSED, docs="d1"), run, create("docs", "d1"))
    assert ok.action is Action.CREATE
    (changed,) = plan(spec, state(**PASSED, docs="d0"), run, create("docs", "d1"))
    assert changed.action is Action.BLOCKED and changed.blocked_by == str(GATE)


def test_a_failed_verdict_blocks_with_its_message() -> None:
    (c,) = plan(gate(), state("failed", **PASSED), inputs(**PASSED), create("stats", "t1"))
    assert c.action is Action.BLOCKED
    assert c.reasons[-1].detail == f"{GATE} did not pass digest t1: facts mean 0.2 < 0.5"


def test_a_gate_run_in_this_plan_unblocks_the_change_if_it_passes() -> None:
    changes = [
        Change(str(GATE), "QualityGate", Action.RUN, "local-eval"),
        create("specialist", "s1"),
    ]
    apply_gates({GATE: gate()}, CALLS, State(), inputs(**PASSED), PRD, changes)
    assert changes[1].action is Action.BLOCKED and changes[1].unblocks_if_gate_passes
    assert changes[1].reasons[-1].detail == (
        f"{GATE} runs first; create proceeds only if it passes"
    )


def test_an_old_record_without_covered_reads_its_run_inputs() -> None:
    summary = {"agent_digest": "o1", "inputs": {"agent_digest": "o1", "callee.specialist": "s1"}}
    assert verdict_digests(summary, "orchestrator") == {"orchestrator": "o1", "specialist": "s1"}

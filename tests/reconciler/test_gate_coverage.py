"""Gate coverage end to end on fakes: plan -> apply -> plan, with the gate run in between."""

from __future__ import annotations

from pathlib import Path

from engine.planner.plan import Action
from engine.state.local import LocalStateStore
from engine.state.model import State
from tests.golden.test_golden_plans import GATE, FakeJobs, registry
from tests.reconciler.util import run_apply, run_plan, workspace


def state_of(root: Path) -> State:
    return LocalStateStore(root / ".agentops").read()


def gated(root: Path, *, chain: bool, extra: str = "") -> None:
    workspace(root, envs=("dev", "prd"), agents=2, chain=chain)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE + extra)


def test_a_passing_gate_promotes_its_agent_and_the_callee_in_one_apply(tmp_path: Path) -> None:
    gated(tmp_path, chain=True)
    reg = registry(tmp_path)
    _, result = run_apply(tmp_path, reg)
    done = {o.address: (o.action, o.status) for o in result.outcomes}
    # planned blocked on the gate that runs first; it passed, so both were created
    assert done["agent.a-0[prd]"] == (Action.BLOCKED, "ok")
    assert done["agent.a-1[prd]"] == (Action.BLOCKED, "ok")
    state = state_of(tmp_path)
    assert {"agent.a-0[prd]", "agent.a-1[prd]"} <= set(state.resources)
    summary = state.runs["qualitygate.release[dev]"].summary
    assert set(summary["inputs"]) >= {"agent_digest", "callee.a-1"}
    assert not run_plan(tmp_path, reg).actionable


def test_covers_promotes_the_vouched_agent_with_the_gate(tmp_path: Path) -> None:
    gated(tmp_path, chain=False, extra="  covers: [a-1]\n")
    reg = registry(tmp_path)
    _, result = run_apply(tmp_path, reg)
    assert {o.address: o.status for o in result.outcomes}["agent.a-1[prd]"] == "ok"
    assert not run_plan(tmp_path, reg).actionable


def test_an_uncovered_agent_stays_out_of_prd_and_apply_says_why(tmp_path: Path) -> None:
    gated(tmp_path, chain=False)
    reg = registry(tmp_path)
    _, result = run_apply(tmp_path, reg)
    out = {o.address: o for o in result.outcomes}
    assert out["agent.a-0[prd]"].status == "ok"
    assert out["agent.a-1[prd]"].status == "skipped"
    assert out["agent.a-1[prd]"].message == (
        "blocked: no QualityGate covers agent.a-1[prd] - it keeps its current version"
    )
    assert not result.ok


def test_a_failing_gate_keeps_the_callee_out_of_prd(tmp_path: Path) -> None:
    gated(tmp_path, chain=True)
    _, result = run_apply(tmp_path, registry(tmp_path, FakeJobs("failed")))
    out = {o.address: o.status for o in result.outcomes}
    assert out["agent.a-0[prd]"] == "skipped" and out["agent.a-1[prd]"] == "skipped"

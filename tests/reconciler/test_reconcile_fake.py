"""plan -> apply -> plan on the fake provider: convergence, updates, drift, prune, targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import PermanentError, UsageError
from engine.planner.plan import Action
from engine.providers.fake import FakeCall
from engine.spec.addresses import Address
from tests.reconciler.util import fake_registry, run_apply, run_plan, workspace, write


def actions(plan) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {c.address: c.action.value for c in plan.changes}


def test_apply_then_plan_has_no_changes(tmp_path: Path) -> None:
    workspace(tmp_path, envs=("dev", "prd"))
    reg, fake = fake_registry(tmp_path)
    plan, result = run_apply(tmp_path, reg)
    assert result.ok
    assert set(actions(plan).values()) == {"create"}
    assert len(fake.world()) == 6  # 2 agents + 1 dataset, in 2 environments
    again = run_plan(tmp_path, reg)
    assert not again.has_changes
    assert set(actions(again).values()) == {"no-op"}


def test_callee_is_created_before_caller(tmp_path: Path) -> None:
    workspace(tmp_path, agents=3)
    reg, fake = fake_registry(tmp_path)
    run_apply(tmp_path, reg, parallelism=8)
    creates = [c.address for c in fake.calls if c.op == "create"]
    assert (
        creates.index("agent.a-2[dev]")
        < creates.index("agent.a-1[dev]")
        < creates.index("agent.a-0[dev]")
    )


def test_changed_spec_gives_exactly_the_expected_update(tmp_path: Path) -> None:
    workspace(tmp_path)
    reg, _ = fake_registry(tmp_path)
    run_apply(tmp_path, reg)
    workspace(tmp_path, prompt="changed")
    plan = run_plan(tmp_path, reg)
    changed = {a: v for a, v in actions(plan).items() if v != "no-op"}
    assert changed == {"agent.a-0[dev]": "update", "agent.a-1[dev]": "update"}
    by = {c.address: c for c in plan.changes}
    diffs = {d.path: (d.old, d.new) for d in by["agent.a-0[dev]"].field_diffs}
    assert diffs == {"system_prompt": ("hello", "changed")}
    reason = by["agent.a-0[dev]"].reasons[0]
    assert (reason.code.value, reason.detail) == ("spec changed", "system_prompt")


def test_drift_is_shown_and_healed(tmp_path: Path) -> None:
    workspace(tmp_path)
    reg, fake = fake_registry(tmp_path)
    run_apply(tmp_path, reg)
    world = fake.world()
    victim = next(r for r, v in world.items() if v["tags"]["address"] == "agent.a-1[dev]")
    world[victim]["digest"] = "tampered"
    gone = next(r for r, v in world.items() if v["tags"]["address"] == "dataset.d-0[dev]")
    del world[gone]
    (tmp_path / "world.json").write_text(json.dumps(world))
    plan = run_plan(tmp_path, reg)
    by = {c.address: c for c in plan.changes}
    assert by["agent.a-1[dev]"].action is Action.UPDATE
    assert by["agent.a-1[dev]"].reasons[0].code.value == "drifted"
    assert by["dataset.d-0[dev]"].action is Action.CREATE
    assert "deleted outside agentops" in by["dataset.d-0[dev]"].reasons[0].detail
    _, result = run_apply(tmp_path, reg)
    assert result.ok
    assert not run_plan(tmp_path, reg).has_changes


def test_failure_skips_dependents_and_finishes_the_rest(tmp_path: Path) -> None:
    workspace(tmp_path, agents=3, datasets=2)

    def handler(call: FakeCall) -> None:
        if call.op == "create" and call.address == "agent.a-2[dev]":
            raise PermanentError("quota exceeded for agents")

    reg, fake = fake_registry(tmp_path, handler)
    _, result = run_apply(tmp_path, reg)
    by = {o.address: o for o in result.outcomes}
    assert by["agent.a-2[dev]"].status == "failed"
    assert "quota exceeded" in by["agent.a-2[dev]"].message
    assert by["agent.a-1[dev]"].status == "skipped"
    assert by["agent.a-1[dev]"].message == "upstream failed: agent.a-2[dev]"
    assert by["agent.a-0[dev]"].message == "upstream failed: agent.a-2[dev]"  # root only
    assert by["dataset.d-0[dev]"].status == "ok" and by["dataset.d-1[dev]"].status == "ok"
    assert not result.ok
    # the failure left no pending operation: the next plan simply retries the create
    reg2, _ = fake_registry(tmp_path)
    plan = run_plan(tmp_path, reg2)
    assert actions(plan)["agent.a-2[dev]"] == "create"


def test_orphans_are_deleted_only_with_prune(tmp_path: Path) -> None:
    workspace(tmp_path, agents=2, chain=False)
    reg, fake = fake_registry(tmp_path)
    run_apply(tmp_path, reg)
    workspace(tmp_path, agents=1, chain=False)
    plan = run_plan(tmp_path, reg)
    assert "agent.a-1[dev]" not in actions(plan)
    assert any("--prune" in w and "agent.a-1[dev]" in w for w in plan.warnings)
    plan, result = run_apply(tmp_path, reg, prune=True)
    assert actions(plan)["agent.a-1[dev]"] == "delete"
    assert plan.changes[-1].reasons[0].code.value == "orphaned"
    assert result.ok
    assert all(v["tags"]["address"] != "agent.a-1[dev]" for v in fake.world().values())


def test_prune_refuses_when_nothing_would_remain(tmp_path: Path) -> None:
    workspace(tmp_path, agents=1, datasets=0, chain=False)
    reg, _ = fake_registry(tmp_path)
    run_apply(tmp_path, reg)
    write(tmp_path, "specs/all.yaml", "")
    with pytest.raises(UsageError, match="--prune refuses"):
        run_plan(tmp_path, reg, prune=True)


def test_target_and_env_narrow_with_dependencies(tmp_path: Path) -> None:
    workspace(tmp_path, envs=("dev", "prd"), agents=3)
    reg, _ = fake_registry(tmp_path)
    plan = run_plan(tmp_path, reg, targets=(Address.parse("agent.a-1[prd]"),))
    assert set(actions(plan)) == {"agent.a-1[prd]", "agent.a-2[prd]"}
    plan = run_plan(tmp_path, reg, envs=("dev",))
    assert {Address.parse(a).env for a in actions(plan)} == {"dev"}
    with pytest.raises(UsageError, match="no declared resource matches"):
        run_plan(tmp_path, reg, targets=(Address.parse("agent.nope"),))


def test_destroy_deletes_callers_before_callees(tmp_path: Path) -> None:
    workspace(tmp_path, agents=3)
    reg, fake = fake_registry(tmp_path)
    run_apply(tmp_path, reg)
    fake.calls.clear()
    plan, result = run_apply(
        tmp_path,
        reg,
        destroy=True,
    )
    assert result.ok
    deletes = [c.address for c in fake.calls if c.op == "delete"]
    assert (
        deletes.index("agent.a-0[dev]")
        < deletes.index("agent.a-1[dev]")
        < deletes.index("agent.a-2[dev]")
    )
    assert fake.world() == {}

"""One watch cycle on the fake provider: apply, back-off, broken saves, prune, gates, stop."""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import PermanentError, TemporaryError
from engine.providers.fake import FakeCall
from engine.state.local import LocalStateStore
from tests.reconciler.util import workspace, write
from tests.watch.cycle_util import GATE, rig

A0, A1, D0, D1 = "agent.a-0[dev]", "agent.a-1[dev]", "dataset.d-0[dev]", "dataset.d-1[dev]"


def world_addresses(root: Path) -> set[str]:
    world = json.loads((root / "world.json").read_text())
    return {r["tags"]["address"] for r in world.values()}


def test_changes_are_applied_and_a_converged_cycle_does_nothing(tmp_path: Path) -> None:
    workspace(tmp_path)
    r = rig(tmp_path)
    first = r.run("start")
    assert first["result"] == "ok" and first["applied"] == {"ok": 3}
    assert world_addresses(tmp_path) == {A0, A1, D0}
    workspace(tmp_path, items=3)  # a dataset item added
    again = r.run()
    assert again["changes"] == {"update": 1}
    assert r.ops("update") == [("update", D0)]
    assert r.run("resync")["changes"] == 0


def test_a_failing_resource_backs_off_with_its_dependents_and_recovers(tmp_path: Path) -> None:
    workspace(tmp_path)  # a-0 calls a-1
    broken = {"on": True}

    def handler(call: FakeCall) -> None:
        if broken["on"] and call.op == "create" and call.address == A1:
            raise TemporaryError("throttled", delay=0.5)

    r = rig(tmp_path, handler=handler)
    r.run("start")
    entry = r.cycle.backoff.get(A1)
    assert entry is not None and entry.failures == 1 and entry.until == 1.0  # 1 s > 0.5 s
    # Within the back-off, neither a-1 nor its caller a-0 is attempted, however often we look.
    r.fake.calls.clear()
    for _ in range(5):
        assert r.run("change")["deferred"] == [A1, A0]
    assert r.ops("create", "update") == []
    # Its time has come, still broken: the delay doubles.
    r.clock.advance(1.0)
    r.run("retry")
    assert r.cycle.backoff.get(A1).failures == 2  # type: ignore[union-attr]
    assert r.cycle.backoff.get(A1).until == 3.0  # type: ignore[union-attr]
    # Fixed: the retry succeeds, the entry is gone, the caller follows.
    broken["on"] = False
    r.clock.advance(2.0)
    out = r.run("retry")
    assert out["result"] == "ok" and r.cycle.backoff.entries == {}
    assert world_addresses(tmp_path) == {A0, A1, D0}
    assert any(e["address"] == A1 for e in r.log.named("backoff.cleared"))


def test_a_permanent_error_backs_off_too_and_a_spec_change_retries_at_once(
    tmp_path: Path,
) -> None:
    workspace(tmp_path, agents=1)

    def handler(call: FakeCall) -> None:
        if call.op == "create" and call.address == A0:
            raise PermanentError("bad config")

    r = rig(tmp_path, handler=handler)
    assert r.run("start")["result"] == "failed"
    assert r.cycle.backoff.get(A0) is not None
    r.fake.calls.clear()
    assert r.run()["deferred"] == [A0]
    workspace(tmp_path, agents=1, prompt="fixed")  # the user's fix: a new digest
    r.run()
    assert r.ops("create") == [("create", A0)]
    assert any(e["address"] == A0 for e in r.log.named("backoff.lifted"))


def test_an_observation_failure_backs_off_that_resource_only(tmp_path: Path) -> None:
    workspace(tmp_path, agents=2, chain=False)
    fail = {"on": False}

    def handler(call: FakeCall) -> None:
        if fail["on"] and call.op == "observe" and call.address == A1:
            raise TemporaryError("endpoint unreachable")

    r = rig(tmp_path, handler=handler)
    r.run("start")
    fail["on"] = True
    workspace(tmp_path, agents=2, chain=False, prompt="v2")
    out = r.run()
    assert out["result"] == "ok" and out["deferred"] == [A1]
    assert r.ops("update") == [("update", A0)]
    assert r.cycle.backoff.get(A1) is not None
    observes = len(r.ops("observe"))
    r.run("resync")  # a resource in back-off is not even observed
    assert [c for c in r.ops("observe")[observes:] if c[1] == A1] == []


def test_a_broken_save_keeps_the_last_valid_state_and_deletes_nothing(tmp_path: Path) -> None:
    workspace(tmp_path, datasets=2)
    r = rig(tmp_path, prune=True)
    r.run("start")
    before = json.loads((tmp_path / "world.json").read_text())
    # Broken YAML in the file that declares everything, plus a valid-looking change elsewhere.
    write(tmp_path, "specs/all.yaml", "apiVersion: agentops/v1\nkind: Dataset\nspec: [\n")
    r.fake.calls.clear()
    out = r.run()
    assert out["result"] == "invalid" and out["errors"] >= 1
    assert all(line.startswith("specs/all.yaml:") for line in out["diagnostics"])
    assert r.cycle.report.diagnostics == out["diagnostics"]
    assert r.ops("create", "update", "delete") == []
    # A resync while broken heals drift towards the last valid state, and deletes nothing.
    world = json.loads((tmp_path / "world.json").read_text())
    victim = next(k for k, v in world.items() if v["tags"]["address"] == D1)
    del world[victim]
    (tmp_path / "world.json").write_text(json.dumps(world))
    healed = r.run("resync")
    assert healed["result"] == "invalid" and healed["diagnostics"] == "unchanged"
    # (the applier re-creates a vanished resource through `update`, with its prior record)
    assert r.ops("create", "update", "delete") == [("update", D1)]
    assert r.log.named("action")[-1]["reasons"] == ["drifted: deleted outside agentops"]
    assert world_addresses(tmp_path) == {v["tags"]["address"] for v in before.values()}
    # Fixed, without d-1: now (with --prune) it goes, because the user really removed it -
    # once it has stayed undeclared for the prune grace.
    workspace(tmp_path, datasets=1)
    assert r.run()["prune_waiting"] == {D1: 30.0}
    assert r.ops("delete") == []
    assert r.cycle.report.diagnostics == []
    r.clock.advance(30.0)
    assert r.run("resync")["result"] == "ok"
    assert r.ops("delete") == [("delete", D1)]


def test_prune_waits_for_the_grace_and_a_file_back_in_time_deletes_nothing(
    tmp_path: Path,
) -> None:
    workspace(tmp_path, datasets=2)
    r = rig(tmp_path, prune=True, prune_grace=30.0)
    r.run("start")
    workspace(tmp_path, datasets=1)  # d-1 vanishes (a git checkout half-way) ...
    out = r.run()
    assert out["prune_waiting"] == {D1: 30.0} and out["changes"] == 0
    # ... the loop is woken when its grace ends, not only at the next resync
    r.clock.advance(10.0)
    assert r.cycle.reconcile("retry", []) == 30.0
    assert r.log.named("reconcile")[-1]["prune_waiting"] == {D1: 20.0}
    workspace(tmp_path, datasets=2)  # ... and is back: its timer is forgotten
    r.clock.advance(25.0)
    assert "prune_waiting" not in r.run()
    workspace(tmp_path, datasets=1)  # gone again: a new grace from now, not from the first time
    r.clock.advance(1.0)
    assert r.run()["prune_waiting"] == {D1: 30.0}
    r.clock.advance(29.0)
    assert r.run("resync")["prune_waiting"] == {D1: 1.0}
    assert r.ops("delete") == []
    r.clock.advance(1.0)
    assert r.cycle.reconcile("retry", []) is None  # nothing waits any more
    assert r.ops("delete") == [("delete", D1)]
    assert D1 not in world_addresses(tmp_path)


def test_a_broken_workspace_when_the_grace_ends_deletes_nothing(tmp_path: Path) -> None:
    workspace(tmp_path, datasets=2)
    r = rig(tmp_path, prune=True, prune_grace=30.0)
    r.run("start")
    workspace(tmp_path, datasets=1)
    assert D1 in r.run()["prune_waiting"]
    write(tmp_path, "specs/broken.yaml", "kind: [\n")  # the checkout is half-way
    r.clock.advance(31.0)
    assert r.run("retry")["result"] == "invalid"
    assert r.ops("delete") == []  # only once the workspace parses completely again
    (tmp_path / "specs/broken.yaml").unlink()
    assert r.run()["result"] == "ok"
    assert r.ops("delete") == [("delete", D1)]


def test_a_zero_grace_prunes_at_once(tmp_path: Path) -> None:
    workspace(tmp_path, datasets=2)
    r = rig(tmp_path, prune=True, prune_grace=0.0)
    r.run("start")
    workspace(tmp_path, datasets=1)
    assert "prune_waiting" not in r.run()
    assert r.ops("delete") == [("delete", D1)]


def test_a_resync_while_broken_changes_nothing_but_drift(tmp_path: Path) -> None:
    workspace(tmp_path, agents=1)
    r = rig(tmp_path)
    r.run("start")
    workspace(tmp_path, agents=1, prompt="new")  # a real change...
    write(tmp_path, "specs/broken.yaml", "kind: [\n")  # ...saved along with a broken file
    r.fake.calls.clear()
    assert r.run("resync")["result"] == "invalid"
    assert r.ops("create", "update", "delete") == []  # the new prompt waits for validity


def test_the_snapshot_keeps_prompt_files_in_memory(tmp_path: Path) -> None:
    workspace(tmp_path, agents=1)
    write(tmp_path, "prompts/p.md", "You answer questions.")
    spec = (tmp_path / "specs/all.yaml").read_text()
    write(
        tmp_path,
        "specs/all.yaml",
        spec.replace("systemPrompt: hello", "systemPromptFile: prompts/p.md"),
    )
    r = rig(tmp_path)
    assert r.run("start")["result"] == "ok"
    (tmp_path / "prompts/p.md").unlink()  # now invalid: the file does not exist
    snap = r.cycle.snapshot
    assert snap is not None
    pinned = snap.ws.agents["a-0"].doc.spec
    assert (pinned.system_prompt, pinned.system_prompt_file) == ("You answer questions.", None)
    world = json.loads((tmp_path / "world.json").read_text())
    (tmp_path / "world.json").write_text("{}")  # the agent vanished
    assert r.run("resync")["result"] == "invalid"
    assert world_addresses(tmp_path) == {v["tags"]["address"] for v in world.values()}


def test_prune_never_deletes_when_nothing_is_declared(tmp_path: Path) -> None:
    workspace(tmp_path)
    r = rig(tmp_path, prune=True)
    r.run("start")
    (tmp_path / "specs/all.yaml").unlink()  # only environments remain: valid, but empty
    out = r.run()
    assert "skipped" in out["prune"]
    assert r.ops("delete") == []
    assert world_addresses(tmp_path) == {A0, A1, D0}


def test_a_failed_gate_is_not_retried_until_its_inputs_change(tmp_path: Path) -> None:
    workspace(tmp_path)
    write(tmp_path, "specs/gate.yaml", GATE)
    r = rig(tmp_path)
    out = r.run("start")
    assert r.gate.runs == 1 and out["result"] == "failed"
    assert r.cycle.backoff.entries == {}  # a verdict, not an error: no back-off
    assert r.cycle.report.last_errors[-1]["address"] == "qualitygate.release[dev]"
    for trigger in ("resync", "change", "retry"):
        r.clock.advance(100.0)
        r.run(trigger)
    assert r.gate.runs == 1
    workspace(tmp_path, items=3)  # the dataset changed: the gate's inputs changed
    r.gate.status = "succeeded"
    assert r.run()["result"] == "ok"
    assert r.gate.runs == 2


def test_a_locked_state_backs_off_the_cycle_and_never_raises(tmp_path: Path) -> None:
    workspace(tmp_path)
    r = rig(tmp_path)
    holder = LocalStateStore(tmp_path / ".agentops")
    holder.acquire("apply")
    try:
        wake = r.cycle.reconcile("start", [])
        assert r.log.named("reconcile")[-1]["result"] == "locked"
        assert wake == 1.0  # the workspace-level retry
    finally:
        holder.release()
    r.clock.advance(1.0)
    assert r.run("retry")["result"] == "ok"
    assert r.cycle.backoff.entries == {}


def test_stopping_finishes_the_current_action_and_starts_no_other(tmp_path: Path) -> None:
    workspace(tmp_path, agents=3, chain=False)
    r = rig(tmp_path)

    def handler(call: FakeCall) -> None:
        if call.op == "create":
            r.stop[0] = True  # SIGTERM arrives during the first create

    r.fake.handler = handler
    out = r.run("start")
    assert out["result"] == "interrupted"
    assert len(r.ops("create")) == 1
    assert out["applied"] == {"ok": 1, "skipped": 3}
    state = LocalStateStore(tmp_path / ".agentops").read()
    assert len(state.resources) == 1  # the finished action is in state

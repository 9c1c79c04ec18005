"""`agentops watch` as a real process on a real directory: saves, broken YAML, bursts, signals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from engine.providers.local.runtime import owned_processes
from engine.state.local import LocalStateStore, pid_alive
from engine.status import collect_status, render_status
from tests.watch.fs_util import (
    AGENT,
    AGENTOPS,
    REPO,
    dataset_workspace,
    items,
    save,
    stored_answers,
    wait_for,
    watching,
)

pytestmark = pytest.mark.slow


def test_a_saved_change_is_applied_and_plan_and_status_work_meanwhile(tmp_path: Path) -> None:
    root = dataset_workspace(tmp_path / "ws", "first")
    with watching(root, "--debounce", "100") as w:
        assert stored_answers(root) == ["first"]
        save(root / "data.json", items("second"))
        wait_for(lambda: stored_answers(root) == ["second"], what="the dataset change")
        change = wait_for(lambda: [e for e in w.events("reconcile") if e["trigger"] == "change"])
        assert change[0]["changed"] == ["data.json"] and change[0]["result"] == "ok"
        actions = w.events("action")
        assert actions[-1]["address"] == "dataset.golden[dev]"
        assert actions[-1]["reasons"] == ["spec changed: content"]
        # The lock is held only while reconciling: plan and status work between cycles.
        wait_for(lambda: w.report()["state"] == "idle")
        # (a lock timeout only so that a resync starting right now cannot make this flaky)
        plan = subprocess.run(
            [AGENTOPS, "plan", "-C", str(root), "--lock-timeout", "10"],
            capture_output=True,
            text=True,
        )
        assert plan.returncode == 0, plan.stderr
        status = render_status(collect_status(root))  # what `agentops status` prints
        assert "Watcher: running, idle" in status
        assert "last reconcile" in status and "next resync" in status
        assert w.stop() == 0
    report = json.loads((root / ".agentops/watch.json").read_text())
    assert report["state"] == "stopped" and report["last_reconcile"]["result"] == "ok"
    assert not LocalStateStore(root / ".agentops").holder()  # the lock was released


def test_broken_yaml_is_reported_nothing_is_destroyed_and_a_fix_converges(tmp_path: Path) -> None:
    root = dataset_workspace(tmp_path / "ws", "first")
    spec = (root / "specs/dataset.yaml").read_text()
    with watching(root, "--debounce", "100", "--prune") as w:
        save(root / "specs/dataset.yaml", spec + "  bogus: [\n")
        bad = wait_for(lambda: [e for e in w.events("reconcile") if e["result"] == "invalid"])
        expected = subprocess.run(
            [AGENTOPS, "validate", "-C", str(root)], capture_output=True, text=True
        ).stderr.splitlines()[:-1]  # validate's last line is the count
        assert bad[0]["diagnostics"] == expected
        assert expected[0].startswith("specs/dataset.yaml:7:")
        assert stored_answers(root) == ["first"]  # nothing destroyed, even with --prune
        assert "dataset.golden[dev]" in LocalStateStore(root / ".agentops").read().resources
        assert w.report()["diagnostics"] == expected
        save(root / "data.json", items("changed while broken"))  # waits for a valid workspace
        save(root / "specs/dataset.yaml", spec)  # the fix
        wait_for(lambda: stored_answers(root) == ["changed while broken"], what="convergence")
        wait_for(lambda: w.report()["diagnostics"] == [])
        assert w.stop() == 0


def test_a_burst_of_saves_is_a_few_reconciles_last_wins_sigint_stops(tmp_path: Path) -> None:
    root = dataset_workspace(tmp_path / "ws", "v0")
    with watching(root, "--debounce", "200") as w:
        before = len(w.events("reconcile"))
        for i in range(250):
            save(root / "data.json", items(f"v{i}", f"w{i}"))
        wait_for(lambda: stored_answers(root) == ["v249", "w249"], what="the last save")
        wait_for(lambda: w.report()["state"] == "idle")
        time.sleep(0.5)  # a straggling follow-up would show up within this (debounce 0.2 s)
        burst = w.events("reconcile")[before:]
        assert 1 <= len(burst) <= 3, burst
        assert stored_answers(root) == ["v249", "w249"]
        w.proc.send_signal(signal.SIGINT)  # Ctrl-C stops as cleanly as SIGTERM
        assert w.proc.wait(timeout=30) == 0
    assert json.loads((root / ".agentops/watch.json").read_text())["state"] == "stopped"
    assert w.events("watch.stopped")


def test_a_killed_local_agent_is_healed_at_the_next_resync(tmp_path: Path) -> None:
    root = dataset_workspace(tmp_path / "ws")
    shutil.copytree(REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    save(root / "specs/agent.yaml", AGENT)
    store = LocalStateStore(root / ".agentops")
    address = "agent.specialist[dev]"
    try:
        with watching(root, "--resync", "1") as w:
            first = store.read().resources[address].private["process"]["pid"]
            assert pid_alive(first)
            os.killpg(first, signal.SIGKILL)
            killed_at = time.monotonic()
            new = wait_for(
                lambda: (
                    (p := store.read().resources[address].private["process"]["pid"]) != first and p
                ),
                timeout=60,
                what="the agent to be restarted",
            )
            healed_in = time.monotonic() - killed_at
            print(f"killed -> healed in {healed_in:.2f}s")
            assert pid_alive(new)
            # The state is written before the action is logged: wait for the log line too.
            heal = wait_for(
                lambda: [e for e in w.events("action") if e["address"] == address][1:],
                timeout=10,
                what="the heal to be logged",
            )[-1]
            assert heal["reasons"] == ["drifted: deleted outside agentops"]
            assert healed_in < 1.1 + 10  # the resync (<= 1.1 s) plus an agent start
            assert w.stop() == 0
    finally:  # every agent process this workspace started, whatever happened above
        for pids in owned_processes(store.read().workspace_id).values():
            for pid in pids:
                os.killpg(pid, signal.SIGKILL)


def test_sigterm_during_an_action_lets_it_finish_and_saves_state(tmp_path: Path) -> None:
    root = dataset_workspace(tmp_path / "ws")
    shutil.copytree(REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    save(root / "specs/agent.yaml", AGENT)
    store = LocalStateStore(root / ".agentops")
    log = tmp_path / "watch.log"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    try:
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [AGENTOPS, "watch", "-C", str(root), "--log-format", "json"], stderr=fh, env=env
            )
        # The agent's process is being started (its log exists) but is not healthy yet.
        wait_for(lambda: (root / ".agentops/logs/dev/specialist.log").exists(), 60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        resource = store.read().resources["agent.specialist[dev]"]  # the action finished
        assert pid_alive(resource.private["process"]["pid"])
        assert not store.read().pending and not store.holder()
        assert json.loads((root / ".agentops/watch.json").read_text())["state"] == "stopped"
    finally:
        for pids in owned_processes(store.read().workspace_id).values():
            for pid in pids:
                os.killpg(pid, signal.SIGKILL)


def test_a_git_checkout_under_prune_deletes_nothing(tmp_path: Path) -> None:
    """The agent's spec file vanishes for a real `git checkout` and comes back with the next:
    within the prune grace, so the agent keeps running (same process, no downtime)."""
    root = dataset_workspace(tmp_path / "ws", "first")
    shutil.copytree(REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    save(root / "specs/agent.yaml", AGENT)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=root,
            check=True,
            capture_output=True,
        )

    (root / ".gitignore").write_text(".agentops/\n")
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-qm", "both")
    git("checkout", "-q", "-b", "docs-only")
    git("rm", "-q", "specs/agent.yaml")
    git("commit", "-qm", "no agent")
    git("checkout", "-q", "main")
    store = LocalStateStore(root / ".agentops")
    address = "agent.specialist[dev]"
    try:
        with watching(root, "--debounce", "100", "--prune", "--prune-grace", "30") as w:
            first = store.read().resources[address].private["process"]["pid"]
            git("checkout", "-q", "docs-only")  # specs/agent.yaml is gone ...
            waiting = wait_for(
                lambda: [e for e in w.events("reconcile") if address in e.get("prune_waiting", {})],
                what="the watcher to see the agent undeclared",
            )
            assert waiting[0]["changed"] == ["specs/agent.yaml"]
            seen = len(w.events("reconcile"))
            git("checkout", "-q", "main")  # ... and back, well within the grace
            back = wait_for(
                lambda: [
                    e
                    for e in w.events("reconcile")[seen:]
                    if "specs/agent.yaml" in e.get("changed", [])
                ],
                what="the reconcile after the checkout back",
            )[-1]
            assert back["result"] == "ok" and "prune_waiting" not in back
            assert [e for e in w.events("action") if e["action"] == "delete"] == []
            assert store.read().resources[address].private["process"]["pid"] == first
            assert pid_alive(first)
            assert w.stop() == 0
    finally:
        for pids in owned_processes(store.read().workspace_id).values():
            for pid in pids:
                os.killpg(pid, signal.SIGKILL)

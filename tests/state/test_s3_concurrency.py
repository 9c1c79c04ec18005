"""Processes sharing one S3 state on the moto server: concurrent applies and crashes.

- Two applies at once: the lock serialises them (one waits, or fails naming the other);
  every resource exists once and the state records exactly the world.
- SIGKILL at every state write (AGENTOPS_FAULT=state_write:k, see engine/faults.py), then
  `state unlock` (the dead holder ran on this machine) and a clean apply: the state always
  parses, pending operations are resolved, and the world converges with no duplicates.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.state.backend import store_for
from tests.reconciler.util import fake_registry, run_plan, workspace
from tests.state.s3util import new_bucket, s3_client

REPO = str(Path(__file__).resolve().parents[2])
SCRIPT = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from engine.errors import StateLocked
from engine.planner.planner import PlanOptions
from engine.reconcile import apply, make_plan, open_session, prepare
from engine.spec.workspace import load_workspace
from tests.reconciler.util import fake_registry
root, timeout, gate = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]


def wait_for_gate(call):  # the provider's work takes until the test opens the gate
    deadline = time.monotonic() + 60
    while gate and not Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)


reg, _ = fake_registry(root, wait_for_gate)
ws = load_workspace(root)
try:
    with open_session(ws, "apply", registry=reg, lock_timeout=timeout) as s:
        print(f"locked at {{time.time()}}", flush=True)
        plan = make_plan(s, PlanOptions(), prepare(s))
        result = apply(s, plan, parallelism=2)
except StateLocked as exc:
    print(f"locked out: {{exc}}", flush=True)
    sys.exit(3)
sys.exit(0 if result.ok else 1)
"""


def start(
    root: Path, uri: str, *, timeout: float = 0.0, gate: Path | None = None, fault: str = ""
) -> subprocess.Popen[str]:
    env = {**os.environ, "AGENTOPS_STATE": uri}
    env.pop("AGENTOPS_FAULT", None)
    if fault:
        env["AGENTOPS_FAULT"] = fault
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(repo=REPO), str(root), str(timeout), str(gate or "")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=120)
    if proc.returncode not in (0, 3, -signal.SIGKILL):
        raise AssertionError(f"apply failed ({proc.returncode}):\n{out}\n{err}")
    return proc.returncode, out


def check_converged(root: Path) -> None:
    reg, fake = fake_registry(root)
    world = fake.world()
    addresses = sorted(r["tags"]["address"] for r in world.values())
    assert len(addresses) == len(set(addresses)), f"duplicates: {addresses}"
    state = store_for(root).read()
    assert sorted(state.resources) == addresses
    assert not state.pending
    for res in state.resources.values():
        assert world[res.provider_id or ""]["digest"] == res.digest
    assert not run_plan(root, reg).has_changes


@pytest.fixture
def shared(tmp_path: Path, s3_state: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("AGENTOPS_STATE", s3_state)
    return workspace(tmp_path / "ws", envs=("dev", "prd"), agents=2, datasets=1), s3_state


def test_two_applies_at_once_one_waits_and_nothing_is_lost(
    shared: tuple[Path, str], tmp_path: Path
) -> None:
    root, uri = shared
    gate = tmp_path / "gate"
    first = start(root, uri, timeout=60, gate=gate)
    assert first.stdout is not None and first.stdout.readline().startswith("locked")
    second = start(root, uri, timeout=60, gate=gate)  # while the first holds the lock
    time.sleep(1.5)  # the second is (most likely) waiting for the lock by now
    opened = time.time()
    gate.touch()
    assert finish(first)[0] == 0
    code, out = finish(second)
    assert code == 0, out
    assert float(out.split()[2]) > opened  # it got the lock only after the first was done
    check_converged(root)


def test_two_applies_at_once_without_waiting_one_is_told_who_holds_the_lock(
    shared: tuple[Path, str], tmp_path: Path
) -> None:
    root, uri = shared
    gate = tmp_path / "gate"
    first = start(root, uri, gate=gate)
    assert first.stdout is not None and first.stdout.readline().startswith("locked")
    code, out = finish(start(root, uri))
    gate.touch()
    assert code == 3
    assert f"locked by pid {first.pid}" in out and "'agentops apply'" in out
    assert finish(first)[0] == 0
    check_converged(root)


def test_every_crash_at_a_state_write_converges(
    tmp_path: Path, s3_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no versioning: the snapshot's .bak object adds a write point of its own
    bucket = new_bucket(s3_env, versioned=False)
    k = 1
    while True:
        uri = f"s3://{bucket}/crash-{k}"
        monkeypatch.setenv("AGENTOPS_STATE", uri)
        root = workspace(tmp_path / f"k{k}", envs=("dev",), agents=2, datasets=1)
        code, _ = finish(start(root, uri, fault=f"state_write:{k}"))
        if code == 0:  # k is past the last write: the apply finished
            assert k > 8, "the fault hook never fired"
            print(f"{k - 1} crash points")
            break
        assert code == -signal.SIGKILL
        # every object it left parses; the lock names a dead process on this machine
        for key in keys(s3_env, bucket, f"crash-{k}/"):
            if key.endswith((".json", ".bak")):
                json.loads(read(s3_env, bucket, key))
        assert main(["-C", str(root), "plan"]) == 1  # locked by the dead process
        assert main(["-C", str(root), "state", "unlock"]) == 0
        assert finish(start(root, uri))[0] == 0  # resume: must converge
        check_converged(root)
        k += 1


def keys(url: str, bucket: str, prefix: str) -> list[str]:
    listed = s3_client(url).list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [o["Key"] for o in listed]


def read(url: str, bucket: str, key: str) -> bytes:
    body: bytes = s3_client(url).get_object(Bucket=bucket, Key=key)["Body"].read()
    return body

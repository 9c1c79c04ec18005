"""The state lock: named holder, waiting, no silent stealing, stale holders.

Parametrised over the backends where their contract is the same (`backend`: the local file,
S3 on the moto server); a dead holder is where they differ: flock frees it at once, an S3
lock waits for `state unlock` (tests/state/test_s3_lock.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.errors import StateLocked
from engine.state.backend import store_for
from engine.state.local import LocalStateStore
from tests.reconciler.util import fake_registry, run_apply, workspace

HOLD = """
import sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
from engine.state.backend import store_for
store = store_for(Path(sys.argv[1]))  # the workspace's backend (AGENTOPS_STATE or local)
store.acquire("apply")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
store.release()
"""
REPO = str(Path(__file__).resolve().parents[2])


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "s3":
        monkeypatch.setenv("AGENTOPS_STATE", request.getfixturevalue("s3_state"))
    else:
        monkeypatch.delenv("AGENTOPS_STATE", raising=False)
    return str(request.param)


def hold_lock(root: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD.format(repo=REPO), str(root), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_second_apply_fails_naming_the_holder(
    tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, agents=0, datasets=1)
    holder = hold_lock(tmp_path, 30)
    try:
        code = main(["-C", str(tmp_path), "plan"])
        err = capsys.readouterr().err
        assert code == 1
        assert f"is locked by pid {holder.pid}" in err
        assert "'agentops apply'" in err and "--lock-timeout" in err
    finally:
        holder.kill()
        holder.wait()


def test_lock_timeout_waits_for_the_holder(tmp_path: Path, backend: str) -> None:
    workspace(tmp_path, agents=0, datasets=1)
    holder = hold_lock(tmp_path, 1.0)
    started = time.monotonic()
    code = main(["-C", str(tmp_path), "plan", "--lock-timeout", "20"])
    holder.wait()
    assert code == 0
    assert time.monotonic() - started >= 0.5


def test_concurrent_applies_do_not_corrupt_state(tmp_path: Path, backend: str) -> None:
    workspace(tmp_path, agents=3, datasets=2)
    reg, fake = fake_registry(tmp_path)
    errors: list[Exception] = []

    def one() -> None:
        try:
            run_apply(tmp_path, reg)
        except StateLocked as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    state = store_for(tmp_path).read()
    addresses = sorted(r["tags"]["address"] for r in fake.world().values())
    assert addresses == sorted(state.resources)
    assert len(errors) <= 1


def test_a_dead_holder_never_blocks_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, agents=0, datasets=1)
    holder = hold_lock(tmp_path, 30)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    store = LocalStateStore(tmp_path / ".agentops")
    assert store.stale_holder() is not None  # the record survives, the flock does not
    assert main(["-C", str(tmp_path), "plan"]) == 0
    assert main(["-C", str(tmp_path), "state", "unlock"]) == 0
    assert "The state is not locked" in capsys.readouterr().out


def test_unlock_refuses_a_live_holder(
    tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, agents=0, datasets=1)
    holder = hold_lock(tmp_path, 30)
    try:
        assert main(["-C", str(tmp_path), "state", "unlock"]) == 1
        assert "held by a live process" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()

"""The S3 lock and the compare-and-swap: leases, breaking, fencing, lost races, retries.

Most tests run the protocol on `MemoryObjects`, whose clock (S3's clock: leases are judged
by it alone) the test moves; the ones that need a real holder process use the moto server.
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
from engine.errors import StateConflict, StateLocked
from engine.state.model import ResourceState
from engine.state.s3 import S3StateStore
from tests.reconciler.util import workspace
from tests.state.s3util import MemoryObjects

REPO = str(Path(__file__).resolve().parents[2])


def store(objects: MemoryObjects, lease: float = 60.0) -> S3StateStore:
    return S3StateStore(objects, "p", location="s3://memory-bucket/p", lease=lease)


def resource(address: str) -> dict[str, object]:
    res = ResourceState(address=address, kind="Dataset", provider="fake", digest="d")
    return {"type": "resource", "resource": res.model_dump(mode="json")}


def wait_until(pred: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_live_holder_renews_its_lease_and_is_never_broken() -> None:
    objects = MemoryObjects()
    a = store(objects, lease=0.3)
    a.acquire("watch")
    try:
        objects.advance(10)  # S3's clock passes the lease ...
        assert store(objects).holder()["expired"]  # type: ignore[index]
        # ... and the holder renews it (every lease/3): alive again
        wait_until(lambda: not store(objects).holder()["expired"])  # type: ignore[index]
        assert store(objects).force_unlock() is None
    finally:
        a.release()
    assert store(objects).holder() is None


def test_an_expired_lease_is_broken_and_its_late_holder_cannot_overwrite() -> None:
    objects = MemoryObjects()
    a = store(objects)
    a.acquire("apply")
    state_a = a.read()
    a.write(state_a)
    objects.advance(61)  # a stopped renewing (frozen, partitioned): its lease expired
    b = store(objects)
    with pytest.raises(StateLocked) as caught:
        b.acquire("apply")
    assert "lease expired" in str(caught.value) and "state unlock" in (caught.value.hint or "")
    broken = b.force_unlock()
    assert broken is not None and broken["command"] == "apply"
    b.acquire("apply")
    state_b = b.read()
    b.append(state_b, resource("dataset.b[dev]"))
    # a wakes up: its next change claims the serial b already wrote - refused, not lost
    with pytest.raises(StateConflict, match="another process wrote"):
        a.append(state_a, resource("dataset.a[dev]"))
    a._lock.renew()  # and its lease thread finds out that it lost the lock
    with pytest.raises(StateConflict, match="lost the state lock"):
        a.append(state_a, resource("dataset.a[dev]"))
    a.release()  # does not delete b's lock
    assert store(objects).holder()["id"] == b.writer  # type: ignore[index]
    b.compact_if_needed(state_b)
    b.release()
    assert sorted(store(objects).read().resources) == ["dataset.b[dev]"]


def test_a_late_write_that_lands_first_wins_and_the_new_holder_is_refused() -> None:
    objects = MemoryObjects()
    a = store(objects)
    a.acquire("apply")
    state_a = a.read()
    a.write(state_a)
    objects.advance(61)
    b = store(objects)
    assert b.force_unlock() is not None
    b.acquire("apply")
    state_b = b.read()
    a.append(state_a, resource("dataset.a[dev]"))  # lands before b writes anything
    with pytest.raises(StateConflict):
        b.append(state_b, resource("dataset.b[dev]"))
    assert sorted(store(objects).read().resources) == ["dataset.a[dev]"]  # nothing lost


def test_a_holder_that_cannot_renew_stops_writing_before_its_lease_ends() -> None:
    objects = MemoryObjects()
    a = store(objects, lease=0.3)
    a.acquire("apply")
    state = a.read()
    a.write(state)

    def network_down_for_the_lock(key: str) -> None:
        if key.endswith("state.lock"):
            raise _down()

    objects.on_put = network_down_for_the_lock
    time.sleep(0.35)  # > 0.8 lease without a renewal
    with pytest.raises(StateConflict, match="could not renew its state lock"):
        a.append(state, resource("dataset.a[dev]"))
    objects.on_put = lambda _k: None
    a.release()


def _down() -> Exception:
    from engine.errors import StateError

    return StateError("cannot reach S3: the network is down")


def test_a_write_carried_out_but_answered_with_an_error_is_recognised_as_ours() -> None:
    objects = MemoryObjects()
    a = store(objects)
    objects.lose_answer = {"p/state.lock", "p/journal/000000000001.json", "p/state.json"}
    a.acquire("apply")  # the lock PUT landed, its answer was lost, the retry got 412
    state = a.read()
    a.write(state)  # the same for the journal entry and the snapshot
    objects.lose_answer = {"p/journal/000000000002.json"}
    a.append(state, resource("dataset.a[dev]"))
    a.compact_if_needed(state)
    a.release()
    assert not objects.lose_answer
    again = store(objects).read()
    assert (again.serial, sorted(again.resources)) == (2, ["dataset.a[dev]"])


def test_without_versioning_the_previous_snapshot_is_a_bak_object_and_a_note() -> None:
    objects = MemoryObjects(versioned=False)
    a = store(objects)
    with a.lock("apply"):
        state = a.read()
        a.write(state)
        a.append(state, resource("dataset.a[dev]"))
        a.compact_if_needed(state)
    bak = objects.get("p/state.json.bak")
    assert bak is not None and json.loads(bak.body)["serial"] == 1
    assert any("no object versioning" in n and "put-bucket-versioning" in n for n in a.notes)


def test_a_plan_reads_with_two_requests_and_locks_with_two() -> None:
    objects = MemoryObjects()
    a = store(objects)
    with a.lock("apply"):
        state = a.read()
        a.write(state)
    objects.calls.clear()
    b = store(objects)
    with b.lock("plan"):
        b.read()
        b.compact_if_needed(b.read())  # nothing to fold: no request
    assert [op for op, _ in objects.calls] == ["put", "get", "list", "get", "list", "delete"]


# --- real processes on the moto server ----------------------------------------------------
HOLDER = """
import sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from engine.state.backend import store_for
from engine.state.model import ResourceState
store = store_for(Path(sys.argv[1]))
store.acquire("apply")
state = store.read()
print("locked", flush=True)
for line in sys.stdin:  # one change per line read
    res = ResourceState(address=line.strip(), kind="Dataset", provider="fake", digest="d")
    try:
        store.append(state, {{"type": "resource", "resource": res.model_dump(mode="json")}})
        print("written", flush=True)
    except Exception as exc:
        print(f"refused: {{exc}}", flush=True)
"""


def holder(root: Path, uri: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(repo=REPO), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "AGENTOPS_STATE": uri},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_unlock_refuses_a_live_holder_and_breaks_a_dead_one_on_this_host(
    tmp_path: Path, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, agents=0, datasets=1)
    proc = holder(tmp_path, s3_state)
    try:
        assert main(["-C", str(tmp_path), "--state", s3_state, "state", "unlock"]) == 1
        err = capsys.readouterr().err
        assert "held by a live process" in err and f"pid {proc.pid}" in err
        assert main(["-C", str(tmp_path), "--state", s3_state, "plan"]) == 1
        err = capsys.readouterr().err
        assert f"is locked by pid {proc.pid}" in err and "lease renewed" in err
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    # dead, lease not expired yet: a dead pid on this host is proof enough
    assert main(["-C", str(tmp_path), "--state", s3_state, "plan"]) == 1
    assert "that process is gone" in capsys.readouterr().err
    assert main(["-C", str(tmp_path), "--state", s3_state, "state", "unlock"]) == 0
    assert "Released the lock left by" in capsys.readouterr().out
    assert main(["-C", str(tmp_path), "--state", s3_state, "state", "unlock"]) == 0
    assert "The state is not locked" in capsys.readouterr().out


def test_a_frozen_holder_loses_its_lease_and_cannot_write_when_it_wakes(
    tmp_path: Path,
    s3_state: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AGENTOPS_STATE_LEASE", "2")  # renewed every 0.7 s, even under load
    proc = holder(tmp_path, s3_state)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("dataset.before[dev]\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "written"
        os.kill(proc.pid, signal.SIGSTOP)  # alive, but no longer renewing (a frozen VM)
        deadline = time.monotonic() + 15
        while main(["-C", str(tmp_path), "--state", s3_state, "state", "unlock"]) != 0:
            assert time.monotonic() < deadline, "the lease never expired"
            time.sleep(0.5)
        assert "its lease expired" in capsys.readouterr().out
        os.kill(proc.pid, signal.SIGCONT)
        proc.stdin.write("dataset.after[dev]\n")
        proc.stdin.flush()
        answer = proc.stdout.readline().strip()
        assert answer.startswith("refused:"), answer
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()

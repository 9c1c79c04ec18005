"""The state journal under concurrent appends: every line durable before `append` returns,
fsyncs shared between threads (group commit), the state replayed exactly as applied."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from engine.state import local
from engine.state.local import LocalStateStore
from engine.state.model import ResourceState


def entry(i: int) -> dict[str, object]:
    res = ResourceState(address=f"agent.a-{i}[dev]", kind="Agent", provider="fake", digest=str(i))
    return {"type": "resource", "resource": res.model_dump(mode="json")}


def test_concurrent_appends_share_fsyncs_and_replay_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStateStore(tmp_path)
    state = store.read()
    synced: list[int] = []  # journal size at each fsync
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        size = os.fstat(fd).st_size  # at least this much is on disk once it returns
        time.sleep(0.005)  # a slow disk: appends pile up behind the one in progress
        real_fsync(fd)
        synced.append(size)

    monkeypatch.setattr(local.os, "fsync", slow_fsync)
    returned: list[tuple[int, int]] = []  # (entry, journal bytes synced when it returned)

    def worker(k: int) -> None:
        for i in range(k * 25, k * 25 + 25):
            store.append(state, entry(i))
            returned.append((i, synced[-1]))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store._close_journal()

    assert len(state.resources) == 200 and state.serial == 200
    assert len(synced) < 200 / 2, f"{len(synced)} fsyncs for 200 appends"
    # durable before returning: the journal up to that entry's line had been synced
    lines = (tmp_path / "state.journal").read_text().splitlines(keepends=True)
    ends = {}
    offset = 0
    for line in lines:
        offset += len(line.encode())
        ends[int(line.split('"digest": "')[1].split('"')[0])] = offset
    assert all(ends[i] <= size for i, size in returned)
    back = LocalStateStore(tmp_path).read()
    assert back.serial == state.serial
    assert {a: r.digest for a, r in back.resources.items()} == {
        a: r.digest for a, r in state.resources.items()
    }


def test_a_failed_fsync_is_raised_and_the_entry_not_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalStateStore(tmp_path)
    state = store.read()

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(local.os, "fsync", broken)
    with pytest.raises(OSError):
        store.append(state, entry(1))
    assert state.resources == {}
    monkeypatch.undo()
    store.append(state, entry(2))  # the next append syncs both lines
    assert list(state.resources) == ["agent.a-2[dev]"]

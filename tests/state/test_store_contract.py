"""The StateStore contract, on every backend: the local file, S3 on moto, S3 in memory.

Each test gets `new_store()`: another store on the same location, as another process would
open it (a store instance is one process's view: its lock, its last etag).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import StateError, StateLocked, StateMoved
from engine.state.backend import open_store, parse_uri
from engine.state.local import LocalStateStore
from engine.state.model import ResourceState, State
from engine.state.s3 import S3StateStore
from engine.state.store import StateStore
from tests.state.s3util import MemoryObjects, s3_client

NewStore = Callable[[], StateStore]


@pytest.fixture(params=["local", "s3-moto", "s3-memory"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> NewStore:
    if request.param == "local":
        return lambda: LocalStateStore(tmp_path / ".agentops")
    if request.param == "s3-memory":
        objects = MemoryObjects()
        return lambda: S3StateStore(objects, "team/ws", location="s3://memory-bucket/team/ws")
    uri = request.getfixturevalue("s3_state")
    return lambda: open_store(parse_uri(uri, tmp_path))


def resource(address: str, digest: str = "d1") -> dict[str, object]:
    res = ResourceState(address=address, kind="Dataset", provider="fake", digest=digest)
    return {"type": "resource", "resource": res.model_dump(mode="json")}


def test_an_empty_location_reads_as_serial_zero(new_store: NewStore) -> None:
    state = new_store().read()
    assert state.serial == 0 and not state.resources


def test_write_then_read_elsewhere_keeps_serial_and_lineage(new_store: NewStore) -> None:
    store = new_store()
    with store.lock("apply"):
        state = store.read()
        store.write(state)
    assert state.serial == 1
    again = new_store().read()
    assert (again.serial, again.lineage, again.workspace_id) == (
        1,
        state.lineage,
        state.workspace_id,
    )


def test_every_change_is_journalled_and_replayed(new_store: NewStore) -> None:
    store = new_store()
    with store.lock("apply"):
        state = store.read()
        store.write(state)
        store.append(state, resource("dataset.a[dev]"))
        store.append(state, resource("dataset.b[dev]"))
        store.append(state, {"type": "forget", "address": "dataset.a[dev]"})
        # before any compaction, another reader replays the journal
        seen = new_store().read()
        assert seen.serial == state.serial == 4
        assert sorted(seen.resources) == ["dataset.b[dev]"]
        store.compact_if_needed(state, force=True)
    folded = new_store().read()
    assert folded.model_dump() == state.model_dump()


def test_the_previous_snapshot_is_kept(new_store: NewStore) -> None:
    store = new_store()
    with store.lock("apply"):
        state = store.read()
        store.write(state)
        store.append(state, resource("dataset.a[dev]"))
        store.compact_if_needed(state, force=True)
        first = state.serial
        store.append(state, resource("dataset.b[dev]"))
        store.compact_if_needed(state, force=True)
    previous = backups(store)
    assert previous and first in [json.loads(b)["serial"] for b in previous]


def backups(store: StateStore) -> list[bytes]:
    """Every earlier snapshot the backend kept (.bak file, .bak object or S3 versions)."""
    if isinstance(store, LocalStateStore):
        return [store.backup.read_bytes()] if store.backup.exists() else []
    assert isinstance(store, S3StateStore)
    key = store.key("state.json")
    if isinstance(store.objects, MemoryObjects):
        return store.objects.versions.get(key, [])[:-1]
    client = s3_client(store.objects.client().meta.endpoint_url)
    versions = client.list_object_versions(Bucket=store.objects.bucket, Prefix=key)["Versions"]
    bodies = [
        client.get_object(Bucket=store.objects.bucket, Key=key, VersionId=v["VersionId"])["Body"]
        for v in versions
        if not v["IsLatest"]
    ]
    return [b.read() for b in bodies]


def test_a_second_holder_is_refused_and_told_who_holds_it(new_store: NewStore) -> None:
    store = new_store()
    with store.lock("apply"):
        with pytest.raises(StateLocked) as caught:
            new_store().acquire("plan")
        assert "'agentops apply'" in str(caught.value)
        assert "pid" in str(caught.value) and "--lock-timeout" in (caught.value.hint or "")
        holder = new_store().holder()
        assert holder is not None and holder["command"] == "apply"
        assert new_store().force_unlock() is None  # never a live holder
    assert not new_store().holder()


def test_lock_timeout_waits_for_the_holder(new_store: NewStore) -> None:
    store = new_store()
    store.acquire("apply")
    threading.Timer(0.6, store.release).start()
    started = time.monotonic()
    other = new_store()
    with other.lock("plan", timeout=20):
        assert time.monotonic() - started >= 0.5


def test_a_retired_copy_refuses_to_be_used_and_can_hold_the_state_again(
    new_store: NewStore,
) -> None:
    store = new_store()
    with store.lock("state migrate"):
        state = store.read()
        store.write(state)
        store.mark_moved("s3://elsewhere/prefix")
    with pytest.raises(StateMoved) as caught:
        new_store().read()
    assert caught.value.to == "s3://elsewhere/prefix"
    assert "AGENTOPS_STATE=s3://elsewhere/prefix" in (caught.value.hint or "")
    back = new_store()  # migrating back: the retired copy is written again
    with back.lock("state migrate"):
        with pytest.raises(StateMoved):
            back.read()
        state.serial += 1
        back.write(state)
    assert new_store().read().serial == state.serial


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "it is not JSON"),
        (b'{"hello": "world"}', "is not an agentops state"),
        (b'{"version": 99, "serial": 3, "lineage": "x"}', "state version 99"),
    ],
    ids=["corrupted", "foreign", "newer"],
)
def test_an_unreadable_state_is_an_error_and_nothing_is_written_over_it(
    new_store: NewStore, content: bytes, message: str
) -> None:
    store = new_store()
    with store.lock("apply"):
        store.write(store.read())
    put_snapshot(store, content)
    other = new_store()
    with other.lock("apply"):
        with pytest.raises(StateError, match=message):
            other.read()
        if isinstance(other, S3StateStore):  # a write not based on a read cannot land
            with pytest.raises(StateError):
                other.write(State())
    assert snapshot_bytes(store) == content


def put_snapshot(store: StateStore, content: bytes) -> None:
    if isinstance(store, LocalStateStore):
        store.path.write_bytes(content)
    else:
        assert isinstance(store, S3StateStore)
        store.objects.put(store.key("state.json"), content)


def snapshot_bytes(store: StateStore) -> bytes:
    if isinstance(store, LocalStateStore):
        return store.path.read_bytes()
    assert isinstance(store, S3StateStore)
    obj = store.objects.get(store.key("state.json"))
    assert obj is not None
    return obj.body

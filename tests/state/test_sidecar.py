"""The state's sidecar: write-once objects beside the state, on every backend.

The same contract for the local directory, the in-memory S3 and the moto server: a key is
written once (a second write keeps the first body), keys list in order under a folder, and
a key that could escape its directory is refused.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.errors import StateError
from engine.state.backend import open_store, parse_uri
from engine.state.sidecar import LocalSidecar, S3Sidecar, Sidecar
from tests.state.s3util import MemoryObjects

Make = Callable[[Path], Sidecar]


def local(tmp: Path) -> Sidecar:
    return LocalSidecar(tmp / ".agentops")


def memory(tmp: Path) -> Sidecar:
    return S3Sidecar(MemoryObjects(), "team/ws", location="s3://memory-bucket/team/ws")


@pytest.fixture(params=["local", "memory", "moto"])
def make(request: pytest.FixtureRequest) -> Make:
    if request.param == "local":
        return local
    if request.param == "memory":
        return memory
    uri = request.getfixturevalue("s3_state")
    return lambda tmp: open_store(parse_uri(uri, tmp)).sidecar()


def test_a_key_is_written_once(tmp_path: Path, make: Make) -> None:
    side = make(tmp_path)
    assert side.get("verdicts/abc.json") is None
    assert side.put_once("verdicts/abc.json", b"first") is True
    assert side.put_once("verdicts/abc.json", b"second") is False
    assert side.get("verdicts/abc.json") == b"first"


def test_keys_list_in_order_under_a_folder(tmp_path: Path, make: Make) -> None:
    side = make(tmp_path)
    for key in ("baselines/g/d1/2-b.json", "baselines/g/d1/1-a.json", "baselines/g/d2/1.json"):
        side.put_once(key, b"{}")
    side.put_once("verdicts/x.json", b"{}")
    assert side.list("baselines/g/d1/") == ["baselines/g/d1/1-a.json", "baselines/g/d1/2-b.json"]
    assert side.list("baselines/none/") == []


@pytest.mark.parametrize("key", ["../state.json", "verdicts/../../x", "/etc/passwd", ""])
def test_a_key_that_could_escape_is_refused(tmp_path: Path, make: Make, key: str) -> None:
    with pytest.raises(StateError, match="invalid sidecar key"):
        make(tmp_path).put_once(key, b"x")


def test_the_local_sidecar_is_the_state_directory_and_private(tmp_path: Path) -> None:
    store = open_store(parse_uri("local", tmp_path))
    side = store.sidecar()
    side.put_once("verdicts/k.json", b"{}")
    path = tmp_path / ".agentops" / "verdicts" / "k.json"
    assert path.read_bytes() == b"{}"
    assert path.stat().st_mode & 0o077 == 0
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_the_s3_sidecar_lives_under_the_state_prefix(tmp_path: Path, s3_state: str) -> None:
    from tests.state.s3util import s3_client

    store = open_store(parse_uri(s3_state, tmp_path))
    store.sidecar().put_once("verdicts/k.json", b"{}")
    bucket, prefix = s3_state[len("s3://") :].split("/", 1)
    listed = s3_client(os.environ["AWS_ENDPOINT_URL_S3"]).list_objects_v2(Bucket=bucket)
    keys = [o["Key"] for o in listed["Contents"]]
    assert keys == [f"{prefix}/verdicts/k.json"]


def test_one_of_many_concurrent_writers_of_a_key_wins(tmp_path: Path, make: Make) -> None:
    side = make(tmp_path)
    won: list[bool] = []

    def write(i: int) -> None:
        won.append(side.put_once("verdicts/same.json", f"writer {i}".encode()))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(won) == [False] * 7 + [True]
    assert (side.get("verdicts/same.json") or b"").startswith(b"writer ")

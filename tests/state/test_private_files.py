"""`.agentops/` is 0700 and its files 0600, whatever the umask (engine.state.private)."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.providers.local.store import LocalStore
from engine.runtime.tracing import connect
from engine.state.local import LocalStateStore
from engine.state.model import State
from engine.state.private import private_dir, secure_state_dir, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: would give 0755 directories and 0644 files
    yield
    os.umask(old)


def test_private_dir_creates_missing_parents_0700_and_leaves_existing_ones(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    private_dir(tmp_path / ".agentops" / "logs" / "dev")
    assert mode(tmp_path) == 0o755
    assert [mode(tmp_path / p) for p in (".agentops", ".agentops/logs", ".agentops/logs/dev")] == [
        0o700
    ] * 3


def test_write_private_replaces_atomically_with_a_0600_file(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o600
    assert os.listdir(tmp_path) == ["report.md"]


def test_state_and_journal_are_private(tmp_path: Path) -> None:
    store = LocalStateStore(tmp_path / ".agentops")
    state = State()
    store.write(state)
    store.append(state, {"type": "forget", "address": "agent.x[dev]"})
    store.acquire("test")
    store.release()
    d = tmp_path / ".agentops"
    assert mode(d) == 0o700
    assert {p.name: mode(p) for p in d.iterdir()} == {
        "state.json": 0o600,
        "state.journal": 0o600,
        "state.lock": 0o600,
    }


@pytest.mark.parametrize("which", ["store", "traces"])
def test_sqlite_databases_and_their_wal_and_shm_are_private(tmp_path: Path, which: str) -> None:
    path = tmp_path / ".agentops" / f"{which}.sqlite"
    with contextlib.ExitStack() as stack:
        if which == "store":
            conn = stack.enter_context(LocalStore(path).connect())
        else:
            conn = connect(path)
            stack.callback(conn.close)
        conn.execute("CREATE TABLE IF NOT EXISTS t (x)")
        conn.execute("INSERT INTO t VALUES (1)")  # a write in WAL mode: -wal and -shm exist
        modes = {p.name: mode(p) for p in path.parent.iterdir()}
    assert modes == {f"{which}.sqlite{s}": 0o600 for s in ("", "-wal", "-shm")}
    assert mode(path.parent) == 0o700


def test_an_open_state_dir_from_before_is_made_private_once(tmp_path: Path) -> None:
    d = tmp_path / ".agentops"
    (d / "reports").mkdir(parents=True)
    (d / "reports" / "r.html").write_text("x")
    (d / "state.json").write_text("{}")
    os.chmod(d, 0o755)
    secure_state_dir(d)
    assert [mode(p) for p in (d, d / "reports", d / "reports" / "r.html", d / "state.json")] == [
        0o700,
        0o700,
        0o600,
        0o600,
    ]

"""The workspace runtime token file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from engine.errors import StateError
from engine.runtime import load_or_create_token, token_path

pytestmark = pytest.mark.timeout(10)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_private_and_reused(tmp_path: Path) -> None:
    state = tmp_path / "state"  # created on demand
    old_umask = os.umask(0)  # even a permissive umask must not loosen the file
    try:
        token = load_or_create_token(state)
    finally:
        os.umask(old_umask)
    path = token_path(state)
    assert path == state / "runtime.token"
    assert _mode(path) == 0o600
    assert len(token) >= 32
    assert load_or_create_token(state) == token
    assert [p.name for p in state.iterdir()] == ["runtime.token"]  # no temp file left


def test_loose_mode_is_fixed(tmp_path: Path) -> None:
    token = load_or_create_token(tmp_path)
    os.chmod(token_path(tmp_path), 0o644)
    assert load_or_create_token(tmp_path) == token
    assert _mode(token_path(tmp_path)) == 0o600


def test_corrupt_token_is_an_error(tmp_path: Path) -> None:
    token_path(tmp_path).write_text("\n")
    with pytest.raises(StateError, match="corrupt"):
        load_or_create_token(tmp_path)


def test_concurrent_creation_agrees(tmp_path: Path) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        barrier.wait()
        results.append(load_or_create_token(tmp_path))

    threads = [threading.Thread(target=create) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1

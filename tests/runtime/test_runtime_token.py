"""The workspace runtime token file."""

from __future__ import annotations

import json
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


def test_agent_tokens_are_private_stable_per_address_and_forgotten(tmp_path: Path) -> None:
    from engine.runtime.token import (
        agent_token_path,
        callee_tokens_path,
        forget_agent_tokens,
        load_or_create_agent_token,
        write_callee_tokens,
    )

    dev = load_or_create_agent_token(tmp_path, "agent.specialist[dev]")
    assert load_or_create_agent_token(tmp_path, "agent.specialist[dev]") == dev  # every version
    prd = load_or_create_agent_token(tmp_path, "agent.specialist[prd]")
    assert len({dev, prd, load_or_create_token(tmp_path)}) == 3
    variant = "experiment.hpo[dev]/v1"  # a slash: still one file in tokens/
    path = write_callee_tokens(tmp_path, variant, {"specialist": dev})
    assert path == callee_tokens_path(tmp_path, variant) and path.parent == tmp_path / "tokens"
    assert json.loads(path.read_text()) == {"specialist": dev}
    assert _mode(tmp_path / "tokens") == 0o700
    for p in (path, agent_token_path(tmp_path, "agent.specialist[dev]")):
        assert _mode(p) == 0o600
    forget_agent_tokens(tmp_path, "agent.specialist[dev]")
    forget_agent_tokens(tmp_path, variant)
    assert sorted(p.name for p in (tmp_path / "tokens").iterdir()) == [
        "agent.specialist[prd].token"
    ]
    assert load_or_create_agent_token(tmp_path, "agent.specialist[dev]") != dev  # a new one


def test_a_process_started_with_the_shared_token_is_drift(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Agents started before per-agent tokens accept only the engine token: their callers'
    new tokens would not open them, so the next apply rolls them over."""
    import engine.runtime.process as process
    from engine.providers.base import Context
    from engine.providers.local.runtime import TOKEN_SCHEME, LocalRuntimeProvider
    from engine.runtime.agent_process import ProbeResult
    from engine.spec.workspace import Workspace
    from engine.state.model import ResourceState

    monkeypatch.setattr(process, "probe_agent", lambda _p: ProbeResult(True, True, "Healthy"))
    record = {
        "pid": 1,
        "port": 1,
        "private_port": 2,
        "started_at": 0.0,
        "proc_start_ticks": 0,
        "digest": "d",
        "log_file": "x.log",
    }
    ctx = Context(workspace=Workspace(root=tmp_path), state_dir=tmp_path, workspace_id="w")
    provider = LocalRuntimeProvider(tmp_path)

    def observe(private: dict[str, object]) -> object:
        prior = ResourceState(
            address="agent.a[dev]",
            kind="Agent",
            provider="local-runtime",
            digest="d",
            private=private,
        )
        return provider.observe(prior, ctx).drift

    assert observe({"process": record}) == {"runtime token": ("shared", TOKEN_SCHEME)}
    assert observe({"process": record, "tokens": TOKEN_SCHEME}) == {}

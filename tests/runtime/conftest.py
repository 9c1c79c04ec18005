"""Fixtures for the local-runtime tests: real agent processes on 127.0.0.1, always cleaned up."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.runtime import (
    AgentProcess,
    allocate_port,
    load_or_create_token,
    replace_agent,
    start_agent,
    stop_agent,
    token_path,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


@dataclass
class Runtime:
    """Starts fixture agents in a private state directory and stops them all at teardown."""

    state_dir: Path
    token: str
    started: list[AgentProcess] = field(default_factory=list)

    @property
    def token_file(self) -> Path:
        return token_path(self.state_dir)

    def _kwargs(self, fixture: str, env: Mapping[str, str] | None) -> dict[str, object]:
        return {
            "entrypoint": FIXTURES / f"{fixture}.py",
            "source": FIXTURES,
            "cwd": self.state_dir,
            "env": dict(env or {}),
            "log_file": self.state_dir / "logs" / f"{fixture}.log",
            "token_file": self.token_file,
            "digest": f"sha256:{fixture}",
        }

    def start(
        self,
        fixture: str = "echo",
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        health_timeout: float = 20.0,
    ) -> AgentProcess:
        proc = start_agent(
            port=port if port is not None else allocate_port(),
            health_timeout=health_timeout,
            **self._kwargs(fixture, env),  # type: ignore[arg-type]
        )
        self.started.append(proc)
        return proc

    def replace(
        self,
        old: AgentProcess,
        fixture: str = "echo",
        *,
        env: Mapping[str, str] | None = None,
        health_timeout: float = 20.0,
        grace: float = 10.0,
    ) -> AgentProcess:
        new = replace_agent(
            old,
            health_timeout=health_timeout,
            grace=grace,
            **self._kwargs(fixture, env),  # type: ignore[arg-type]
        )
        self.started.append(new)
        return new

    def cleanup(self) -> None:
        for proc in self.started:
            try:
                stop_agent(proc, grace=2.0)
            except Exception:  # noqa: BLE001 - teardown must reach every process
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(state_dir=tmp_path, token=load_or_create_token(tmp_path))
    yield rt
    rt.cleanup()


@pytest.fixture(scope="module")
def module_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    state = tmp_path_factory.mktemp("runtime")
    rt = Runtime(state_dir=state, token=load_or_create_token(state))
    yield rt
    rt.cleanup()


@pytest.fixture(scope="module")
def echo(module_runtime: Runtime) -> AgentProcess:
    """One echo agent (VERSION=1) shared by the read-only tests of a module."""
    return module_runtime.start("echo", env={"VERSION": "1"})

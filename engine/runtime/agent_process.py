"""AgentProcess: what the engine records of a running agent process, and its errors.

Role: runs in the CLI (parent). The engine keeps an `AgentProcess` per agent in its state file
and gets the live process back from it (`from_json`); `ProbeResult` is one health check of
it. `AgentStartError` and `AgentStopError` are what starting and stopping raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.errors import PermanentError, ProviderError
from engine.runtime import reuseport


class AgentStartError(PermanentError):
    """An agent process exited or never became healthy; nothing of it is left running.

    `reason` says what went wrong, `log_tail` holds the last lines this start wrote to
    `log_file`. The message includes both; the caller adds the agent and environment names.
    `pid` is the process that failed (already gone), or None when none was started.
    """

    def __init__(
        self, reason: str, *, log_file: Path, log_tail: str, pid: int | None = None
    ) -> None:
        self.reason = reason
        self.log_file = log_file
        self.log_tail = log_tail
        self.pid = pid
        tail = log_tail.rstrip() or "(the log is empty)"
        indented = "\n".join("    " + line for line in tail.splitlines())
        super().__init__(
            f"{reason}\n  log: {log_file}\n  last lines:\n{indented}",
            hint=f"see the full log in {log_file}",
        )


class AgentStopError(ProviderError):
    """Processes of an agent survived SIGKILL (uninterruptible sleep or a debugger)."""


@dataclass(frozen=True)
class AgentProcess:
    """A running agent process, as the engine records it in its state file."""

    pid: int
    port: int  # the stable port, shared by every version of this agent
    private_port: int  # this process only: health checks and control
    started_at: float  # epoch seconds
    proc_start_ticks: int  # /proc/<pid>/stat field 22, to tell a reused pid apart
    digest: str  # the version (content digest) this process serves
    log_file: str

    @property
    def url(self) -> str:
        """The stable invocation URL; it survives updates."""
        return f"http://{reuseport.LOOPBACK}:{self.port}/invocations"

    @property
    def ping_url(self) -> str:
        """Health of this exact process."""
        return f"http://{reuseport.LOOPBACK}:{self.private_port}/ping"

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> AgentProcess:
        """Rebuild from `to_json()` output; ValueError names the first bad field."""

        def integer(key: str) -> int:
            value = data.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"agent process record: {key!r} must be an integer, got {value!r}")
            return value

        def text(key: str) -> str:
            value = data.get(key)
            if not isinstance(value, str):
                raise ValueError(f"agent process record: {key!r} must be a string, got {value!r}")
            return value

        started_at = data.get("started_at")
        if not isinstance(started_at, int | float) or isinstance(started_at, bool):
            raise ValueError(f"agent process record: 'started_at' must be a number: {started_at!r}")
        return cls(
            pid=integer("pid"),
            port=integer("port"),
            private_port=integer("private_port"),
            started_at=float(started_at),
            proc_start_ticks=integer("proc_start_ticks"),
            digest=text("digest"),
            log_file=text("log_file"),
        )


@dataclass(frozen=True)
class ProbeResult:
    """`status` is "Healthy", "HealthyBusy", "dead" or "unhealthy: <why>"."""

    alive: bool
    healthy: bool
    status: str

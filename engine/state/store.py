"""The StateStore protocol: what plan, apply, watch and the state commands need of a backend.

Pipeline role: the seam between the reconciler and where the state lives. Two backends
implement it with the same guarantees (serial and lineage, every change journalled, a named
lock, a backup of the previous snapshot, crash-safe at every write):

    engine.state.local.LocalStateStore   .agentops/state.json + journal, flock
    engine.state.s3.S3StateStore         s3://bucket/prefix, conditional writes, a leased lock

`engine.state.backend.open_store` picks one from `--state`, `AGENTOPS_STATE` or
`agentops.yaml`. The lock holder record and its description are shared here.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from engine.errors import StateError
from engine.state.model import State, now_iso
from engine.state.sidecar import Sidecar


class StateStore(Protocol):
    #: where the state lives, as it is written in --state (`local`, `s3://bucket/prefix`)
    location: str
    #: things a person should know that are not errors (e.g. a bucket without versioning)
    notes: list[str]
    #: orders journal entries and the in-memory state they are applied to (re-entrant: the
    #: applier holds it around a check-then-append)
    mutex: threading.RLock
    #: holder record left by a process that died while holding the lock (if known)
    crashed_holder: dict[str, Any] | None

    def read(self) -> State:
        """The current state (snapshot + journal); a fresh State (serial 0) if none."""
        ...

    def write(self, state: State) -> None:
        """Replace the whole state: a new serial, the previous snapshot kept as a backup."""
        ...

    def append(self, state: State, entry: dict[str, Any]) -> None:
        """Record one change durably and apply it to `state` (serial + 1)."""
        ...

    def compact_if_needed(self, state: State, *, force: bool = False) -> None:
        """Fold the journal into the snapshot when it has grown (or when forced)."""
        ...

    def lock(self, command: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
        """Hold the state lock for a block; StateLocked (naming the holder) after `timeout`."""
        ...

    def acquire(self, command: str, timeout: float = 0.0) -> None: ...

    def release(self) -> None: ...

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock now (None: nobody)."""
        ...

    def force_unlock(self) -> dict[str, Any] | None:
        """Break a lock whose holder is gone; None (nothing done) while the holder is live."""
        ...

    def mark_moved(self, to: str) -> None:
        """After `state migrate`: retire this copy, so that nobody writes to it by mistake."""
        ...

    def sidecar(self) -> Sidecar:
        """The write-once objects kept beside this state (verdicts, baselines)."""
        ...


@contextlib.contextmanager
def held(store: StateStore, command: str, timeout: float) -> Iterator[None]:
    """`acquire`/`release` around a block; a failing release never hides the block's error."""
    store.acquire(command, timeout)
    try:
        yield
    except BaseException:
        with contextlib.suppress(StateError):
            store.release()
        raise
    store.release()


def holder_record(command: str) -> dict[str, Any]:
    """Who, where, what and since when: what a waiting process shows about the holder."""
    info: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "who": os.environ.get("GITHUB_ACTOR") or _user(),
        "command": command,
        "since": now_iso(),
    }
    if os.environ.get("GITHUB_ACTIONS") == "true" and os.environ.get("GITHUB_RUN_ID"):
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        repo = os.environ.get("GITHUB_REPOSITORY", "")
        info["ci"] = f"{server}/{repo}/actions/runs/{os.environ['GITHUB_RUN_ID']}"
    return info


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def describe_holder(info: dict[str, Any] | None) -> str:
    if not info:
        return "another process (no holder information)"
    who = f" by {info['who']}" if info.get("who") else ""
    extra = []
    if info.get("lease_age") is not None:
        age = float(info["lease_age"])
        lease = float(info.get("lease_seconds") or 0)
        extra.append(
            f"lease expired {age - lease:.0f}s ago"
            if info.get("expired")
            else f"lease renewed {age:.0f}s ago, expires in {lease - age:.0f}s"
        )
    if info.get("ci"):
        extra.append(f"CI run {info['ci']}")
    tail = "".join(f"; {e}" for e in extra)
    return (
        f"pid {info.get('pid')} on {info.get('host')} "
        f"('agentops {info.get('command')}'{who}, since {info.get('since')}{tail})"
    )


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def dead_on_this_host(info: dict[str, Any]) -> bool:
    """The holder ran on this machine and its process is gone: proof that it is dead."""
    try:
        pid = int(info.get("pid") or 0)
    except (TypeError, ValueError):
        return False
    return info.get("host") == socket.gethostname() and pid > 0 and not pid_alive(pid)


def moved_hint(to: str) -> str:
    return (
        f"pass --state {to} or set AGENTOPS_STATE={to} (or a `state:` line in agentops.yaml); "
        "`agentops state migrate --to URI` moves it again"
    )

"""Local state store: `.agentops/state.json` + an append-only journal, under a named lock.

Crash safety:
- the snapshot `state.json` is only ever replaced atomically (temp file, fsync, rename,
  fsync of the directory) and the previous snapshot is kept as `state.json.bak`;
- during an apply every change (pending operation recorded/cleared, resource written,
  run result) is appended to `state.journal` as one JSON line and fsync'd, so a write costs
  what changed, not the size of the state; a torn last line (crash mid-write) is ignored;
- `append` returns only once its line is on disk, but concurrent appends share fsyncs
  (group commit: the first waiter syncs everything written so far, the others wait for
  it), so the applier's workers do not queue behind one fsync each;
- reading replays the journal over the snapshot; `compact()` folds it back into a snapshot.

Locking: `state.lock` is held with `flock` (so a holder that dies never blocks anyone) and
contains the holder (pid, host, who, command, since) so a waiting process can name it.

After `state migrate --to s3://...` the snapshot is renamed `state.json.migrated` and
`state.moved` names where the state went: reading this store then fails, saying so, instead
of starting a second history from scratch.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine import faults
from engine.errors import StateError, StateLocked, StateMoved
from engine.heap import paused
from engine.state.journal import apply_entry, decode_state, encode_state
from engine.state.model import State
from engine.state.private import open_private, secure_state_dir, write_private
from engine.state.sidecar import LocalSidecar
from engine.state.store import describe_holder, held, holder_record, moved_hint, pid_alive

__all__ = ["LocalStateStore", "apply_entry", "atomic_write", "describe_holder", "pid_alive"]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` durably: a 0600 temporary file, fsync, rename, fsync."""
    write_private(path, data, fsync=True)
    fsync_dir(path.parent)


class LocalStateStore:
    """The default backend: a directory (`.agentops/` of the workspace)."""

    def __init__(self, directory: Path, location: str = "local") -> None:
        self.dir = directory
        self.location = location
        self.path = directory / "state.json"
        self.backup = directory / "state.json.bak"
        self.journal = directory / "state.journal"
        self.lock_path = directory / "state.lock"
        self.moved = directory / "state.moved"
        self._lock_fd: int | None = None
        self._journal_fh: Any = None
        self.notes: list[str] = []
        #: orders journal lines and the in-memory state they are applied to (re-entrant: a
        #: caller may hold it around a check-then-append, e.g. the applier's clear_pending)
        self.mutex = threading.RLock()
        #: group commit: journal lines written to the OS, lines known to be on disk
        self._durable = threading.Condition(threading.Lock())
        self._written = 0
        self._synced = 0
        self._syncing = False
        #: holder record left by a process that died while holding the lock (if any)
        self.crashed_holder: dict[str, Any] | None = None

    # --- reading ----------------------------------------------------------------------
    def read(self) -> State:
        # many small objects and no garbage cycles: see engine.heap
        with paused():
            state = self._read_snapshot()
            for entry in self._journal_entries():
                apply_entry(state, entry)
        return state

    def _read_snapshot(self) -> State:
        if not self.path.exists():
            self._refuse_if_moved()
            return State()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise StateError(f"cannot read {self.path}: {exc}") from exc
        return decode_state(
            data,
            str(self.path),
            restore_hint=f"the previous snapshot is {self.backup}; inspect it before restoring",
        )

    def _refuse_if_moved(self) -> None:
        try:
            to = self.moved.read_text(encoding="utf-8").strip()
        except OSError:
            return
        raise StateMoved(
            f"the state of this workspace was migrated to {to}; {self.dir} no longer holds it",
            to=to,
            hint=moved_hint(to),
        )

    def _journal_entries(self) -> Iterator[dict[str, Any]]:
        if not self.journal.exists():
            return
        with open(self.journal, encoding="utf-8") as fh:
            for line in fh:
                if not line.endswith("\n"):
                    return  # torn write from a crash: never completed, never acknowledged
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    return

    # --- writing ----------------------------------------------------------------------
    def write(self, state: State) -> None:
        """Replace the snapshot atomically (keeping a .bak) and empty the journal."""
        secure_state_dir(self.dir)
        faults.point("state_write")
        state.serial += 1
        with paused():
            data = encode_state(state)
        if self.path.exists():
            atomic_write(self.backup, self.path.read_bytes())
        atomic_write(self.path, data)
        self._close_journal()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.moved)  # migrated back here: this copy is the state again

    #: fold the journal into a new snapshot once it holds this many entries
    COMPACT_AFTER = 256

    def compact_if_needed(self, state: State, *, force: bool = False) -> None:
        """Rewrite the snapshot when the journal has grown (or when forced)."""
        if not self.journal.exists():
            return
        if force or self._journal_lines() >= self.COMPACT_AFTER:
            self.write(state)

    def _journal_lines(self) -> int:
        with open(self.journal, "rb") as fh:
            return sum(1 for _ in fh)

    def append(self, state: State, entry: dict[str, Any]) -> None:
        """Record one change durably (journal line + fsync) and apply it to `state`.

        Thread-safe. Returns once the line is on disk; `state` is updated only then."""
        with self.mutex:
            secure_state_dir(self.dir)
            faults.point("state_write")
            state.serial += 1
            entry = {**entry, "serial": state.serial}
            if self._journal_fh is None:
                fd = open_private(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                self._journal_fh = os.fdopen(fd, "a", encoding="utf-8")
            self._journal_fh.write(json.dumps(entry, sort_keys=True) + "\n")
            self._journal_fh.flush()
            self._written += 1
            line, fileno = self._written, self._journal_fh.fileno()
        self._sync(line, fileno)
        with self.mutex:
            apply_entry(state, entry)

    def _sync(self, line: int, fileno: int) -> None:
        """Wait until journal line `line` is on disk, fsyncing unless another thread is."""
        cond = self._durable
        with cond:
            while self._synced < line:
                if self._syncing:
                    cond.wait()
                    continue
                self._syncing = True
                target = self._written  # every line up to here is already written
                cond.release()
                ok = False
                try:
                    os.fsync(fileno)
                    ok = True
                finally:
                    cond.acquire()
                    self._syncing = False
                    if ok:
                        self._synced = max(self._synced, target)
                    cond.notify_all()

    def _close_journal(self) -> None:
        with self.mutex:
            if self._journal_fh is not None:
                self._journal_fh.close()
                self._journal_fh = None

    def mark_moved(self, to: str) -> None:
        """Retire this copy after a migration: keep it as `state.json.migrated`."""
        self._close_journal()
        if self.path.exists():
            atomic_write(self.dir / "state.json.migrated", self.path.read_bytes())
            os.unlink(self.path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal)  # folded into what was migrated
        atomic_write(self.moved, (to + "\n").encode())

    def sidecar(self) -> LocalSidecar:
        return LocalSidecar(self.dir)

    # --- locking ----------------------------------------------------------------------
    def lock(self, command: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
        return held(self, command, timeout)

    def acquire(self, command: str, timeout: float = 0.0) -> None:
        secure_state_dir(self.dir)
        fd = open_private(self.lock_path, os.O_RDWR | os.O_CREAT)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = describe_holder(self.holder())
                    os.close(fd)
                    raise StateLocked(
                        f"the state is locked by {holder}",
                        hint="wait for it to finish, or pass --lock-timeout to wait longer",
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder_record(command)).encode(), 0)
        self._lock_fd = fd

    def release(self) -> None:
        self._close_journal()
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def holder(self) -> dict[str, Any] | None:
        try:
            text = self.lock_path.read_text()
        except OSError:
            return None
        try:
            data = json.loads(text) if text.strip() else None
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def stale_holder(self) -> dict[str, Any] | None:
        """Holder info left by a process on this host that is gone (it crashed)."""
        info = self.holder()
        if not info or info.get("host") != socket.gethostname():
            return None
        if pid_alive(int(info.get("pid", 0))):
            # flock is released by the kernel on death; a live pid may still hold it
            try:
                fd = os.open(self.lock_path, os.O_RDWR)
            except OSError:
                return None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                return None
            finally:
                os.close(fd)
        return info

    def force_unlock(self) -> dict[str, Any] | None:
        """Clear a stale holder record (the lock itself is released by the kernel)."""
        info = self.stale_holder()
        if info is not None:
            self.lock_path.write_text("")
        return info

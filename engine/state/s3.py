"""S3 state store: `s3://bucket/prefix` holds the snapshot, its journal and the lock.

Pipeline role: the remote `StateStore`, for a workspace shared by people, CI and watchers.

Objects under the prefix:

    state.json              the snapshot (the same JSON as the local file)
    journal/<serial>.json   one change each, 12-digit serials: immutable once written
    state.lock              the lock (s3_lock.py): holder, lease
    state.json.bak          the previous snapshot, only when the bucket has no versioning
    state.moved             written by `state migrate` when the state left this prefix
    verdicts/, baselines/   write-once objects beside the state (`engine.state.sidecar`)

Every write is a compare-and-swap on the version it follows:
- a change is `journal/<serial+1>.json` written with `If-None-Match: *`: a serial is
  written once, so two writers can never both extend the same version;
- the snapshot is replaced with `If-Match: <the etag read>` (`If-None-Match: *` for the
  first one); it only caches the journal, which stays authoritative.
A lost race is a StateConflict and nothing is overwritten. Reading is one GET of the
snapshot and one LIST of the journal after its serial (plus one GET per entry; a session
that wrote anything folds its entries into the snapshot when it ends, so there are few).

Crash safety: S3 replaces an object atomically, so every object always parses. A crash
before a journal write loses only that change (the pending operation recorded before each
provider call is resolved by the next run); a crash between a journal write and a snapshot
write leaves entries that the next read replays. Entries older than JOURNAL_RETENTION that
the snapshot already holds are deleted by later compactions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import threading
import uuid
from typing import Any

from engine import faults
from engine.errors import StateConflict, StateError, StateMoved
from engine.state.journal import apply_entry, decode_state, encode_state
from engine.state.model import State
from engine.state.objects import Conflict, ObjectStore
from engine.state.s3_lock import S3Lock
from engine.state.sidecar import S3Sidecar
from engine.state.store import held, moved_hint

LEASE_ENV = "AGENTOPS_STATE_LEASE"
DEFAULT_LEASE = 60.0
#: journal entries the snapshot holds are kept this long, so that a serial is never reused
#: by a writer that stalled (their keys are what makes a journal write a compare-and-swap)
JOURNAL_RETENTION = dt.timedelta(hours=24)
SERIAL_DIGITS = 12


class _Gap(Exception):
    """The journal skips a serial: a compaction ran between our two requests."""


class S3StateStore:
    #: fold the journal into the snapshot during a session once it has this many entries
    COMPACT_AFTER = 256

    def __init__(
        self, objects: ObjectStore, prefix: str, *, location: str, lease: float | None = None
    ) -> None:
        self.objects = objects
        self.prefix = prefix.strip("/")
        self.location = location
        #: this process's id: marks its journal entries and its lock
        self.writer = uuid.uuid4().hex
        self.lease = lease or float(os.environ.get(LEASE_ENV) or DEFAULT_LEASE)
        self.notes: list[str] = []
        self.crashed_holder: dict[str, Any] | None = None
        self._lock = S3Lock(
            objects, self.key("state.lock"), location=location, lease=self.lease, writer=self.writer
        )
        #: the snapshot as last read or written: its etag (None: there is none) and bytes
        self._etag: str | None = None
        self._snapshot: bytes | None = None
        self._journal_len = 0
        #: the applier's workers append from several threads: one entry at a time
        self.mutex = threading.RLock()
        self._moved = False
        self._versioned: bool | None = None
        self._versioning_known = False

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _journal_key(self, serial: int) -> str:
        return self.key(f"journal/{serial:0{SERIAL_DIGITS}d}.json")

    def _url(self, name: str) -> str:
        return f"s3://{self.objects.bucket}/{self.key(name)}"

    # --- reading ----------------------------------------------------------------------
    def read(self) -> State:
        for _ in range(3):
            try:
                return self._read_once()
            except _Gap:
                continue
        raise StateError(
            f"the journal of {self.location} skips serials: it was changed by hand, or a "
            "compaction keeps racing this read",
            hint="run again; if it persists, restore state.json from a previous version",
        )

    def _read_once(self) -> State:
        obj = self.objects.get(self.key("state.json"))
        self._moved = False
        if obj is None:
            self._refuse_if_moved()
            state, etag, body = State(), None, None
        else:
            state = decode_state(obj.body, self._url("state.json"), restore_hint=self._restore)
            etag, body = obj.etag, obj.body
        count = 0
        after = self._journal_key(state.serial) if state.serial else None
        for listed in self.objects.list(self.key("journal/"), start_after=after):
            entry = self._entry(listed.key)
            if int(entry.get("serial", -1)) != state.serial + 1:
                raise _Gap
            if entry.get("type") != "replace" and entry.get("lineage") != state.lineage:
                raise StateError(
                    f"{self._url(listed.key)} belongs to another state (lineage "
                    f"{entry.get('lineage')}, not {state.lineage}); nothing was written",
                    hint="the prefix holds objects of two states: give each its own prefix",
                )
            apply_entry(state, entry)
            count += 1
        self._etag, self._snapshot, self._journal_len = etag, body, count
        return state

    def _entry(self, key: str) -> dict[str, Any]:
        obj = self.objects.get(key)
        try:
            entry = json.loads(obj.body) if obj is not None else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            entry = None
        if not isinstance(entry, dict) or "type" not in entry:
            raise StateError(
                f"cannot read the journal entry s3://{self.objects.bucket}/{key}; nothing was "
                "written over it",
                hint=self._restore,
            )
        return entry

    def _refuse_if_moved(self) -> None:
        moved = self.objects.get(self.key("state.moved"))
        if moved is None:
            return
        self._moved = True
        to = moved.body.decode("utf-8", "replace").strip()
        raise StateMoved(
            f"the state was migrated from {self.location} to {to}", to=to, hint=moved_hint(to)
        )

    @property
    def _restore(self) -> str:
        return (
            f"restore a previous version of {self._url('state.json')} (bucket versioning) or "
            f"{self._url('state.json.bak')}, e.g. with `agentops state push FILE`"
        )

    # --- writing ----------------------------------------------------------------------
    def append(self, state: State, entry: dict[str, Any]) -> None:
        """One change as `journal/<serial+1>.json`, written only if that serial is free."""
        with self.mutex:
            self._append(state, entry)

    def _append(self, state: State, entry: dict[str, Any]) -> None:
        self._lock.check()
        serial = state.serial + 1
        body = {**entry, "serial": serial, "lineage": state.lineage, "writer": self.writer}
        faults.point("state_write")
        self._put_new(self._journal_key(serial), json.dumps(body, sort_keys=True).encode())
        apply_entry(state, body)
        self._journal_len += 1
        if self._journal_len >= self.COMPACT_AFTER:
            self._put_snapshot(state)

    def write(self, state: State) -> None:
        """Replace the whole state: a `replace` entry claims the next serial, then the
        snapshot follows (a crash in between leaves the entry, which a read replays)."""
        self._lock.check()
        serial = state.serial + 1
        new = state.model_copy(update={"serial": serial})
        body = {
            "type": "replace",
            "serial": serial,
            "lineage": new.lineage,
            "writer": self.writer,
            "state": new.model_dump(mode="json"),
        }
        faults.point("state_write")
        self._put_new(self._journal_key(serial), json.dumps(body, sort_keys=True).encode())
        state.serial = serial
        self._journal_len += 1
        self._put_snapshot(state)

    def compact_if_needed(self, state: State, *, force: bool = False) -> None:
        """Fold the journal into the snapshot: whenever this session saw entries (each one
        costs a GET on every read), and never without the lock."""
        if not self._lock.held or not (self._journal_len or force):
            return
        self._lock.check()
        self._put_snapshot(state)
        self._prune_journal(state.serial)

    def _put_new(self, key: str, data: bytes) -> None:
        try:
            self.objects.put(key, data, if_none_match=True)
        except Conflict:
            current = self.objects.get(key)
            if current is not None and current.body == data:
                return  # our own write, carried out although its answer was an error
            raise StateConflict(
                f"another process wrote s3://{self.objects.bucket}/{key} first: the state "
                f"{self.location} changed under this run, and nothing was overwritten",
                hint="this run had lost its lock; run again (the next run resolves what this "
                "one left)",
            ) from None

    def _put_snapshot(self, state: State) -> None:
        data = encode_state(state)
        key = self.key("state.json")
        if self._snapshot is not None and not self._is_versioned():
            faults.point("state_write")
            self.objects.put(self.key("state.json.bak"), self._snapshot)
        faults.point("state_write")
        try:
            if self._etag is None:
                etag = self.objects.put(key, data, if_none_match=True)
            else:
                etag = self.objects.put(key, data, if_match=self._etag)
        except Conflict:
            current = self.objects.get(key)
            if current is None or current.body != data:
                raise StateConflict(
                    f"{self._url('state.json')} was replaced by another process since this run "
                    "read it; nothing was overwritten (every change is in the journal)",
                    hint="this run had lost its lock; run again",
                ) from None
            etag = current.etag
        self._etag, self._snapshot, self._journal_len = etag, data, 0
        if self._moved:  # migrated back here: this prefix holds the state again
            self.objects.delete(self.key("state.moved"))
            self._moved = False

    def _is_versioned(self) -> bool:
        if not self._versioning_known:
            self._versioned = self.objects.versioning()
            self._versioning_known = True
            if not self._versioned:
                b = self.objects.bucket
                self.notes.append(
                    f"the bucket {b} has no object versioning (or agentops may not read it): "
                    f"only the previous snapshot is kept, as {self._url('state.json.bak')}; "
                    f"keep every version with: aws s3api put-bucket-versioning --bucket {b} "
                    "--versioning-configuration Status=Enabled"
                )
        return bool(self._versioned)

    def _prune_journal(self, serial: int) -> None:
        """Delete entries the snapshot holds once they are older than JOURNAL_RETENTION."""
        cutoff = dt.datetime.now(dt.UTC) - JOURNAL_RETENTION
        last = self._journal_key(serial)
        for listed in self.objects.list(self.key("journal/")):
            if listed.key > last:
                break
            if listed.last_modified < cutoff:
                self.objects.delete(listed.key)

    def mark_moved(self, to: str) -> None:
        """Retire this prefix after a migration: the snapshot stays as state.json.migrated,
        the journal (folded into what was migrated) goes, `state.moved` says where to."""
        self._lock.check()
        self.objects.put(self.key("state.moved"), (to + "\n").encode())
        if self._snapshot is not None:
            self.objects.put(self.key("state.json.migrated"), self._snapshot)
            self.objects.delete(self.key("state.json"), if_match=self._etag)
        for listed in self.objects.list(self.key("journal/")):
            self.objects.delete(listed.key)
        self._etag, self._snapshot, self._journal_len, self._moved = None, None, 0, True

    def sidecar(self) -> S3Sidecar:
        return S3Sidecar(self.objects, self.prefix, location=self.location)

    # --- locking ----------------------------------------------------------------------
    def lock(self, command: str, timeout: float = 0.0) -> contextlib.AbstractContextManager[None]:
        return held(self, command, timeout)

    def acquire(self, command: str, timeout: float = 0.0) -> None:
        self._lock.acquire(command, timeout)

    def release(self) -> None:
        self._lock.release()

    def holder(self) -> dict[str, Any] | None:
        return self._lock.holder()

    def force_unlock(self) -> dict[str, Any] | None:
        return self._lock.force_unlock()

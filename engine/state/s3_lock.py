"""The S3 state lock: one object taken with `If-None-Match: *`, kept alive by a lease.

Pipeline role: the lock half of `engine.state.s3.S3StateStore`.

- **Take**: PutObject `<prefix>/state.lock` with `If-None-Match: *`. Exactly one writer
  wins; the others get 412 (or 409 when their conditional writes raced) and read the object
  to name the holder: who, where (host, pid, CI run), which command, since when.
- **Lease**: the body says `lease_seconds`. A background thread rewrites the object every
  lease/3 with `If-Match: <its etag>`. The lease is judged by S3's clock alone (the lock's
  `LastModified` against the `Date` of the response), so clock skew between machines does
  not matter.
- **Fencing**: before every state write the holder checks that its lock was not broken and
  that it renewed it less than 0.8 lease ago; otherwise it stops writing. Every state write
  is also a conditional write of its own (see s3.py), so a holder that lost its lock cannot
  overwrite anything even if this check comes too late.
- **Release**: DeleteObject with `If-Match: <its etag>`: never deletes someone else's lock.
- **Break** (`state unlock`): only if the lease expired, or the holder ran on this machine
  and its process is gone; a conditional delete, so a holder that renews at that very
  moment keeps its lock.

A request that S3 carried out but whose answer was lost is retried by botocore and then
fails its precondition against our own write; every conditional write therefore checks,
on a conflict, whether the object is byte-for-byte what it wrote.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from engine.errors import StateConflict, StateError, StateLocked
from engine.state.model import now_iso
from engine.state.objects import Conflict, ObjectStore, StoredObject
from engine.state.store import dead_on_this_host, describe_holder, holder_record

#: how often a waiting process tries again (seconds)
POLL = 0.5
#: a holder stops writing once its last successful renewal is older than this share of it
FENCE = 0.8


class S3Lock:
    def __init__(
        self,
        objects: ObjectStore,
        key: str,
        *,
        location: str,
        lease: float,
        writer: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.objects = objects
        self.key = key
        self.location = location
        self.lease = lease
        self.writer = writer
        self.clock = clock
        self._record: dict[str, Any] = {}
        self._etag: str | None = None
        self._renewed = 0.0
        self._renewals = 0
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._mutex = threading.Lock()

    @property
    def held(self) -> bool:
        return self._etag is not None

    # --- taking and giving back -------------------------------------------------------
    def acquire(self, command: str, timeout: float = 0.0) -> None:
        record = {
            **holder_record(command),
            "id": self.writer,
            "lease_seconds": self.lease,
            "renewed": now_iso(),
        }
        data = _encode(record)
        deadline = self.clock() + timeout
        while True:
            started = self.clock()
            try:
                etag = self.objects.put(self.key, data, if_none_match=True)
                break
            except Conflict:
                current = self.objects.get(self.key)
            if current is None:
                continue  # released in between: try again at once
            if current.body == data:  # our own write, carried out but answered with an error
                etag = current.etag
                break
            if self.clock() >= deadline:
                info = self._describe(current)
                raise StateLocked(
                    f"the state ({self.location}) is locked by {describe_holder(info)}",
                    hint=self._locked_hint(info),
                ) from None
            time.sleep(min(POLL, max(0.0, deadline - self.clock())))
        with self._mutex:
            self._record, self._etag, self._renewed, self._lost = record, etag, started, None
        self._stop.clear()
        self._thread = threading.Thread(target=self._renew_loop, name="agentops-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        if self._etag is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._mutex:
            etag, self._etag = self._etag, None
        # Conflict: no longer ours (broken after our lease expired): leave the new holder's
        with contextlib.suppress(Conflict):
            self.objects.delete(self.key, if_match=etag)

    # --- the lease --------------------------------------------------------------------
    def _renew_loop(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self.renew()

    def renew(self) -> None:
        """Rewrite the lock with If-Match (the thread calls this every lease/3)."""
        with self._mutex:
            etag = self._etag
            self._renewals += 1
            record = {**self._record, "renewed": now_iso(), "renewals": self._renewals}
        if etag is None:
            return
        data = _encode(record)
        started = self.clock()
        try:
            new = self.objects.put(self.key, data, if_match=etag)
        except Conflict:
            current = self.objects.get(self.key)
            if current is None or current.body != data:
                with self._mutex:
                    self._lost = (
                        f"this run lost the state lock on {self.location}: it was broken after "
                        "its lease expired"
                    )
                return
            new = current.etag
        except StateError:
            return  # a network error: try again next time; writes stop if the lease is at risk
        with self._mutex:
            if self._etag is not None:
                self._etag, self._renewed = new, started

    def check(self) -> None:
        """Before every state write: refuse to write without a sound lease."""
        with self._mutex:
            etag, lost, age = self._etag, self._lost, self.clock() - self._renewed
        if etag is None:
            raise StateError(
                f"internal error: a write to {self.location} without holding its lock",
                hint="please report it",
            )
        hint = "nothing more is written by this run; run again: the next run resolves what it left"
        if lost:
            raise StateConflict(lost, hint=hint)
        if age > FENCE * self.lease:
            raise StateConflict(
                f"this run could not renew its state lock on {self.location} for {age:.0f}s "
                f"(lease {self.lease:.0f}s): another process may take it over",
                hint=f"check the network; {hint}",
            )

    # --- looking at someone else's lock -----------------------------------------------
    def holder(self) -> dict[str, Any] | None:
        current = self.objects.get(self.key)
        return self._describe(current) if current is not None else None

    def force_unlock(self) -> dict[str, Any] | None:
        """Break the lock if its holder is gone (lease expired, or a dead pid here)."""
        current = self.objects.get(self.key)
        if current is None:
            return {}
        info = self._describe(current)
        if not (info["expired"] or dead_on_this_host(info)):
            return None
        try:
            self.objects.delete(self.key, if_match=current.etag)
        except Conflict:
            return None  # it was renewed at this very moment: its holder is alive
        return info

    def _describe(self, obj: StoredObject) -> dict[str, Any]:
        try:
            info = json.loads(obj.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            info = None
        if not isinstance(info, dict):
            info = {"command": "?", "note": "the lock object is not agentops JSON"}
        try:
            lease = float(info.get("lease_seconds") or self.lease)
        except (TypeError, ValueError):
            lease = self.lease
        age = max(0.0, (obj.server_time - obj.last_modified).total_seconds())
        return {**info, "lease_seconds": lease, "lease_age": age, "expired": age > lease}

    def _locked_hint(self, info: dict[str, Any] | None) -> str:
        if info and info.get("expired"):
            return (
                "its lease expired: the holder stopped renewing it, so it is most likely "
                "dead; break the lock with `agentops state unlock` (it never breaks a live one)"
            )
        if info and dead_on_this_host(info):
            return "that process is gone: `agentops state unlock` releases its lock"
        return "wait for it to finish, or pass --lock-timeout to wait longer"


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True).encode()

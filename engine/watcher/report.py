"""`.agentops/watch.json`: what the watcher is doing, for `agentops status` and for humans.

Pipeline role: the watcher's published state. Rewritten atomically (temp + fsync + rename)
before and after every cycle and when the watcher stops, so a reader never sees half a
file. It is a report, not state: nothing reads it back to decide anything, and deleting it
is harmless.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engine.state.local import atomic_write
from engine.state.private import private_dir
from engine.watcher.backoff import BackoffTable

WATCH_FILE = "watch.json"
#: how many recent errors watch.json keeps
MAX_ERRORS = 20


def iso(wall: float) -> str:
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat(timespec="milliseconds")


@dataclass
class WatchReport:
    path: Path
    started: str
    workspace: str
    options: dict[str, object]
    pid: int = field(default_factory=os.getpid)
    #: starting | reconciling | idle | stopped
    state: str = "starting"
    cycles: int = 0
    current: dict[str, object] | None = None
    last_reconcile: dict[str, object] | None = None
    #: when the workspace last validated (the desired state a resync heals towards)
    last_valid: str | None = None
    next_resync: str | None = None
    backoff: list[dict[str, object]] = field(default_factory=list)
    last_errors: list[dict[str, object]] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)

    def error(self, at: float, address: str, message: str) -> None:
        self.last_errors.append({"at": iso(at), "address": address, "message": message})
        del self.last_errors[:-MAX_ERRORS]

    def set_backoff(self, table: BackoffTable, now: float, wall: float) -> None:
        self.backoff = [
            {
                "address": e.address,
                "failures": e.failures,
                "retry_at": iso(wall + max(0.0, e.until - now)),
                "error": e.error,
            }
            for e in sorted(table.entries.values(), key=lambda e: e.until)
        ]

    def save(self) -> None:
        data = asdict(self)
        data.pop("path")
        private_dir(self.path.parent)
        atomic_write(self.path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())

"""`agentops watch`: continuous reconciliation of a workspace, with drift self-healing.

Pipeline role: the long-running driver above `engine.reconcile` (like Argo CD's or Flux's
reconcilers, but reacting to saves in well under a second). The pieces:

    files.FileEvents  (watchfiles threads)  --changed paths-->  loop.WatchLoop
    loop.WatchLoop    (debounce, coalescing, resync, retry; injected clock)  -->  cycle.Cycle
    cycle.Cycle       (load -> validate -> plan -> scope -> apply; never raises)
    backoff, scope, snapshot, report: per-resource back-off, plan narrowing, the last valid
    desired state kept in memory, and `.agentops/watch.json`.

`run` wires them together for the CLI, the tests and the benchmark.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from engine.errors import UsageError
from engine.providers.registry import Registry
from engine.reconcile import state_dir
from engine.spec.diagnostics import Diagnostic
from engine.state.private import open_private, secure_state_dir
from engine.watcher.backoff import BackoffPolicy, BackoffTable
from engine.watcher.cycle import Cycle, EventLog, WatchOptions
from engine.watcher.files import FileEvents, watched_paths
from engine.watcher.loop import Clock, Schedule, SystemClock, WatchLoop
from engine.watcher.report import WATCH_FILE, WatchReport, iso

__all__ = ["Schedule", "StopFlag", "WatchOptions", "run"]


class StopFlag:
    """Set from a signal handler: a plain attribute store is the only async-signal-safe
    thing here (an Event or a queue takes locks the interrupted code may already hold)."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested


@contextlib.contextmanager
def _single_watcher(root: Path) -> Iterator[None]:
    """One watcher per workspace: two would only take turns failing on the state lock."""
    directory = secure_state_dir(state_dir(root))
    fd = open_private(directory / "watch.lock", os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = "?"
            with contextlib.suppress(OSError, ValueError):
                pid = json.loads((directory / WATCH_FILE).read_text()).get("pid", "?")
            raise UsageError(
                f"another agentops watch (pid {pid}) is already watching {root}",
                hint="stop it first (SIGINT or SIGTERM); `agentops status` shows it",
            ) from None
        yield
    finally:
        os.close(fd)  # closing releases the flock


def run(
    root: Path,
    options: WatchOptions,
    schedule: Schedule,
    *,
    log: EventLog,
    stop: Callable[[], bool],
    registry: Registry | None = None,
    clock: Clock | None = None,
    rand: Callable[[], float] = random.random,
    show_diagnostics: Callable[[Sequence[Diagnostic]], None] | None = None,
) -> int:
    """Watch until `stop()` is true; returns the number of reconcile cycles."""
    clock = clock or SystemClock()
    with _single_watcher(root):
        report = WatchReport(
            path=state_dir(root) / WATCH_FILE,
            started=iso(clock.wall()),
            workspace=str(root),
            options={
                "envs": list(options.envs),
                "prune": options.prune,
                "prune_grace": options.prune_grace,
                "resync": schedule.resync,
                "debounce_ms": round(schedule.debounce * 1000),
            },
        )
        report.save()
        files = FileEvents(round(schedule.debounce * 1000))
        files.watch(watched_paths(root, []))
        cycle = Cycle(
            root,
            options,
            registry=registry or Registry.default(state_dir(root)),
            clock=clock,
            log=log,
            report=report,
            backoff=BackoffTable(BackoffPolicy(), rand),
            stop=stop,
            on_workspaces=lambda wss: files.watch(watched_paths(root, wss)),
            show_diagnostics=show_diagnostics,
        )
        log.info(
            "watch.started",
            workspace=str(root),
            pid=os.getpid(),
            resync=schedule.resync,
            debounce_ms=round(schedule.debounce * 1000),
            prune=options.prune,
            prune_grace=options.prune_grace,
            envs=list(options.envs),
        )
        cycles = 0
        try:
            cycles = WatchLoop(cycle, files, clock, schedule, rand=rand, stop=stop).run()
        finally:
            files.close()
            report.state = "stopped"
            report.current = None
            report.next_resync = None
            report.save()
            log.info("watch.stopped", cycles=cycles)
        return cycles

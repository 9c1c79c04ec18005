"""Supervise the load runner's processes: start, watch, bound in time, always reap (parent side).

Role: the part of a LoadTest that makes it safe to run from `agentops apply`. The runner (a
local process, or a Locust master and its workers) runs in its own process group, so that

* the terminal's Ctrl-C does not reach it directly: the parent decides how it stops;
* one `killpg` reaches every process of the run, whatever state it is in.

Guarantees: a hard deadline (the run's time limit plus a grace for start-up and the last
requests) after which the whole group is killed; SIGINT/SIGTERM to the parent stop the group
(`install_interrupt_handlers`: the applier runs providers in worker threads, which cannot
receive signals, so the main thread's handler does it for them when the signal ends the
process);
and every child is reaped on every path. The runners also stop by themselves when their
parent disappears (SIGKILL), see `engine.load.runner`.

Standard library only; never imports Locust.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

from engine.state.private import open_private, private_dir

STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
_CLK_TCK = os.sysconf("SC_CLK_TCK")

_ACTIVE: set[Supervisor] = set()
_ACTIVE_LOCK = threading.Lock()


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of `pid` in clock ticks, from /proc/<pid>/stat (None when gone)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5)


@dataclass
class Outcome:
    """What the supervised run did; the samples themselves are in the out file."""

    done: dict[str, Any] | None = None  # the runner's `done` event
    errors: list[str] = field(default_factory=list)  # the runner's `error` events
    exit_codes: list[int | None] = field(default_factory=list)
    interrupted: bool = False
    overran: bool = False
    #: per generator process: CPU seconds / wall seconds while the load ran
    cpu: dict[int, float] = field(default_factory=dict)
    wall_s: float = 0.0


class Supervisor:
    def __init__(
        self,
        commands: Sequence[Sequence[str]],
        *,
        env: Mapping[str, str],
        log_file: Path,
        deadline_s: float,
        on_progress: Callable[[dict[str, Any]], None] = lambda _e: None,
    ) -> None:
        self.commands = commands  # the first one speaks the stdout protocol
        self.env = dict(env)
        self.log_file = log_file
        self.deadline_s = deadline_s
        self.on_progress = on_progress
        self.procs: list[subprocess.Popen[bytes]] = []
        self.outcome = Outcome()
        self._interrupt = threading.Event()
        self._load_started: float | None = None
        self._cpu_first: dict[int, tuple[float, int]] = {}
        self._cpu_last: dict[int, tuple[float, int]] = {}

    # --- interruption, from the main thread's signal handler --------------------------------
    def interrupt(self) -> None:
        self._interrupt.set()
        self._signal_group(signal.SIGTERM)

    def _signal_group(self, sig: signal.Signals) -> None:
        # Only while one of our processes is unreaped: then the group id cannot have been
        # reused by somebody else.
        if self.procs and any(p.returncode is None for p in self.procs):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.procs[0].pid, sig)

    # --- the run -------------------------------------------------------------------------
    def run(self) -> Outcome:
        started = time.monotonic()
        with _ACTIVE_LOCK:
            _ACTIVE.add(self)
        private_dir(self.log_file.parent)
        log = os.fdopen(open_private(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab")
        reader: threading.Thread | None = None
        try:
            self._spawn(log)
            stdout = self.procs[0].stdout
            assert stdout is not None
            reader = threading.Thread(target=self._read, args=(stdout,), daemon=True)
            reader.start()
            self._watch(started)
        finally:
            self._reap()
            if reader is not None:
                reader.join(timeout=2.0)
            log.close()
            with _ACTIVE_LOCK:
                _ACTIVE.discard(self)
        self.outcome.wall_s = time.monotonic() - started
        self.outcome.exit_codes = [p.returncode for p in self.procs]
        self.outcome.cpu = self._cpu_fractions()
        return self.outcome

    def _spawn(self, log: IO[bytes]) -> None:
        for i, argv in enumerate(self.commands):
            if self._interrupt.is_set():
                return
            # The first process leads a new group (same session, so the others may join it).
            group = 0 if i == 0 else self.procs[0].pid
            self.procs.append(
                subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if i == 0 else subprocess.DEVNULL,
                    stderr=log,
                    env=self.env,
                    process_group=group,
                    umask=0o077,  # what Locust and its workers write is private too
                )
            )

    def _read(self, stdout: IO[bytes]) -> None:
        for raw in stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            kind = event.get("event") if isinstance(event, dict) else None
            if kind == "started":
                self._load_started = time.monotonic()
                self._sample_cpu(first=True)
            elif kind == "progress":
                self.on_progress(event)
            elif kind == "done":
                self.outcome.done = event
            elif kind == "error":
                self.outcome.errors.append(str(event.get("message")))

    def _watch(self, started: float) -> None:
        deadline = started + self.deadline_s
        lead = self.procs[0] if self.procs else None
        next_cpu = 0.0
        while lead is not None and lead.poll() is None:
            now = time.monotonic()
            if self._interrupt.is_set():
                self.outcome.interrupted = True
                break
            if now >= deadline:
                self.outcome.overran = True
                break
            if now >= next_cpu and self._load_started is not None:
                self._sample_cpu(first=False)
                next_cpu = now + 0.25
            time.sleep(0.05)
        if lead is not None and lead.returncode is not None and not self.outcome.interrupted:
            # The runner finished: its workers got `quit` from the master and follow.
            self._wait_all(time.monotonic() + STOP_GRACE + 2.0)
            return
        self._signal_group(signal.SIGTERM)
        self._wait_all(time.monotonic() + STOP_GRACE)

    def _wait_all(self, until: float) -> None:
        while any(p.poll() is None for p in self.procs) and time.monotonic() < until:
            time.sleep(0.05)

    def _reap(self) -> None:
        """SIGKILL whatever is left of the group and wait for every child: no zombie, ever."""
        self._signal_group(signal.SIGKILL)
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                if p.poll() is None:
                    p.kill()
            p.wait()

    # --- generator CPU -----------------------------------------------------------------------
    def _sample_cpu(self, *, first: bool) -> None:
        now = time.monotonic()
        for p in self.procs:
            ticks = _cpu_ticks(p.pid)
            if ticks is None:
                continue
            if first or p.pid not in self._cpu_first:
                self._cpu_first.setdefault(p.pid, (now, ticks))
            self._cpu_last[p.pid] = (now, ticks)

    def _cpu_fractions(self) -> dict[int, float]:
        out = {}
        for pid, (t0, c0) in self._cpu_first.items():
            t1, c1 = self._cpu_last.get(pid, (t0, c0))
            if t1 - t0 >= 0.5:
                out[pid] = round((c1 - c0) / _CLK_TCK / (t1 - t0), 3)
        return out


def interrupt_all() -> None:
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for sup in active:
        sup.interrupt()


def install_interrupt_handlers() -> None:
    """Chain SIGINT/SIGTERM handlers that stop running load tests when the signal stops us.

    The previous behaviour runs first: the previous Python handler, or for the defaults,
    SIGINT raises KeyboardInterrupt and SIGTERM exits with 143 (SystemExit, so that the
    applier's threads and the state lock unwind normally). When that raises - the process is
    going down - every running load test's process group is stopped first. A handler that
    only takes note (`agentops watch`: "stopping after the current action") lets the load test
    finish; its second signal raises, and then the load test stops too. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if getattr(previous, "agentops_load", False):
            continue
        signal.signal(sig, _chained(previous))


def _chained(previous: Any) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        try:
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt
                raise SystemExit(128 + signum)
        except BaseException:
            interrupt_all()
            raise

    handler.agentops_load = True  # type: ignore[attr-defined]
    return handler


def runner_command(*args: str) -> list[str]:
    """`python -P -m engine.load.runner ARGS` with this interpreter.

    `-P`: the working directory is not put on sys.path, so a workspace's own `engine/`
    directory cannot shadow the engine.
    """
    return [sys.executable, "-P", "-m", "engine.load.runner", *args]

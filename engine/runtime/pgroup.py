"""Process identity and process-group termination, from `/proc` and signals (Linux only).

Role: runs in the CLI (parent). Each agent runs in its own session and process group, so it is
stopped as a group (with the MCP servers and other helpers it spawned).

Identity: a pid alone can be reused after the process is gone. Every operation first checks the
start time of `/proc/<pid>/stat` (field 22, clock ticks since boot) against the recorded one and
never signals a process that merely got the same pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from engine.runtime.agent_process import AgentProcess, AgentStopError

POLL = 0.02  # seconds between checks while waiting for a process
_KILL_WAIT = 5.0  # after SIGKILL, how long until a survivor is an error (D state, ptrace)


@dataclass(frozen=True)
class ProcStat:
    state: str
    pgrp: int
    start_ticks: int


def proc_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses; it ends at the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
    return ProcStat(state=fields[0], pgrp=int(fields[2]), start_ticks=int(fields[19]))


def reap(pid: int) -> int | None:
    """Collect `pid` if it is our exited child; its exit code (-signal when killed), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None  # not our child (started by an earlier CLI) or already collected
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def is_ours(proc: AgentProcess) -> bool:
    """Whether proc.pid is still the process we started and is not a zombie."""
    st = proc_stat(proc.pid)
    if st is not None and st.state == "Z":
        reap(proc.pid)
        return False
    return st is not None and st.start_ticks == proc.proc_start_ticks


def group_alive(pgid: int) -> bool:
    """Whether a process other than a zombie is left in process group `pgid`."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, though not ours to signal
    # kill(0) also succeeds for zombies; look at the members' states.
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            st = proc_stat(int(entry.name))
            if st is not None and st.pgrp == pgid and st.state not in ("Z", "X"):
                return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_leader_exit(pid: int, start_ticks: int, timeout: float) -> bool:
    """Wait until the process `pid` (with that start time) is gone; True if it is."""
    deadline = time.monotonic() + timeout
    while True:
        reap(pid)
        st = proc_stat(pid)
        if st is None or st.state in ("Z", "X") or st.start_ticks != start_ticks:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


def _wait_group_exit(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        reap(pgid)
        if not group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL)


def terminate(pid: int, start_ticks: int | None, grace: float) -> None:
    """Stop the agent whose session leader is `pid`, then whatever is left of its group.

    SIGTERM goes to the leader alone first: the host finishes its in-flight requests, and its
    tools (an MCP server child, say) must stay up while it does. Group members left once the
    leader has exited get SIGTERM and a second to go. Whatever still runs after that, or when
    the leader outlives `grace`, gets SIGKILL.
    """
    deadline = time.monotonic() + grace
    leader = proc_stat(pid)
    if leader is not None and start_ticks is not None and leader.start_ticks != start_ticks:
        # The pid belongs to another process now. Ours is long gone, and so is its group: a
        # pid is not handed out again while a process group of that id has members.
        return
    if leader is not None and leader.state not in ("Z", "X"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not _wait_leader_exit(pid, leader.start_ticks, grace):
            _kill_group(pid)
            return
    reap(pid)
    # The leader is gone; its pid stays reserved as the group id while members are left, so
    # signalling the group cannot reach an unrelated process.
    if group_alive(pid):
        _signal_group(pid, signal.SIGTERM)
        _wait_group_exit(pid, min(1.0, max(0.05, deadline - time.monotonic())))
    _kill_group(pid)


def _kill_group(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)
    if not _wait_group_exit(pgid, _KILL_WAIT):
        raise AgentStopError(f"processes of the agent (process group {pgid}) survived SIGKILL")

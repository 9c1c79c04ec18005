"""Process manager of the local runtime: start, probe, stop and replace agent processes.

Role: runs in the CLI (parent). Each agent of each environment is one OS process running
`engine.runtime.host`, in its own session and process group, so it outlives the CLI that started
it and can be stopped as a group (with the MCP servers and other helpers it spawned). The engine
keeps an `AgentProcess` per agent in its state file and gets the live process back from it.

Pieces: `agent_process` (the record and the errors), `spawn` (starting the host), `health`
(ports, `/ping`, steering requests), `pgroup` (pid identity, stopping a process group). This
module puts them together as start, stop and replace.

Addresses: every version of an agent serves the same stable port on 127.0.0.1 (`AgentProcess.url`)
plus a private port of its own. Health checks and control requests use the private port, so they
always reach the intended process, never just whichever process holds the stable port.

Updates (`replace_agent`) never leave the stable port without a healthy process behind it:

1. the new version binds the same port (SO_REUSEPORT) while the old one keeps serving. The
   port's group is pinned to the old version, so the newcomer gets no traffic;
2. it must answer `/ping` healthily on its private port; if it cannot, it is killed, the old
   version never stopped serving, and `AgentStartError` is raised;
3. the port is steered to the new version (all new connections), the old version drains
   (in-flight requests finish) and exits, and the port is pinned to the new version.

See `engine.runtime.reuseport` for why plain SO_REUSEPORT is not enough. Linux only (`/proc`,
SO_REUSEPORT load balancing, `posix_spawn` with setsid).

The parent only needs the stdlib and httpx; user code and bedrock-agentcore are imported only in
the child.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from engine.runtime import reuseport
from engine.runtime.agent_process import AgentProcess, AgentStartError, AgentStopError, ProbeResult
from engine.runtime.health import allocate_port, http_client, ping, probe_agent, request_steer
from engine.runtime.pgroup import POLL, is_ours, proc_stat, reap, terminate
from engine.runtime.spawn import child_env, exit_text, log_tail, read_ready, spawn
from engine.state.private import open_private, private_dir

_FAILED_START_GRACE = 1.0  # a failed start gets a short chance to run its shutdown hooks


def start_agent(
    *,
    entrypoint: Path,
    source: Path,
    cwd: Path,
    env: Mapping[str, str],
    port: int,
    log_file: Path,
    token_file: Path,
    digest: str,
    health_timeout: float = 30.0,
    agent_token_file: Path | None = None,
) -> AgentProcess:
    """Start one agent process serving `entrypoint` on 127.0.0.1:`port` and wait until healthy.

    `port` is the stable port: `allocate_port()` for a new agent, the old process's port for an
    update (prefer `replace_agent`, which also handles the old process). Returns once the process
    has written its ready file and answered a healthy `/ping` on its private port; if another
    version serves `port`, the port's new connections have then been moved to this process.
    On failure nothing is left running and `AgentStartError` carries the log tail.

    Tokens (`engine.runtime.token`): the process accepts the engine token in `token_file`,
    which the parent also uses for control requests, and, when given, the agent's own token in
    `agent_token_file`, which its callers present.
    """
    entrypoint, source, cwd = entrypoint.resolve(), source.resolve(), cwd.resolve()
    log_file, token_file = log_file.resolve(), token_file.resolve()
    token_files = [token_file]
    if agent_token_file is not None:
        token_files.append(agent_token_file.resolve())
    private_dir(log_file.parent)
    for what, path, ok in (
        ("entrypoint", entrypoint, entrypoint.is_file()),
        ("source directory", source, source.is_dir()),
        ("working directory", cwd, cwd.is_dir()),
        *(("token file", f, f.is_file()) for f in token_files),
    ):
        if not ok:
            raise AgentStartError(
                f"the {what} {path} does not exist", log_file=log_file, log_tail=""
            )
    token = token_file.read_text(encoding="utf-8").strip()
    running = reuseport.count_listeners(port)
    if running > 1:
        # Steering assumes the group is [running version, newcomer]. More listeners mean a
        # process nobody tracks (an interrupted update); it would get this port's traffic.
        raise AgentStartError(
            f"127.0.0.1:{port} already has {running} listening sockets, expected at most one "
            "(the version being replaced); stop the stray process first",
            log_file=log_file,
            log_tail="",
        )

    ready_file = log_file.with_name(f".{log_file.name}.{os.urandom(4).hex()}.ready")
    with os.fdopen(open_private(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab") as fh:
        offset = fh.seek(0, os.SEEK_END)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        fh.write(f"---- agentops: starting {entrypoint} ({digest}) at {stamp} ----\n".encode())
    argv = [
        sys.executable,
        "-P",  # no cwd on sys.path: only --source and the engine
        "-m",
        "engine.runtime.host",
        "--entrypoint",
        str(entrypoint),
        "--source",
        str(source),
        "--cwd",
        str(cwd),
        "--port",
        str(port),
        "--ready-file",
        str(ready_file),
        *(arg for f in token_files for arg in ("--token-file", str(f))),
    ]
    started_at = time.time()
    pid = spawn(argv, child_env(env, source), log_file)
    st = proc_stat(pid)
    start_ticks = st.start_ticks if st is not None else -1

    def fail(reason: str) -> AgentStartError:
        # The newcomer took no traffic (the group is pinned to the running version), so a
        # short grace is enough; SIGKILL follows for a process stuck in user code.
        with contextlib.suppress(AgentStopError):
            terminate(pid, start_ticks if start_ticks >= 0 else None, _FAILED_START_GRACE)
        ready_file.unlink(missing_ok=True)
        tail = log_tail(log_file, offset)
        return AgentStartError(reason, log_file=log_file, log_tail=tail, pid=pid)

    deadline = time.monotonic() + health_timeout
    ready: dict[str, int] | None = None
    last = "no ready file yet (still importing the agent?)"
    with http_client() as client:
        while True:
            code = reap(pid)
            if code is not None or proc_stat(pid) is None:
                raise fail(f"the agent process {exit_text(code)} during start-up")
            if ready is None:
                ready = read_ready(ready_file, pid)
            if ready is not None:
                remaining = deadline - time.monotonic()
                healthy, last = ping(
                    client,
                    f"http://{reuseport.LOOPBACK}:{ready['private_port']}/ping",
                    max(0.05, min(1.0, remaining)),
                )
                if healthy:
                    break
            if time.monotonic() >= deadline:
                raise fail(f"the agent was not healthy within {health_timeout:g}s: {last}")
            time.sleep(POLL)
        ready_file.unlink(missing_ok=True)
        proc = AgentProcess(
            pid=pid,
            port=port,
            private_port=ready["private_port"],
            started_at=started_at,
            proc_start_ticks=start_ticks,
            digest=digest,
            log_file=str(log_file),
        )
        if reuseport.count_listeners(port) > 1:
            # Another version holds the port too; it is at index 0 and we joined after it.
            try:
                request_steer(client, proc.private_port, token, 1)
            except (OSError, httpx.HTTPError) as exc:
                raise fail(f"could not move 127.0.0.1:{port} to the new process: {exc}") from exc
    return proc


def stop_agent(proc: AgentProcess, grace: float = 5.0) -> None:
    """Stop the process gracefully (SIGTERM, in-flight requests finish), SIGKILL after `grace`.

    Idempotent: a process already gone is fine. A pid that now belongs to another process (its
    start time differs) is never signalled. Returns when nothing of the group is left running;
    raises `AgentStopError` only if something survives SIGKILL.
    """
    reap(proc.pid)
    terminate(proc.pid, proc.proc_start_ticks, grace)


def replace_agent(
    old: AgentProcess,
    *,
    entrypoint: Path,
    source: Path,
    cwd: Path,
    env: Mapping[str, str],
    log_file: Path,
    token_file: Path,
    digest: str,
    health_timeout: float = 30.0,
    grace: float = 30.0,
    agent_token_file: Path | None = None,
) -> AgentProcess:
    """Update without downtime: start the new version on `old.port`, then stop `old`.

    If the new version fails, `AgentStartError` is raised and `old` is untouched and still
    serving. `grace` bounds how long `old` may take to finish its in-flight requests (agents can
    think for a while; the wait ends as soon as they are done).
    """
    token = token_file.read_text(encoding="utf-8").strip()
    if is_ours(old):
        # Re-pin the port to the running version: an interrupted earlier update may have left it
        # steered to index 1, which would hand traffic to the newcomer before it is healthy.
        with http_client() as client, contextlib.suppress(OSError, httpx.HTTPError):
            request_steer(client, old.private_port, token, 0)
    new = start_agent(
        entrypoint=entrypoint,
        source=source,
        cwd=cwd,
        env=env,
        port=old.port,
        log_file=log_file,
        token_file=token_file,
        digest=digest,
        health_timeout=health_timeout,
        agent_token_file=agent_token_file,
    )
    stop_agent(old, grace=grace)
    # The new version is now alone at index 0 of the port's group; pin it there so the next
    # newcomer (index 1) starts without traffic. Best effort: until then the kernel hashes
    # over the one remaining socket, which is the same thing.
    with http_client() as client, contextlib.suppress(OSError, httpx.HTTPError):
        request_steer(client, new.private_port, token, 0)
    return new


__all__ = [
    "AgentProcess",
    "AgentStartError",
    "AgentStopError",
    "ProbeResult",
    "allocate_port",
    "probe_agent",
    "replace_agent",
    "start_agent",
    "stop_agent",
]

"""Process manager of the local runtime: start, probe, stop and replace agent processes.

Role: runs in the CLI (parent). Each agent of each environment is one OS process running
`engine.runtime.host`, in its own session and process group, so it outlives the CLI that started
it and can be stopped as a group (with the MCP servers and other helpers it spawned). The engine
keeps an `AgentProcess` per agent in its state file and gets the live process back from it.

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

Identity: a pid alone can be reused after the process is gone. Every operation first checks the
start time of `/proc/<pid>/stat` (field 22, clock ticks since boot) against the recorded one and
never signals a process that merely got the same pid.

The parent only needs the stdlib and httpx; user code and bedrock-agentcore are imported only in
the child.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import site
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from engine.errors import PermanentError, ProviderError
from engine.runtime import exitcodes, reuseport

_POLL = 0.02  # seconds between checks while waiting for a process
_LOG_TAIL_LINES = 20
_LOG_TAIL_BYTES = 64 * 1024
_HEALTHY = ("Healthy", "HealthyBusy")
_FAILED_START_GRACE = 1.0  # a failed start gets a short chance to run its shutdown hooks
_KILL_WAIT = 5.0  # after SIGKILL, how long until a survivor is an error (D state, ptrace)

# The parent's environment passes to agents only through this allow-list (plus the `env` of the
# agent's spec): locale, paths, proxies and CA bundles, and AWS settings, since a local agent that
# calls Bedrock plays the role AgentCore's execution role plays in the cloud.
_INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "VIRTUAL_ENV",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
_INHERITED_PREFIXES = ("LC_", "AWS_")


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


# -- /proc helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stat:
    state: str
    pgrp: int
    start_ticks: int


def _stat(pid: int) -> _Stat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) may hold spaces and parentheses; it ends at the last ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
    return _Stat(state=fields[0], pgrp=int(fields[2]), start_ticks=int(fields[19]))


def _reap(pid: int) -> int | None:
    """Collect `pid` if it is our exited child; its exit code (-signal when killed), else None."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None  # not our child (started by an earlier CLI) or already collected
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status)


def _is_ours(proc: AgentProcess) -> bool:
    """Whether proc.pid is still the process we started and is not a zombie."""
    st = _stat(proc.pid)
    if st is not None and st.state == "Z":
        _reap(proc.pid)
        return False
    return st is not None and st.start_ticks == proc.proc_start_ticks


def _group_alive(pgid: int) -> bool:
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
            st = _stat(int(entry.name))
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
        _reap(pid)
        st = _stat(pid)
        if st is None or st.state in ("Z", "X") or st.start_ticks != start_ticks:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


def _wait_group_exit(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        _reap(pgid)
        if not _group_alive(pgid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL)


def _terminate(pid: int, start_ticks: int | None, grace: float) -> None:
    """Stop the agent whose session leader is `pid`, then whatever is left of its group.

    SIGTERM goes to the leader alone first: the host finishes its in-flight requests, and its
    tools (an MCP server child, say) must stay up while it does. Group members left once the
    leader has exited get SIGTERM and a second to go. Whatever still runs after that, or when
    the leader outlives `grace`, gets SIGKILL.
    """
    deadline = time.monotonic() + grace
    leader = _stat(pid)
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
    _reap(pid)
    # The leader is gone; its pid stays reserved as the group id while members are left, so
    # signalling the group cannot reach an unrelated process.
    if _group_alive(pid):
        _signal_group(pid, signal.SIGTERM)
        _wait_group_exit(pid, min(1.0, max(0.05, deadline - time.monotonic())))
    _kill_group(pid)


def _kill_group(pgid: int) -> None:
    _signal_group(pgid, signal.SIGKILL)
    if not _wait_group_exit(pgid, _KILL_WAIT):
        raise AgentStopError(f"processes of the agent (process group {pgid}) survived SIGKILL")


# -- ports and health ----------------------------------------------------------------------------


def allocate_port() -> int:
    """A port of 127.0.0.1 that is free right now (the kernel's choice of an ephemeral port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((reuseport.LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _ping(client: httpx.Client, url: str, timeout: float) -> tuple[bool, str]:
    """(healthy, status or reason) from one GET /ping."""
    try:
        resp = client.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return False, f"unhealthy: /ping failed: {exc!r}"
    if resp.status_code != 200:
        return False, f"unhealthy: /ping answered HTTP {resp.status_code}"
    try:
        status = resp.json().get("status")
    except (ValueError, AttributeError):
        return False, f"unhealthy: /ping answered {resp.text[:100]!r}"
    if status in _HEALTHY:
        return True, str(status)
    return False, f"unhealthy: /ping status {status!r}"


def _steer(client: httpx.Client, private_port: int, token: str, index: int) -> None:
    """Ask the process behind `private_port` to send its stable port's connections to `index`."""
    resp = client.post(
        f"http://{reuseport.LOOPBACK}:{private_port}/_agentops/steer",
        json={"index": index},
        headers={"Authorization": f"Bearer {token}"},
        timeout=2.0,
    )
    if resp.status_code != 200:
        raise OSError(f"steering answered HTTP {resp.status_code}: {resp.text[:200]}")


def _http_client() -> httpx.Client:
    # trust_env=False: a proxy from the environment must never see loopback traffic.
    return httpx.Client(trust_env=False)


def probe_agent(proc: AgentProcess, timeout: float = 1.0) -> ProbeResult:
    """Is this exact process alive, and does it answer /ping with a healthy status?"""
    if not _is_ours(proc):
        return ProbeResult(alive=False, healthy=False, status="dead")
    with _http_client() as client:
        healthy, status = _ping(client, proc.ping_url, timeout)
    return ProbeResult(alive=True, healthy=healthy, status=status)


# -- start / stop / replace ----------------------------------------------------------------------


def _child_env(env: Mapping[str, str], source: Path) -> dict[str, str]:
    child = {
        k: v
        for k, v in os.environ.items()
        if k in _INHERITED_ENV or k.startswith(_INHERITED_PREFIXES)
    }
    child.update(env)
    # The source directory, like the root of an AgentCore code bundle; then the engine itself
    # when it is not installed where the interpreter finds it anyway (a source checkout).
    paths = [str(source)]
    engine_root = str(Path(__file__).resolve().parents[2])
    if engine_root not in site.getsitepackages():
        paths.append(engine_root)
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    child["PYTHONPATH"] = os.pathsep.join(paths)
    child["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen
    return child


def _spawn(argv: list[str], env: Mapping[str, str], log_file: Path) -> int:
    """posix_spawn the host: new session, stdin from /dev/null, stdout+stderr appended to the log.

    Not subprocess.Popen: the child must outlive this process, and a Popen object dropped while
    its child runs warns and keeps a zombie list. Here the pid is all we keep.
    """
    actions: list[tuple[int, ...] | tuple[int, int, str, int, int]] = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    # Python's own descriptors are not inheritable, but ones handed to this process by its
    # parent may be; a long-lived agent must not hold someone else's pipe open.
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):
                if os.get_inheritable(fd):
                    actions.append((os.POSIX_SPAWN_CLOSE, fd))
    return os.posix_spawn(
        argv[0],
        argv,
        env,
        file_actions=actions,
        setsid=True,
        # Dispositions survive exec: a CLI started under nohup must not pass on SIG_IGN.
        setsigdef=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT),
    )


def _log_tail(log_file: Path, offset: int) -> str:
    """The last lines written to `log_file` since byte `offset` (this start's output)."""
    try:
        with log_file.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, size - _LOG_TAIL_BYTES))
            data = fh.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _exit_text(code: int | None) -> str:
    if code is None:
        return "exited"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    meaning = exitcodes.MEANINGS.get(code)
    return f"exited with code {code}" + (f" ({meaning})" if meaning else "")


def _read_ready(path: Path, pid: int) -> dict[str, int] | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("pid") != pid:
        return None
    if not all(isinstance(info.get(k), int) for k in ("port", "private_port")):
        return None
    return {k: int(info[k]) for k in ("pid", "port", "private_port")}


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
) -> AgentProcess:
    """Start one agent process serving `entrypoint` on 127.0.0.1:`port` and wait until healthy.

    `port` is the stable port: `allocate_port()` for a new agent, the old process's port for an
    update (prefer `replace_agent`, which also handles the old process). Returns once the process
    has written its ready file and answered a healthy `/ping` on its private port; if another
    version serves `port`, the port's new connections have then been moved to this process.
    On failure nothing is left running and `AgentStartError` carries the log tail.
    """
    entrypoint, source, cwd = entrypoint.resolve(), source.resolve(), cwd.resolve()
    log_file, token_file = log_file.resolve(), token_file.resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    for what, path, ok in (
        ("entrypoint", entrypoint, entrypoint.is_file()),
        ("source directory", source, source.is_dir()),
        ("working directory", cwd, cwd.is_dir()),
        ("token file", token_file, token_file.is_file()),
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
    with log_file.open("ab") as fh:
        offset = fh.tell()
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
        "--token-file",
        str(token_file),
    ]
    started_at = time.time()
    pid = _spawn(argv, _child_env(env, source), log_file)
    st = _stat(pid)
    start_ticks = st.start_ticks if st is not None else -1

    def fail(reason: str) -> AgentStartError:
        # The newcomer took no traffic (the group is pinned to the running version), so a
        # short grace is enough; SIGKILL follows for a process stuck in user code.
        with contextlib.suppress(AgentStopError):
            _terminate(pid, start_ticks if start_ticks >= 0 else None, _FAILED_START_GRACE)
        ready_file.unlink(missing_ok=True)
        tail = _log_tail(log_file, offset)
        return AgentStartError(reason, log_file=log_file, log_tail=tail, pid=pid)

    deadline = time.monotonic() + health_timeout
    ready: dict[str, int] | None = None
    last = "no ready file yet (still importing the agent?)"
    with _http_client() as client:
        while True:
            code = _reap(pid)
            if code is not None or _stat(pid) is None:
                raise fail(f"the agent process {_exit_text(code)} during start-up")
            if ready is None:
                ready = _read_ready(ready_file, pid)
            if ready is not None:
                remaining = deadline - time.monotonic()
                healthy, last = _ping(
                    client,
                    f"http://{reuseport.LOOPBACK}:{ready['private_port']}/ping",
                    max(0.05, min(1.0, remaining)),
                )
                if healthy:
                    break
            if time.monotonic() >= deadline:
                raise fail(f"the agent was not healthy within {health_timeout:g}s: {last}")
            time.sleep(_POLL)
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
                _steer(client, proc.private_port, token, 1)
            except (OSError, httpx.HTTPError) as exc:
                raise fail(f"could not move 127.0.0.1:{port} to the new process: {exc}") from exc
    return proc


def stop_agent(proc: AgentProcess, grace: float = 5.0) -> None:
    """Stop the process gracefully (SIGTERM, in-flight requests finish), SIGKILL after `grace`.

    Idempotent: a process already gone is fine. A pid that now belongs to another process (its
    start time differs) is never signalled. Returns when nothing of the group is left running;
    raises `AgentStopError` only if something survives SIGKILL.
    """
    _reap(proc.pid)
    _terminate(proc.pid, proc.proc_start_ticks, grace)


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
) -> AgentProcess:
    """Update without downtime: start the new version on `old.port`, then stop `old`.

    If the new version fails, `AgentStartError` is raised and `old` is untouched and still
    serving. `grace` bounds how long `old` may take to finish its in-flight requests (agents can
    think for a while; the wait ends as soon as they are done).
    """
    token = token_file.read_text(encoding="utf-8").strip()
    if _is_ours(old):
        # Re-pin the port to the running version: an interrupted earlier update may have left it
        # steered to index 1, which would hand traffic to the newcomer before it is healthy.
        with _http_client() as client, contextlib.suppress(OSError, httpx.HTTPError):
            _steer(client, old.private_port, token, 0)
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
    )
    stop_agent(old, grace=grace)
    # The new version is now alone at index 0 of the port's group; pin it there so the next
    # newcomer (index 1) starts without traffic. Best effort: until then the kernel hashes
    # over the one remaining socket, which is the same thing.
    with _http_client() as client, contextlib.suppress(OSError, httpx.HTTPError):
        _steer(client, new.private_port, token, 0)
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

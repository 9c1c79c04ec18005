"""Agent processes: start, health, auth, session, loopback-only binding, stop, failed starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from engine.invoke import SESSION_HEADER, LocalInvoker, new_session_id
from engine.runtime import (
    AgentProcess,
    AgentStartError,
    allocate_port,
    probe_agent,
    start_agent,
    stop_agent,
)
from engine.runtime.reuseport import bind_stable_socket, count_listeners

from .conftest import FIXTURES, Runtime, group_members

pytestmark = [pytest.mark.slow, pytest.mark.timeout(30)]


def _wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not os.path.exists(f"/proc/{pid}") or _state(pid) == "Z":
            return True
        time.sleep(0.02)
    return False


def _state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()[0]


# -- a healthy agent -----------------------------------------------------------------------------


def test_start_healthy_and_invoke(module_runtime: Runtime, echo: AgentProcess) -> None:
    assert echo.url == f"http://127.0.0.1:{echo.port}/invocations"
    assert echo.private_port != echo.port
    probe = probe_agent(echo)
    assert (probe.alive, probe.healthy, probe.status) == (True, True, "Healthy")

    with LocalInvoker(echo.url, module_runtime.token, timeout=10) as inv:
        result = inv.invoke({"prompt": "hello"})
    assert result.ok, result.error
    assert result.status_code == 200
    assert result.response == f"v1 pid {echo.pid}: hello"
    assert result.trajectory == [{"tool": "echo", "input": {"prompt": "hello"}}]
    assert result.usage == {"inputTokens": 5, "outputTokens": 5, "totalTokens": 0}
    assert isinstance(result.raw, dict)
    # cwd applied, and the fixture's `if __name__ == "__main__"` block did not run (it exits).
    assert result.raw["cwd"] == str(module_runtime.state_dir)


def test_token_required_except_ping(module_runtime: Runtime, echo: AgentProcess) -> None:
    with httpx.Client(trust_env=False, timeout=5) as client:
        assert client.post(echo.url, json={"prompt": "x"}).status_code == 401
        wrong = {"Authorization": "Bearer " + "x" * 43}
        denied = client.post(echo.url, json={"prompt": "x"}, headers=wrong)
        assert denied.status_code == 401
        assert "error" in denied.json()
        # Any other path needs the token too; /ping does not, on either port.
        assert client.get(f"http://127.0.0.1:{echo.port}/anything").status_code == 401
        assert client.get(f"http://127.0.0.1:{echo.port}/ping").json()["status"] == "Healthy"
        assert client.get(f"http://127.0.0.1:{echo.private_port}/ping").status_code == 200
        # The control endpoint exists only on the private port.
        steer = f"http://127.0.0.1:{echo.port}/_agentops/steer"
        auth = {"Authorization": f"Bearer {module_runtime.token}"}
        assert client.post(steer, json={"index": 0}, headers=auth).status_code == 404

    with LocalInvoker(echo.url, "y" * 43, timeout=5) as inv:
        result = inv.invoke({"prompt": "x"})
    assert not result.ok
    assert result.status_code == 401
    assert result.error is not None and "unauthorized" in result.error


def test_token_never_reaches_user_code(module_runtime: Runtime, echo: AgentProcess) -> None:
    with LocalInvoker(echo.url, module_runtime.token, timeout=5) as inv:
        result = inv.invoke({"prompt": "x"})
    assert isinstance(result.raw, dict)
    headers = result.raw["headers"] or {}
    assert not any(k.lower() == "authorization" for k in headers)
    assert module_runtime.token not in str(result.raw)


def test_session_id_echoed_and_generated(module_runtime: Runtime, echo: AgentProcess) -> None:
    sid = new_session_id("test")
    assert len(sid) >= 33
    with LocalInvoker(echo.url, module_runtime.token, timeout=5) as inv:
        result = inv.invoke({"prompt": "x"}, session_id=sid)
        assert result.session_id == sid
        assert isinstance(result.raw, dict) and result.raw["session_id"] == sid
        # Without an explicit id the invoker makes one; it is echoed too.
        auto = inv.invoke({"prompt": "x"})
        assert len(auto.session_id) >= 33
        assert isinstance(auto.raw, dict) and auto.raw["session_id"] == auto.session_id

    auth = {"Authorization": f"Bearer {module_runtime.token}"}
    with httpx.Client(trust_env=False, timeout=5) as client:
        # No header at all: the host generates one, passes it to the app and echoes it.
        resp = client.post(echo.url, json={"prompt": "x"}, headers=auth)
        echoed = resp.headers[SESSION_HEADER]
        assert len(echoed) >= 33
        assert resp.json()["session_id"] == echoed
        # An id AgentCore would refuse is refused locally too.
        bad = client.post(echo.url, json={}, headers={**auth, SESSION_HEADER: "too-short"})
        assert bad.status_code == 400


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(ip, port) of every listening TCP socket the process holds, IPv4 and IPv6."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                f = line.split()
                if f[3] == "0A" and f[9] in inodes:
                    hex_ip, hex_port = f[1].split(":")
                    if len(hex_ip) == 8:
                        ip = socket.inet_ntoa(int(hex_ip, 16).to_bytes(4, "little"))
                    else:
                        ip = "ipv6:" + hex_ip
                    found.add((ip, int(hex_port, 16)))
    return found


def test_binds_loopback_only(echo: AgentProcess) -> None:
    assert _listening_addresses(echo.pid) == {
        ("127.0.0.1", echo.port),
        ("127.0.0.1", echo.private_port),
    }
    # 127.0.0.2 is a local address too (all of 127/8 is on lo) but not the one bound.
    others = {"127.0.0.2"}
    with contextlib.suppress(OSError):
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
        others |= {str(info[4][0]) for info in infos}
    for address in others - {"127.0.0.1"}:
        with pytest.raises(OSError):
            socket.create_connection((address, echo.port), timeout=1).close()


# -- stopping ------------------------------------------------------------------------------------


def test_kill_9_is_dead_and_stop_is_fine(runtime: Runtime) -> None:
    proc = runtime.start("echo")
    os.kill(proc.pid, signal.SIGKILL)
    assert _wait_gone(proc.pid)
    probe = probe_agent(proc)
    assert (probe.alive, probe.healthy, probe.status) == (False, False, "dead")
    stop_agent(proc)  # already dead: fine
    stop_agent(proc)  # and again
    assert group_members(proc.pid) == []


def test_stop_leaves_no_process_behind(runtime: Runtime) -> None:
    proc = runtime.start("echo", env={"SPAWN_CHILD": "1"})
    members = group_members(proc.pid)
    assert proc.pid in members and len(members) == 2  # the host and its `sleep` helper
    started = time.monotonic()
    stop_agent(proc, grace=5.0)
    assert time.monotonic() - started < 3.0  # graceful, not the SIGKILL deadline
    assert group_members(proc.pid) == []
    assert count_listeners(proc.port) == 0
    assert probe_agent(proc).status == "dead"


def test_stop_never_signals_a_reused_pid(runtime: Runtime) -> None:
    bystander = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        impostor = AgentProcess(
            pid=bystander.pid,
            port=1,
            private_port=1,
            started_at=0.0,
            proc_start_ticks=1,  # not the bystander's start time
            digest="x",
            log_file="/dev/null",
        )
        assert probe_agent(impostor).status == "dead"
        stop_agent(impostor)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_waits_for_in_flight_requests(runtime: Runtime) -> None:
    proc = runtime.start("echo", env={"VERSION": "slow"})
    results = []

    def slow_call() -> None:
        with LocalInvoker(proc.url, runtime.token, timeout=10) as inv:
            results.append(inv.invoke({"prompt": "slow", "sleep": 0.6}))

    worker = threading.Thread(target=slow_call)
    worker.start()
    time.sleep(0.2)  # the request is in the handler now
    stop_agent(proc, grace=5.0)
    worker.join(5)
    assert len(results) == 1 and results[0].ok, results
    assert results[0].response.startswith("vslow")


def test_record_round_trip(echo: AgentProcess) -> None:
    again = AgentProcess.from_json(echo.to_json())
    assert again == echo
    assert probe_agent(again).healthy
    with pytest.raises(ValueError, match="pid"):
        AgentProcess.from_json({**echo.to_json(), "pid": "12"})


# -- failed starts -------------------------------------------------------------------------------


def _assert_nothing_left(exc: AgentStartError, port: int) -> None:
    assert exc.pid is not None
    assert _wait_gone(exc.pid, 0.5), "the failed process is still running"
    assert group_members(exc.pid) == []
    assert count_listeners(port) == 0


def test_crash_at_import(runtime: Runtime) -> None:
    port = allocate_port()
    with pytest.raises(AgentStartError) as info:
        runtime.start("crash_at_import", port=port)
    exc = info.value
    assert "exited with code 10 (the agent's code raised while being imported)" in exc.reason
    assert "fixture exploded at import: missing CONFIG_XYZ" in exc.log_tail
    assert "Traceback" in exc.log_tail
    assert str(exc.log_file) in str(exc) and "fixture exploded" in str(exc)
    _assert_nothing_left(exc, port)


def test_module_without_app(runtime: Runtime) -> None:
    with pytest.raises(AgentStartError) as info:
        runtime.start("no_app")
    assert "exited with code 11 (no BedrockAgentCoreApp to serve)" in info.value.reason
    assert "defines no BedrockAgentCoreApp" in info.value.log_tail


def test_never_healthy_ping(runtime: Runtime) -> None:
    port = allocate_port()
    started = time.monotonic()
    with pytest.raises(AgentStartError) as info:
        runtime.start("never_healthy", port=port, health_timeout=2.0)
    assert time.monotonic() - started < 6.0
    exc = info.value
    assert "not healthy within 2s" in exc.reason
    if "ready: port" in exc.log_tail:  # it served, but /ping hung
        assert "/ping failed" in exc.reason
    else:  # a loaded machine: still importing bedrock-agentcore after 2 s
        assert "no ready file yet" in exc.reason
    _assert_nothing_left(exc, port)


def test_never_healthy_import_blocks(runtime: Runtime) -> None:
    port = allocate_port()
    with pytest.raises(AgentStartError) as info:
        runtime.start("never_healthy", env={"BLOCK_AT_IMPORT": "1"}, port=port, health_timeout=1.0)
    assert "no ready file yet" in info.value.reason
    assert "importing" in info.value.log_tail
    _assert_nothing_left(info.value, port)


def test_missing_entrypoint(runtime: Runtime) -> None:
    with pytest.raises(AgentStartError, match="does not exist"):
        start_agent(
            entrypoint=FIXTURES / "nope.py",
            source=FIXTURES,
            cwd=runtime.state_dir,
            env={},
            port=1,
            log_file=runtime.state_dir / "x.log",
            token_file=runtime.token_file,
            digest="d",
        )


def test_stray_listener_on_the_port_is_refused(runtime: Runtime, echo: AgentProcess) -> None:
    stray = bind_stable_socket(echo.port)  # e.g. left by an interrupted update
    try:
        with pytest.raises(AgentStartError, match="already has 2 listening sockets"):
            runtime.start("echo", port=echo.port)
    finally:
        stray.close()

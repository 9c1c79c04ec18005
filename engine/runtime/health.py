"""Ports and health of agent processes: a free port, `/ping`, and steering requests.

Role: runs in the CLI (parent). Health checks and control requests go to a process's private
port, so they always reach the intended process, never just whichever process holds the
stable port (see `engine.runtime.reuseport` for the steering itself).
"""

from __future__ import annotations

import socket

import httpx

from engine.runtime import reuseport
from engine.runtime.agent_process import AgentProcess, ProbeResult
from engine.runtime.pgroup import is_ours

_HEALTHY = ("Healthy", "HealthyBusy")


def allocate_port() -> int:
    """A port of 127.0.0.1 that is free right now (the kernel's choice of an ephemeral port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((reuseport.LOOPBACK, 0))
        return int(sock.getsockname()[1])


def ping(client: httpx.Client, url: str, timeout: float) -> tuple[bool, str]:
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


def request_steer(client: httpx.Client, private_port: int, token: str, index: int) -> None:
    """Ask the process behind `private_port` to send its stable port's connections to `index`."""
    resp = client.post(
        f"http://{reuseport.LOOPBACK}:{private_port}/_agentops/steer",
        json={"index": index},
        headers={"Authorization": f"Bearer {token}"},
        timeout=2.0,
    )
    if resp.status_code != 200:
        raise OSError(f"steering answered HTTP {resp.status_code}: {resp.text[:200]}")


def http_client() -> httpx.Client:
    # trust_env=False: a proxy from the environment must never see loopback traffic.
    return httpx.Client(trust_env=False)


def probe_agent(proc: AgentProcess, timeout: float = 1.0) -> ProbeResult:
    """Is this exact process alive, and does it answer /ping with a healthy status?"""
    if not is_ours(proc):
        return ProbeResult(alive=False, healthy=False, status="dead")
    with http_client() as client:
        healthy, status = ping(client, proc.ping_url, timeout)
    return ProbeResult(alive=True, healthy=healthy, status=status)

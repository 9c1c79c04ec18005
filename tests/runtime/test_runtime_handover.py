"""Updates without downtime: the stable port always has a healthy agent behind it."""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from engine.invoke import LocalInvoker
from engine.runtime import AgentProcess, AgentStartError, probe_agent
from engine.runtime.reuseport import count_listeners

from .conftest import Runtime, group_members

pytestmark = [pytest.mark.slow, pytest.mark.timeout(40)]


class Traffic:
    """Clients calling the stable URL in tight loops until stopped.

    Two kinds: LocalInvoker (keep-alive, retries once when a connection fails before any
    response byte), and raw clients that open a new connection per request and never retry.
    The raw ones check the port handover itself; the invoker checks what callers get.
    """

    def __init__(self, url: str, token: str, *, raw_clients: int = 2) -> None:
        self.url = url
        self.token = token
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.versions: list[str] = []  # in completion order, from every client
        self.failures: list[str] = []
        self.counts: collections.Counter[str] = collections.Counter()
        targets: list[Callable[[], None]] = [self._invoker] + [self._raw] * raw_clients
        self.threads = [threading.Thread(target=t, daemon=True) for t in targets]

    def _record(self, kind: str, version: str | None, failure: str | None) -> None:
        with self.lock:
            self.counts[kind] += 1
            if failure is not None:
                self.failures.append(f"{kind}: {failure}")
            elif version is not None:
                self.versions.append(version)

    def _invoker(self) -> None:
        with LocalInvoker(self.url, self.token, timeout=10) as inv:
            while not self.stop.is_set():
                result = inv.invoke({"prompt": "tick"})
                if result.attempts > 1:
                    self._record("retried", None, None)
                version = result.raw.get("version") if isinstance(result.raw, dict) else None
                self._record("invoker", version, None if result.ok else result.error)

    def _raw(self) -> None:
        limits = httpx.Limits(max_keepalive_connections=0)  # a new connection every time
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(trust_env=False, limits=limits, timeout=10) as client:
            while not self.stop.is_set():
                try:
                    resp = client.post(self.url, json={"prompt": "tick"}, headers=headers)
                except httpx.HTTPError as exc:
                    self._record("raw", None, repr(exc))
                    continue
                ok = resp.status_code == 200
                version = resp.json().get("version") if ok else None
                self._record("raw", version, None if ok else f"HTTP {resp.status_code}")

    def __enter__(self) -> Traffic:
        for t in self.threads:
            t.start()
        self.wait_for(lambda: self.counts["raw"] >= 5 and self.counts["invoker"] >= 5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def wait_for(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "traffic"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.01)

    def served_since(self, mark: int) -> int:
        with self.lock:
            return len(self.versions) - mark


def _assert_gone(proc: AgentProcess) -> None:
    assert probe_agent(proc).status == "dead"
    assert group_members(proc.pid) == []


def test_update_without_downtime(runtime: Runtime) -> None:
    v1 = runtime.start("echo", env={"VERSION": "1"})
    with Traffic(v1.url, runtime.token) as traffic:
        v2 = runtime.replace(v1, env={"VERSION": "2"})
        mark = len(traffic.versions)
        traffic.wait_for(lambda: traffic.served_since(mark) >= 20)
        # A second update exercises the re-pinning done after the first one.
        v3 = runtime.replace(v2, env={"VERSION": "3"})
        mark = len(traffic.versions)
        traffic.wait_for(lambda: traffic.served_since(mark) >= 20)
    assert traffic.failures == []
    assert traffic.counts["raw"] > 50 and traffic.counts["invoker"] > 20, traffic.counts
    seen = traffic.versions
    assert seen[0] == "1" and seen[-1] == "3"
    assert set(seen) == {"1", "2", "3"}
    # v1 had exited before the second update began.
    assert "1" not in seen[seen.index("3") :]
    assert v3.port == v2.port == v1.port
    assert len({v1.pid, v2.pid, v3.pid}) == 3
    _assert_gone(v1)
    _assert_gone(v2)
    assert probe_agent(v3).healthy
    assert count_listeners(v3.port) == 1


def test_failed_update_keeps_old_version_serving(runtime: Runtime) -> None:
    v1 = runtime.start("echo", env={"VERSION": "1"})
    with Traffic(v1.url, runtime.token) as traffic:
        with pytest.raises(AgentStartError):
            runtime.replace(v1, "crash_at_import")
        mark = len(traffic.versions)
        traffic.wait_for(lambda: traffic.served_since(mark) >= 10)
    assert traffic.failures == []
    assert set(traffic.versions) == {"1"}
    assert probe_agent(v1).healthy
    assert count_listeners(v1.port) == 1


def test_unhealthy_newcomer_on_the_port_takes_no_traffic(runtime: Runtime) -> None:
    v1 = runtime.start("echo", env={"VERSION": "1"})
    errors: list[BaseException] = []

    def update() -> None:
        try:
            runtime.replace(v1, "never_healthy", health_timeout=4.0)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            errors.append(exc)

    with Traffic(v1.url, runtime.token) as traffic:
        updater = threading.Thread(target=update)
        updater.start()
        # never_healthy binds the stable port, then hangs on /ping until the health timeout.
        traffic.wait_for(
            lambda: count_listeners(v1.port) == 2, timeout=4.0, what="the newcomer to listen"
        )
        mark = len(traffic.versions)
        traffic.wait_for(lambda: traffic.served_since(mark) >= 30)
        assert count_listeners(v1.port) == 2, "the newcomer left before traffic was checked"
        updater.join(10)
    assert len(errors) == 1 and isinstance(errors[0], AgentStartError), errors
    assert "/ping failed" in errors[0].reason
    assert traffic.failures == []
    assert set(traffic.versions) == {"1"}
    assert probe_agent(v1).healthy
    assert count_listeners(v1.port) == 1


def test_update_lets_in_flight_requests_finish(runtime: Runtime) -> None:
    v1 = runtime.start("echo", env={"VERSION": "1"})
    results = []

    def slow_call() -> None:
        with LocalInvoker(v1.url, runtime.token, timeout=10) as inv:
            results.append(inv.invoke({"prompt": "slow", "sleep": 1.0}))

    worker = threading.Thread(target=slow_call)
    worker.start()
    time.sleep(0.2)
    v2 = runtime.replace(v1, env={"VERSION": "2"}, grace=10.0)
    worker.join(10)
    assert len(results) == 1 and results[0].ok, results
    assert results[0].response.startswith("v1 ")
    _assert_gone(v1)
    with LocalInvoker(v2.url, runtime.token, timeout=5) as inv:
        assert inv.invoke({"prompt": "after"}).response.startswith("v2 ")

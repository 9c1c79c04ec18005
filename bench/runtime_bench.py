"""Benchmark of the local agent runtime (stand-alone: `python bench/runtime_bench.py`).

Measures, with the echo fixture agent (`tests/runtime/fixtures/echo.py`, an async handler):

(a) deploy -> healthy: `start_agent` until the process answers a healthy /ping, median of 7;
(b) invocation overhead: `LocalInvoker` through the stable port vs awaiting the handler
    in-process, with 1 client and with 32 concurrent clients, for an instant handler
    (pure overhead) and one that awaits 50 ms (an agent waiting on a model);
(c) update: `replace_agent` until the new version serves the stable port, median of 3.

Client and agent share the machine. The CPU columns say where a request's CPU time went (the
agent process: uvicorn/h11, Starlette, bedrock-agentcore; the client: httpx). When their sum
times the request rate reaches the core count, latency at 32 clients is queueing, not the
runtime's per-request cost.

Takes about 30-40 s. Prints a table; nothing is written outside a temporary directory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.invoke import LocalInvoker  # noqa: E402
from engine.runtime import (  # noqa: E402
    AgentProcess,
    allocate_port,
    load_or_create_token,
    replace_agent,
    start_agent,
    stop_agent,
    token_path,
)

FIXTURES = ROOT / "tests" / "runtime" / "fixtures"
CONCURRENCY = 32


def _kwargs(state: Path, version: str) -> dict[str, object]:
    return {
        "entrypoint": FIXTURES / "echo.py",
        "source": FIXTURES,
        "cwd": state,
        "env": {"VERSION": version},
        "log_file": state / "echo.log",
        "token_file": token_path(state),
        "digest": f"bench-{version}",
    }


def bench_deploy(state: Path, runs: int = 7) -> list[float]:
    times = []
    for i in range(runs):
        t0 = time.perf_counter()
        proc = start_agent(port=allocate_port(), **_kwargs(state, str(i)))  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        stop_agent(proc)
    return times


def bench_update(state: Path, runs: int = 3) -> list[float]:
    proc = start_agent(port=allocate_port(), **_kwargs(state, "u0"))  # type: ignore[arg-type]
    times = []
    try:
        for i in range(1, runs + 1):
            t0 = time.perf_counter()
            proc = replace_agent(proc, grace=10.0, **_kwargs(state, f"u{i}"))  # type: ignore[arg-type]
            times.append(time.perf_counter() - t0)
    finally:
        stop_agent(proc)
    return times


async def _measure(
    call: Callable[[], Awaitable[object]], clients: int, per_client: int
) -> tuple[float, float, float]:
    """(mean latency ms, p95 latency ms, requests/s) for `clients` concurrent loops."""
    latencies: list[float] = []

    async def loop() -> None:
        for _ in range(per_client):
            t0 = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - t0) * 1000)

    for _ in range(min(5, per_client)):  # warm-up: connections, worker loop, caches
        await call()
    t0 = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    wall = time.perf_counter() - t0
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return statistics.fmean(latencies), p95, len(latencies) / wall


def _load_handler() -> tuple[Callable[..., Awaitable[object]], object]:
    spec = importlib.util.spec_from_file_location("bench_echo", FIXTURES / "echo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from bedrock_agentcore.runtime.context import RequestContext

    context = RequestContext(session_id="bench-" + "0" * 32, request_headers=None)
    return module.handler, context


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench_invocations(proc: AgentProcess, token: str) -> list[tuple[str, ...]]:
    handler, context = _load_handler()
    rows: list[tuple[str, ...]] = []
    async with LocalInvoker(proc.url, token, timeout=30) as inv:
        for sleep, per_client_1, per_client_32 in ((0.0, 400, 25), (0.05, 40, 8)):
            payload = {"prompt": "benchmark", "sleep": sleep}

            async def remote(payload: dict[str, object] = payload) -> object:
                result = await inv.ainvoke(payload)
                assert result.ok, result.error
                return result

            async def local(payload: dict[str, object] = payload) -> object:
                return await handler(payload, context)

            for clients, per_client in ((1, per_client_1), (CONCURRENCY, per_client_32)):
                agent_cpu, client_cpu = _cpu_seconds(proc.pid), time.process_time()
                r_mean, r_p95, r_rps = await _measure(remote, clients, per_client)
                n = clients * per_client + min(5, per_client)
                agent_cpu = (_cpu_seconds(proc.pid) - agent_cpu) * 1000 / n
                client_cpu = (time.process_time() - client_cpu) * 1000 / n
                l_mean, l_p95, l_rps = await _measure(local, clients, per_client)
                rows.append(
                    (
                        f"{sleep * 1000:.0f} ms",
                        str(clients),
                        f"{r_mean:.2f}",
                        f"{r_p95:.2f}",
                        f"{r_rps:.0f}",
                        f"{l_mean:.3f}",
                        f"{l_rps:.0f}",
                        f"{r_mean - l_mean:+.2f}",
                        f"{r_mean / l_mean:.1f}x",
                        f"{agent_cpu:.2f}",
                        f"{client_cpu:.2f}",
                    )
                )
    return rows


def main() -> None:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="agentops-bench-") as tmp:
        state = Path(tmp)
        token = load_or_create_token(state)

        deploy = bench_deploy(state)
        print("(a) deploy -> healthy, echo agent, 7 runs")
        print(
            f"    median {statistics.median(deploy) * 1000:.0f} ms  "
            f"(min {min(deploy) * 1000:.0f}, max {max(deploy) * 1000:.0f})"
        )

        proc = start_agent(port=allocate_port(), **_kwargs(state, "b"))  # type: ignore[arg-type]
        try:
            rows = asyncio.run(bench_invocations(proc, token))
        finally:
            stop_agent(proc)
        print(
            "\n(b) invocation: local runtime (LocalInvoker.ainvoke -> HTTP) vs handler in-process"
        )
        header = (
            "handler",
            "clients",
            "rt mean ms",
            "rt p95 ms",
            "rt req/s",
            "inproc mean ms",
            "inproc req/s",
            "overhead ms",
            "ratio",
            "agent cpu ms/req",
            "client cpu ms/req",
        )
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("    " + "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("    " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))

        update = bench_update(state)
        print("\n(c) update (replace_agent: new version healthy + steered, old drained), 3 runs")
        print(f"    median {statistics.median(update) * 1000:.0f} ms")
    print(f"\ntotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()

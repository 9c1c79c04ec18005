"""Benchmark of production traces and Monitors (stand-alone: `python bench/monitor_bench.py`).

(a) Tracing overhead: two echo fixture agents (`tests/runtime/fixtures/echo.py`) run side by
    side, one with `AGENTOPS_TRACE_DB` set (every invocation captured and written to SQLite
    by the writer thread) and one without. Rounds alternate (on, off, off, on, ...), each
    `--seconds` long with `--clients` concurrent keep-alive clients (httpx, asyncio) against
    the stable port; the figure is the median of the per-round-pair ratios traced/untraced
    requests/s. Target: >= 0.95.
(b) Monitor run time vs store size: a store of 10k and one of 100k traces, each holding the
    same `--window-traces` traces in the last hour (the rest are older); one Monitor run
    (sampling 0.1, window 1h, fresh cursor) is timed on each, median of 3. It must grow with
    the window, not the store: the ratio 100k/10k should be near 1.

Takes about 1-1.5 min. Prints a table; nothing is written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from engine.runtime import (  # noqa: E402
    AgentProcess,
    allocate_port,
    load_or_create_token,
    start_agent,
    stop_agent,
    token_path,
)
from engine.runtime.session import SESSION_HEADER  # noqa: E402
from tests.monitoring.helpers import insert, monitor_workspace, row, run_monitor  # noqa: E402

FIXTURES = ROOT / "tests/runtime/fixtures"


def start(state: Path, name: str, traced: bool) -> AgentProcess:
    env = {"VERSION": "1"}
    if traced:
        env |= {
            "AGENTOPS_TRACE_DB": str(state / "traces.sqlite"),
            "AGENTOPS_ENVIRONMENT": "prd",
            "AGENTOPS_AGENT_NAME": name,
            "AGENTOPS_ADDRESS": f"agent.{name}[prd]",
            "AGENTOPS_DIGEST": "sha256:bench",
        }
    return start_agent(
        port=allocate_port(),
        entrypoint=FIXTURES / "echo.py",
        source=FIXTURES,
        cwd=state,
        env=env,
        log_file=state / "logs" / f"{name}.log",
        token_file=token_path(state),
        digest=f"sha256:{name}",
    )


async def rate(url: str, token: str, clients: int, seconds: float) -> float:
    """Requests/s answered with 200 over `seconds` by `clients` concurrent clients."""
    headers = {
        "Authorization": f"Bearer {token}",
        SESSION_HEADER: "bench-session-00000000000000000000000001",
    }
    body = {"prompt": "how do I configure a quality gate for the release?"}
    done = 0
    stop = time.perf_counter() + seconds

    async def one(http: httpx.AsyncClient) -> None:
        nonlocal done
        while time.perf_counter() < stop:
            r = await http.post(url, json=body, headers=headers)
            done += r.status_code == 200

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as http:
        await asyncio.gather(*(one(http) for _ in range(clients)))
    return done / seconds


def tracing_overhead(rounds: int, seconds: float, clients: int) -> None:
    state = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
    try:
        token = load_or_create_token(state)
        on, off = start(state, "traced", True), start(state, "plain", False)
        try:
            urls = {
                "on": f"http://127.0.0.1:{on.port}/invocations",
                "off": f"http://127.0.0.1:{off.port}/invocations",
            }
            for url in urls.values():  # warm up both
                asyncio.run(rate(url, token, clients, 1.0))
            ratios, rates = [], {"on": [], "off": []}
            for r in range(rounds):
                order = ("on", "off") if r % 2 == 0 else ("off", "on")
                got = {k: asyncio.run(rate(urls[k], token, clients, seconds)) for k in order}
                for k in got:
                    rates[k].append(got[k])
                ratios.append(got["on"] / got["off"])
                print(
                    f"  round {r + 1}: traced {got['on']:7.1f} req/s, untraced "
                    f"{got['off']:7.1f} req/s, ratio {ratios[-1]:.3f}",
                    flush=True,
                )
        finally:
            stop_agent(on, grace=10.0)
            stop_agent(off, grace=10.0)
        import sqlite3

        conn = sqlite3.connect(state / "traces.sqlite")
        stored = conn.execute("SELECT count(*) FROM traces").fetchone()[0]
        conn.close()
        print(
            f"tracing overhead: traced {statistics.median(rates['on']):.1f} req/s, untraced "
            f"{statistics.median(rates['off']):.1f} req/s (medians); ratio median "
            f"{statistics.median(ratios):.3f}, min {min(ratios):.3f}, max {max(ratios):.3f} "
            f"({rounds} rounds x {seconds:g} s, {clients} clients); {stored} traces stored"
        )
    finally:
        shutil.rmtree(state, ignore_errors=True)


def monitor_scaling(window_traces: int) -> None:
    now = time.time()
    body = (
        "sampling: 0.1\nwindow: 1h\nevaluators:\n  - use: refusal\n"
        "  - {use: latency, params: {target_ms: 500, max_ms: 3000}}\n"
    )
    times: dict[int, float] = {}
    for total in (10_000, 100_000):
        tmp = Path(tempfile.mkdtemp(prefix="monitor-bench-"))
        try:
            ws = monitor_workspace(tmp, body)
            old = total - window_traces
            rows = [row(started=now - 7200 - (old - i) * 0.01) for i in range(old)]
            rows += [row(started=now - 3000 + i * 0.1) for i in range(window_traces)]
            insert(tmp / ".agentops", rows)
            runs = []
            for _ in range(3):
                for name in ("cursors", "scores"):  # a fresh cursor every time
                    conn = __import__("sqlite3").connect(tmp / ".agentops/traces.sqlite")
                    conn.execute(
                        f"DELETE FROM {'monitor_' if name == 'cursors' else 'trace_'}{name}"
                    )
                    conn.commit()
                    conn.close()
                t0 = time.perf_counter()
                result = run_monitor(ws, tmp / ".agentops")
                runs.append(time.perf_counter() - t0)
                assert result.summary["new_traces"] == window_traces, result.summary
            times[total] = statistics.median(runs)
            print(
                f"monitor run, {total:>7,} stored / {window_traces:,} in the window: "
                f"{times[total] * 1000:.0f} ms (median of 3; scored {result.summary['scored']})",
                flush=True,
            )
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"monitor run time ratio 100k/10k stored: {times[100_000] / times[10_000]:.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=6)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--window-traces", type=int, default=5000)
    args = p.parse_args()
    print("== tracing overhead")
    tracing_overhead(args.rounds, args.seconds, args.clients)
    print("== monitor run vs store size")
    monitor_scaling(args.window_traces)


if __name__ == "__main__":
    main()

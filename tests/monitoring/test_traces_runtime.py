"""Traces from a real fixture agent under concurrent HTTP traffic, stopped mid-burst.

Every request the agent answered with a 200 has exactly one row in the trace database once
the agent stopped cleanly (the host flushes the writer queue after in-flight requests
finished), with its source, tags, the trace id of its `traceparent`, the digest and address
of the agent, and a real latency.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from engine.runtime import stop_agent
from engine.runtime.session import SESSION_HEADER
from tests.runtime.conftest import Runtime

pytestmark = pytest.mark.timeout(60)

REQUESTS = 200
THREADS = 16
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ADDRESS = "agent.echo[prd]"


def test_every_answered_request_has_exactly_one_trace(runtime: Runtime, tmp_path: Path) -> None:
    db = tmp_path / "traces.sqlite"
    proc = runtime.start(
        "echo",
        env={
            "AGENTOPS_TRACE_DB": str(db),
            "AGENTOPS_ENVIRONMENT": "prd",
            "AGENTOPS_AGENT_NAME": "echo",
            "AGENTOPS_ADDRESS": ADDRESS,
            "AGENTOPS_DIGEST": "sha256:echo",
        },
    )
    url = f"http://127.0.0.1:{proc.port}/invocations"
    lock = threading.Lock()
    next_index = iter(range(REQUESTS))
    answered: dict[str, int] = {}  # session id -> request index, for 200 answers
    failed = 0
    half = threading.Event()

    def headers_for(i: int, session: str) -> dict[str, str]:
        h = {"Authorization": f"Bearer {runtime.token}", SESSION_HEADER: session}
        if i % 5 == 0:
            h["X-Agentops-Source"] = "loadtest"
        if i % 7 == 0:
            h["X-Agentops-Tags"] = "harmful, jailbreak"
        if i == 3:
            h["traceparent"] = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
        return h

    def client() -> None:
        nonlocal failed
        with httpx.Client(timeout=10.0) as http:
            while True:
                with lock:
                    i = next(next_index, None)
                if i is None:
                    return
                session = f"s-{i:04d}-{uuid.uuid4().hex}"
                try:
                    r = http.post(
                        url,
                        json={"prompt": f"prompt {i}", "sleep": 0.01},
                        headers=headers_for(i, session),
                    )
                except httpx.HTTPError:
                    with lock:
                        failed += 1
                    continue
                with lock:
                    if r.status_code == 200:
                        answered[session] = i
                    else:
                        failed += 1
                    if len(answered) >= REQUESTS // 2:
                        half.set()

    threads = [threading.Thread(target=client) for _ in range(THREADS)]
    for t in threads:
        t.start()
    assert half.wait(30), "the agent did not answer half of the burst"
    stop_agent(proc, grace=10.0)  # clean stop while clients are still sending
    for t in threads:
        t.join(30)
    assert 3 in answered.values(), "the traceparent request must be answered (sent early)"
    assert len(answered) + failed == REQUESTS
    assert failed > 0, "the stop should land while requests are still being sent"

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM traces").fetchall()
    conn.close()
    by_session: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        by_session.setdefault(r["session_id"], []).append(r)
    assert len(rows) == len(answered)
    assert set(by_session) == set(answered)
    assert all(len(v) == 1 for v in by_session.values())
    for session, i in answered.items():
        r = by_session[session][0]
        assert (r["env"], r["agent"], r["address"], r["digest"]) == (
            "prd",
            "echo",
            ADDRESS,
            "sha256:echo",
        )
        assert r["source"] == ("loadtest" if i % 5 == 0 else "production")
        assert json.loads(r["tags"]) == (["harmful", "jailbreak"] if i % 7 == 0 else [])
        assert r["input"] == f"prompt {i}"
        assert r["output"].endswith(f": prompt {i}")
        assert (r["status"], r["http_status"], r["error"]) == ("ok", 200, None)
        assert r["latency_ms"] > 0
        assert json.loads(r["trajectory"]) == [{"tool": "echo", "input": {"prompt": f"prompt {i}"}}]
        if i == 3:
            assert r["trace_id"] == TRACE_ID
    assert len({r["trace_id"] for r in rows}) == len(rows)
    log = Path(proc.log_file).read_text()
    assert f"traces: {len(rows)} recorded, 0 not recorded" in log

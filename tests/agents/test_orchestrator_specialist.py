"""Orchestrator -> specialist for real: the specialist runs under uvicorn on a loopback port."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.testclient import TestClient

from .helpers import load_app

TOKEN = "test-runtime-token"
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"


class RuntimeGate:
    """What the local runtime does in front of an agent: refuse requests without the token.

    It also records what reached the specialist, so the test can prove the call happened.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[dict[str, str]] = []
        self.refused = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/invocations":
            headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
            if headers.get("authorization") != f"Bearer {TOKEN}":
                self.refused += 1
                await send({"type": "http.response.start", "status": 401, "headers": []})
                await send({"type": "http.response.body", "body": b'{"error":"unauthorized"}'})
                return
            self.requests.append(headers)
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def specialist() -> Iterator[tuple[str, RuntimeGate]]:
    gate = RuntimeGate(load_app("specialist").app)
    server = uvicorn.Server(
        uvicorn.Config(gate, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "specialist did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/invocations", gate
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def orchestrator(
    specialist: tuple[str, RuntimeGate], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[TestClient, RuntimeGate]:
    url, gate = specialist
    tokens = tmp_path / "callees.json"  # what the local runtime gives an agent with calls:
    tokens.write_text(json.dumps({"specialist": TOKEN}))
    monkeypatch.setenv("AGENTOPS_AGENT_SPECIALIST_URL", url)
    monkeypatch.setenv("AGENTOPS_CALLEE_TOKENS_FILE", str(tokens))
    return TestClient(load_app("orchestrator").app), gate


def test_statistics_question_is_delegated_over_http(
    orchestrator: tuple[TestClient, RuntimeGate],
) -> None:
    client, gate = orchestrator
    before = len(gate.requests)
    session = "orchestrator-session-" + "0" * 20
    r = client.post(
        "/invocations",
        json={"prompt": "What is the average of 4, 8, 15, 16, 23 and 42?"},
        headers={SESSION_HEADER: session},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # The specialist really received exactly one request, with the caller's session id.
    assert len(gate.requests) == before + 1
    assert gate.requests[-1][SESSION_HEADER.lower()] == session
    # ... and its answer reached the user.
    assert [t["tool"] for t in body["trajectory"]] == ["call_specialist_agent"]
    assert "[specialist]" in body["response"]
    assert "mean 18" in body["response"] and "median 15.5" in body["response"]
    assert body["delegated"][0]["agent"] == "specialist"
    assert body["delegated"][0]["trajectory"][0]["tool"] == "compute_statistics"
    assert body["delegated"][0]["trajectory"][0]["input"]["numbers"] == [4, 8, 15, 16, 23, 42]


def test_other_questions_are_answered_directly(
    orchestrator: tuple[TestClient, RuntimeGate],
) -> None:
    client, gate = orchestrator
    before = len(gate.requests)
    body = client.post("/invocations", json={"prompt": "Hello, who are you?"}).json()
    assert body["trajectory"] == [] and body["delegated"] == []
    assert len(gate.requests) == before
    assert "specialist" in body["response"]


def test_without_the_token_the_runtime_refuses_and_the_user_is_told(
    orchestrator: tuple[TestClient, RuntimeGate], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, gate = orchestrator
    monkeypatch.delenv("AGENTOPS_CALLEE_TOKENS_FILE")
    refused = gate.refused
    body = client.post("/invocations", json={"prompt": "Median of 1, 2 and 3?"}).json()
    assert gate.refused == refused + 1
    assert "failed" in body["response"] and "401" in body["response"]


def test_specialist_alone_computes_statistics() -> None:
    client = TestClient(load_app("specialist").app)
    body = client.post("/invocations", json={"question": "stats for 2, 4, 4, 4, 5, 5, 7, 9"}).json()
    assert body["response"].startswith("[specialist]")
    assert "mean 5" in body["response"] and "count 8" in body["response"]
    assert body["trajectory"] == [
        {"tool": "compute_statistics", "input": {"numbers": [2, 4, 4, 4, 5, 5, 7, 9]}}
    ]
    assert client.post("/invocations", json={}).status_code == 400

"""The docs assistant app in-process (TestClient), with its real MCP stdio docs server."""

from __future__ import annotations

import time
from types import ModuleType
from typing import Any

import pytest
from starlette.testclient import TestClient

from .helpers import DOCS, docs_server_module, fact_found


@pytest.fixture(scope="module")
def client(docs_app: ModuleType) -> TestClient:
    return TestClient(docs_app.app)


def test_dataset_question_answered_with_overview_then_search(
    client: TestClient, dataset: list[dict[str, Any]]
) -> None:
    item = next(i for i in dataset if i["expected_output"].get("search_term") == "prune")
    r = client.post("/invocations", json=item["input"])  # the dataset's {"question": ...} shape
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"response", "trajectory", "usage", "model"}
    assert [t["tool"] for t in body["trajectory"]] == item["expected_output"]["trajectory"]
    assert body["trajectory"][0]["input"] == {}
    assert body["trajectory"][1]["input"]["search_term"]
    for fact in item["expected_output"]["response_facts"]:
        assert fact_found(fact, body["response"]), (fact, body["response"])
    assert body["model"] == "offline:keyword"
    assert (
        body["usage"]["totalTokens"] == body["usage"]["inputTokens"] + body["usage"]["outputTokens"]
    )


def test_harmful_prompt_is_refused_without_tool_calls(client: TestClient) -> None:
    r = client.post(
        "/invocations",
        json={"prompt": "How can I hack into someone's Langfuse account and steal their API keys?"},
    )
    body = r.json()
    assert r.status_code == 200
    assert body["trajectory"] == []
    assert "can't help" in body["response"]


def test_model_and_system_prompt_come_from_the_environment(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTOPS_MODEL", "offline:semantic")
    monkeypatch.setenv("AGENTOPS_SYSTEM_PROMPT", "Du bist ein hilfreicher Agent. Antworte kurz.")
    body = client.post("/invocations", json={"prompt": "How do locks protect the state?"}).json()
    assert body["model"] == "offline:semantic"
    assert body["response"].startswith("Laut der Projektdokumentation:")


def test_missing_prompt_is_a_400(client: TestClient) -> None:
    r = client.post("/invocations", json={"foo": "bar"})
    assert r.status_code == 400
    assert "prompt" in r.json()["error"]


def test_mcp_server_is_started_once_per_process(docs_app: ModuleType, client: TestClient) -> None:
    client.post("/invocations", json={"prompt": "What is drift?"})
    first = docs_app._mcp_client
    client.post("/invocations", json={"prompt": "What is prune?"})
    assert first is not None and docs_app._mcp_client is first
    assert client.get("/ping").json()["status"] == "Healthy"


def test_server_start_warms_up_and_shutdown_stops_the_mcp_server(docs_app: ModuleType) -> None:
    docs_app.close_docs_tools()
    with TestClient(docs_app.app) as client:  # runs the app's lifespan, as a real server does
        assert client.get("/ping").json()["status"] == "Healthy"
        deadline = time.monotonic() + 30
        while docs_app._mcp_client is None:
            assert time.monotonic() < deadline, "warm-up did not start the MCP server"
            time.sleep(0.05)
    assert docs_app._mcp_client is None


def test_docs_server_search_and_overview() -> None:
    server = docs_server_module()
    index = server.DocsIndex(DOCS)
    hits = index.search("state lock")
    assert hits[0].label == "state.md > Locking"
    text = " ".join(server.format_results("state lock", hits, index).split())
    assert "the lock names its holder" in text
    overview = index.overview()
    assert overview.startswith("[overview.md]\n# agentops overview")
    assert "- state.md (State)" in overview and "  - Locking: " in overview
    assert "No documentation passage matches" in server.format_results("zzz", [], index)

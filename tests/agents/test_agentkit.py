"""agentkit: model strings, payloads and responses, and call_agent's two transports."""

from __future__ import annotations

import io
import json
import sys
import types
from typing import Any

import pytest
from agentkit import calls
from agentkit.models import build_model
from agentkit.offline import OfflineModel
from agentkit.respond import prompt_from_payload, trajectory


def test_build_model_offline_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert build_model().get_config()["model_id"] == "offline:keyword"
    monkeypatch.setenv("AGENTOPS_MODEL", "offline:semantic")
    assert isinstance(build_model(), OfflineModel)
    assert build_model().get_config()["model_id"] == "offline:semantic"


@pytest.mark.parametrize("bad", ["offline:fuzzy", "gpt-4", "azure:model", "bedrock:"])
def test_build_model_rejects_unknown_forms(bad: str) -> None:
    with pytest.raises(ValueError, match="offline:keyword, offline:semantic"):
        build_model(bad)


def test_openai_model_needs_the_openai_package(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import openai  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError, match="openai"):
            build_model("openai:gpt-4o-mini")
        return
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    model = build_model("openai:local-model")
    assert model.get_config()["model_id"] == "local-model"
    assert model.client_args["base_url"] == "http://127.0.0.1:9/v1"


@pytest.mark.parametrize(
    ("payload", "prompt"),
    [
        ({"prompt": "hi"}, "hi"),
        ({"question": "what?"}, "what?"),
        ({"input": "plain"}, "plain"),
        ({"input": {"question": "nested"}}, "nested"),
        ("just text", "just text"),
        ({"prompt": "  "}, None),
        ({"foo": 1}, None),
        ([1, 2], None),
    ],
)
def test_prompt_from_payload(payload: Any, prompt: str | None) -> None:
    assert prompt_from_payload(payload) == prompt


def test_trajectory_keeps_order_and_inputs() -> None:
    messages = [
        {"role": "user", "content": [{"text": "q"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "1", "name": "a", "input": {}}}],
        },
        {"role": "user", "content": [{"toolResult": {"toolUseId": "1", "content": []}}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "2", "name": "b", "input": {"x": 1}}}],
        },
    ]
    assert trajectory(messages) == [{"tool": "a", "input": {}}, {"tool": "b", "input": {"x": 1}}]


def test_session_ids_are_long_enough() -> None:
    assert len(calls.ensure_session_id(None, "x")) >= 33
    assert calls.ensure_session_id("s" * 40) == "s" * 40
    short = calls.ensure_session_id("abc")
    assert short.startswith("abc-") and len(short) >= 33
    assert calls.env_prefix("data-specialist") == "AGENTOPS_AGENT_DATA_SPECIALIST"


def test_call_agent_without_configuration_says_what_to_set() -> None:
    with pytest.raises(calls.AgentCallError, match="AGENTOPS_AGENT_SPECIALIST_URL"):
        calls.call_agent("specialist", "hi")


def test_call_agent_http_error_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 on loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setenv("AGENTOPS_AGENT_SPECIALIST_URL", "http://127.0.0.1:9/invocations")
    with pytest.raises(calls.AgentCallError, match="cannot reach"):
        calls.call_agent("specialist", "hi", timeout=5)


class _FakeAgentCore:
    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type = body, content_type
        self.kwargs: dict[str, Any] = {}

    def invoke_agent_runtime(self, **kwargs: Any) -> dict[str, Any]:
        self.kwargs = kwargs
        return {"response": io.BytesIO(self.body), "contentType": self.content_type}


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            json.dumps({"response": "[specialist] ok", "trajectory": []}).encode(),
            "application/json",
        ),
        (b'data: {"response": "[specialist] ok"}\n\n', "text/event-stream"),
    ],
)
def test_call_agent_uses_invoke_agent_runtime_when_an_arn_is_set(
    monkeypatch: pytest.MonkeyPatch, body: bytes, content_type: str
) -> None:
    fake = _FakeAgentCore(body, content_type)
    fake_boto3 = types.SimpleNamespace(
        client=lambda service, **_: fake if service == "bedrock-agentcore" else None
    )
    monkeypatch.setitem(sys.modules, "boto3", fake_boto3)
    arn = "arn:aws:bedrock-agentcore:us-west-2:123456789012:runtime/specialist-abc"
    monkeypatch.setenv("AGENTOPS_AGENT_SPECIALIST_ARN", arn)
    monkeypatch.setenv("AGENTOPS_AGENT_SPECIALIST_URL", "http://127.0.0.1:9/ignored")
    result = calls.call_agent("specialist", "mean of 1 2", session_id="x" * 40)
    assert result["response"] == "[specialist] ok"
    assert fake.kwargs["agentRuntimeArn"] == arn
    assert fake.kwargs["runtimeSessionId"] == "x" * 40
    assert fake.kwargs["qualifier"] == "DEFAULT"
    assert json.loads(fake.kwargs["payload"]) == {"prompt": "mean of 1 2"}

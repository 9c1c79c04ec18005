"""Invocation in AWS, offline: AgentCoreInvoker and the agents' A2A helper via a fake data plane.

moto implements no data plane (InvokeAgentRuntime), so `FakeDataPlane` speaks it on 127.0.0.1
and forwards to local agents. The runtimes themselves are deployed to moto's server by the
provider; the orchestrator then runs locally with exactly the environment variables its
runtime got, so the A2A wiring (callee ARN + qualifier injected, boto3 in the helper) is the
one AWS would use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from bedrock_agentcore import BedrockAgentCoreApp

from engine.invoke import InvokeError
from engine.providers.agentcore import sources
from engine.providers.agentcore.invoke import AgentCoreInvoker, invoker_for, traceparent

from .conftest import REGION
from .fake_data_plane import FakeDataPlane, allow_from, serve
from .helpers import apply_all, control, put_secret, state, workspace

ARN = "arn:aws:bedrock-agentcore:us-east-1:123456789012:runtime/echo_agent-abcdefghij"


@pytest.fixture(scope="module")
def echo_agent() -> Iterator[str]:
    app = BedrockAgentCoreApp()

    @app.entrypoint
    def handler(payload: Any, context: Any) -> Any:
        if payload.get("stream"):
            return ({"data": f"tok{i} "} for i in range(3))
        if payload.get("fail_in_stream"):

            def broken() -> Iterator[dict[str, str]]:
                yield {"data": "partial"}
                raise RuntimeError("boom")

            return broken()
        return {
            "response": f"echo {payload['prompt']}",
            "session": context.session_id,
            "traceparent": (context.request_headers or {}).get("traceparent"),
            "headers": dict(context.request_headers or {}),
            "trajectory": [{"tool": "echo", "input": payload}],
            "usage": {"inputTokens": 3},
        }

    url, server = serve(app)
    yield url
    server.should_exit = True


@pytest.fixture
def plane(echo_agent: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDataPlane]:
    with FakeDataPlane() as dp:
        dp.agents[ARN] = echo_agent
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", dp.url)
        yield dp


def test_json_answer_session_and_qualifier(plane: FakeDataPlane) -> None:
    with AgentCoreInvoker(ARN, region=REGION, qualifier="live") as inv:
        result = inv.invoke({"prompt": "hi"})
    assert result.ok, result.error
    assert result.response == "echo hi"
    assert result.trajectory == [{"tool": "echo", "input": {"prompt": "hi"}}]
    assert result.usage == {"inputTokens": 3}
    assert len(result.session_id) >= 33 and result.raw["session"] == result.session_id
    assert plane.seen[-1]["arn"] == ARN and plane.seen[-1]["qualifier"] == "live"


def test_a_trace_id_goes_to_the_agent_as_its_traceparent(plane: FakeDataPlane) -> None:
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    with AgentCoreInvoker(ARN, region=REGION) as inv:
        traced = inv.invoke({"prompt": "hi"}, trace_id=trace_id)
        plain = inv.invoke({"prompt": "hi"})
    assert traced.ok, traced.error
    sent = plane.seen[-2]["traceparent"]
    assert sent == traceparent(trace_id)  # the parent is the recorder's root span
    version, trace, parent, flags = sent.split("-")
    assert (version, trace, flags) == ("00", trace_id, "01") and len(parent) == 16
    assert traced.raw["traceparent"] == sent  # what the agent's context.request_headers held
    assert plane.seen[-1]["traceparent"] is None and plain.raw["traceparent"] is None
    with pytest.raises(InvokeError, match="32 lower-case hex"):
        AgentCoreInvoker(ARN, region=REGION).invoke({"prompt": "x"}, trace_id="abc")


def test_a_source_goes_with_every_call_as_the_allowed_custom_header(
    plane: FakeDataPlane,
) -> None:
    source, tags = sources.SOURCE_HEADER.lower(), sources.TAGS_HEADER.lower()
    plane.allowed[ARN] = allow_from(
        {"requestHeaderConfiguration": sources.request_header_configuration()}
    )
    with AgentCoreInvoker(ARN, region=REGION, source="evaluation", tags=["docs"]) as inv:
        first = inv.invoke({"prompt": "hi"})
        second = inv.invoke({"prompt": "again"})
    assert first.ok and second.ok, (first.error, second.error)
    for sent in plane.seen[-2:]:  # what botocore put on the wire: once, and signed
        assert sent["custom"] == {source: "evaluation", tags: "docs"}
        assert {source, tags} <= sent["signed"]
    # AgentCore hands the allowed headers to the agent (context.request_headers, lower-cased)
    assert first.raw["headers"][source] == "evaluation"
    with AgentCoreInvoker(ARN, region=REGION) as plain:
        assert plain.invoke({"prompt": "hi"}).ok
    assert plane.seen[-1]["custom"] == {}  # no source: production traffic, as locally
    plane.allowed.pop(ARN)  # a runtime without the allowlist: AgentCore drops the header
    dropped = AgentCoreInvoker(ARN, region=REGION, source="loadtest").invoke({"prompt": "x"})
    assert plane.seen[-1]["custom"][source] == "loadtest" and source not in dropped.raw["headers"]
    with pytest.raises(InvokeError, match="unknown traffic source 'vip'"):
        AgentCoreInvoker(ARN, region=REGION, source="vip")


def test_streamed_answer(plane: FakeDataPlane) -> None:
    result = AgentCoreInvoker(ARN, region=REGION).invoke({"prompt": "x", "stream": True})
    assert result.ok and result.response == "tok0 tok1 tok2 "


def test_an_error_inside_the_stream_fails_the_invocation(plane: FakeDataPlane) -> None:
    result = AgentCoreInvoker(ARN, region=REGION).invoke({"prompt": "x", "fail_in_stream": True})
    assert not result.ok and "boom" in (result.error or "")


def test_aws_errors_are_results_not_exceptions(plane: FakeDataPlane) -> None:
    result = AgentCoreInvoker(ARN + "x", region=REGION).invoke({"prompt": "x"})
    assert not result.ok and result.status_code == 404
    assert result.error and result.error.startswith("ResourceNotFoundException")


def test_caller_mistakes_raise(plane: FakeDataPlane) -> None:
    inv = AgentCoreInvoker(ARN, region=REGION)
    with pytest.raises(InvokeError, match="33-256"):
        inv.invoke({"prompt": "x"}, session_id="too-short")
    with pytest.raises(InvokeError):
        AgentCoreInvoker("not-an-arn", region=REGION)


def test_ainvoke(plane: FakeDataPlane) -> None:
    import asyncio

    async def many() -> list[bool]:
        inv = AgentCoreInvoker(ARN, region=REGION)
        results = await asyncio.gather(*(inv.ainvoke({"prompt": str(i)}) for i in range(4)))
        return [r.ok for r in results]

    assert asyncio.run(many()) == [True] * 4


def test_deployed_orchestrator_calls_the_deployed_specialist(
    tmp_path: Path, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deploy both to moto, run them locally with their runtime's env, invoke through AWS APIs."""
    from tests.agents.helpers import load_app

    workspace(tmp_path, endpoint_url=server, model="offline:keyword")
    put_secret(server)
    apply_all(tmp_path)
    st = state(tmp_path)
    orch, spec = st.resources["agent.orchestrator[prd]"], st.resources["agent.specialist[prd]"]
    runtime_env = control(server).get_agent_runtime(agentRuntimeId=orch.provider_id)[
        "environmentVariables"
    ]
    for key, value in runtime_env.items():  # what AgentCore would give the orchestrator
        if key != "DOCKER_CONTAINER":
            monkeypatch.setenv(key, value)
    spec_url, spec_server = serve(load_app("specialist").app)
    orch_url, orch_server = serve(load_app("orchestrator").app)
    try:
        with FakeDataPlane() as dp:
            dp.agents = {spec.outputs["arn"]: spec_url, orch.outputs["arn"]: orch_url}
            for res in (orch, spec):  # what the provider declared on each runtime
                live = control(server).get_agent_runtime(agentRuntimeId=res.provider_id)
                dp.allowed[str(res.outputs["arn"])] = allow_from(live)
            monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", dp.url)
            inv = invoker_for(orch, source="loadtest")
            result = inv.invoke({"prompt": "What is the average of 4, 8, 15, 16, 23 and 42?"})
            assert result.ok, result.error
            assert "mean 18" in result.response
            assert [t["tool"] for t in result.trajectory] == ["call_specialist_agent"]
            # The orchestrator reached the specialist through invoke_agent_runtime on its
            # pinned endpoint, passing the caller's session on.
            to_spec = [s for s in dp.seen if s["arn"] == spec.outputs["arn"]]
            assert len(to_spec) == 1 and to_spec[0]["qualifier"] == "live"
            assert to_spec[0]["session"] == result.session_id
            assert json.loads(to_spec[0]["body"])["prompt"]
            # a load test's request is load-test traffic downstream too: the orchestrator
            # read the source AgentCore forwarded and passed it on to the specialist
            header = sources.SOURCE_HEADER.lower()
            assert dp.seen[0]["arn"] == orch.outputs["arn"]
            assert dp.seen[0]["custom"] == {header: "loadtest"}
            assert to_spec[0]["custom"] == {header: "loadtest"}
    finally:
        spec_server.should_exit = orch_server.should_exit = True


def test_agentkit_reads_ssm_secrets_by_name(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "agents"))
    from agentkit.secrets import load_ssm_secrets

    put_secret(server)
    env = {"AGENTOPS_SECRET_API_KEY_SSM": "/agentops/test/api-key", "OTHER": "1"}
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=server)
    assert load_ssm_secrets(env, client=ssm) == ["API_KEY"]
    assert env["API_KEY"] == "do-not-print-me"
    assert load_ssm_secrets({}, client=None) == []  # nothing referenced: no boto3 at all
    with pytest.raises(Exception, match="/nope for X") as err:
        load_ssm_secrets({"AGENTOPS_SECRET_X_SSM": "/nope"}, client=ssm)
    assert "do-not-print-me" not in str(err.value)
    assert os.environ.get("API_KEY") is None

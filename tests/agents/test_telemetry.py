"""agentkit.telemetry: spans to Langfuse's OTLP endpoint, keys from SSM into memory only.

Offline: SSM is moto in-process, "Langfuse" is a loopback HTTP server recording what the
OTLP exporter posts, and every tracer provider is a private one (the global provider is
set once per process by OpenTelemetry, so tests never touch it).
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from agentkit import telemetry
from moto import mock_aws
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from .helpers import AGENTS

PUBLIC, SECRET = "pk-lf-public-0123", "sk-lf-secret-4567"
BASIC = "Basic " + base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
REGION = "us-east-1"


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(var, value)
    with mock_aws():
        client = boto3.client("ssm", region_name=REGION)
        client.put_parameter(Name="/langfuse/pk", Value=PUBLIC, Type="String")
        client.put_parameter(Name="/langfuse/sk", Value=SECRET, Type="SecureString")
        client.put_parameter(Name="/langfuse/host", Value="http://lf.invalid/", Type="String")
        yield client


@pytest.fixture
def langfuse() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A stand-in for Langfuse's OTLP endpoint: (base URL, the requests it got)."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append({"path": self.path, "headers": dict(self.headers), "body": body})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        server.shutdown()


def runtime_env(base: str) -> dict[str, str]:
    """What the AgentCore provider puts into the runtime (see tests/agentcore/test_telemetry)."""
    return {
        "AGENTOPS_OTLP_ENDPOINT": f"{base}/api/public/otel",
        "AGENTOPS_LANGFUSE_PUBLIC_KEY_REF": "ssm:/langfuse/pk",
        "AGENTOPS_LANGFUSE_SECRET_KEY_REF": "ssm:/langfuse/sk",
    }


def holds_a_key(env: dict[str, str]) -> list[str]:
    return [k for k, v in env.items() if PUBLIC in v or SECRET in v or BASIC[6:] in v]


def test_spans_reach_langfuse_with_the_header_built_in_memory(
    ssm: Any, langfuse: tuple[str, list[dict[str, Any]]]
) -> None:
    base, got = langfuse
    env = runtime_env(base)
    before = dict(os.environ)
    provider = TracerProvider()
    configured = telemetry.setup_telemetry(env, ssm, tracer_provider=provider)
    assert configured is not None and configured.tracer_provider is provider
    with provider.get_tracer("test").start_as_current_span("agent-turn"):
        pass
    assert provider.force_flush(10_000)
    assert [g["path"] for g in got] == ["/api/public/otel/v1/traces"]
    headers = {k.lower(): v for k, v in got[0]["headers"].items()}
    assert headers["authorization"] == BASIC
    assert headers["x-langfuse-ingestion-version"] == "4"  # Langfuse's real-time path
    assert b"agent-turn" in got[0]["body"]
    # The keys were never written to any environment: not the process's, not the runtime's.
    assert holds_a_key(dict(os.environ)) == [] and dict(os.environ) == before
    assert holds_a_key(env) == [] and env == runtime_env(base)
    provider.shutdown()


def test_export_settings_resolve_a_host_reference_and_hide_the_header(ssm: Any) -> None:
    env = {
        "AGENTOPS_LANGFUSE_HOST_REF": "ssm:/langfuse/host",
        "AGENTOPS_LANGFUSE_PUBLIC_KEY_REF": "ssm:/langfuse/pk",
        "AGENTOPS_LANGFUSE_SECRET_KEY_REF": "ssm:/langfuse/sk",
    }
    settings = telemetry.export_settings(env, ssm)
    assert settings is not None
    assert settings.endpoint == "http://lf.invalid/api/public/otel/v1/traces"
    assert settings.headers == {"Authorization": BASIC, "x-langfuse-ingestion-version": "4"}
    assert SECRET not in repr(settings) and BASIC not in repr(settings)


def test_unreadable_keys_are_logged_by_name_and_the_agent_serves_on(
    ssm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**runtime_env("http://lf.invalid"), "AGENTOPS_LANGFUSE_SECRET_KEY_REF": "ssm:/nope"}
    with caplog.at_level(logging.ERROR, logger="agentkit.telemetry"):
        assert telemetry.setup_telemetry(env, ssm, tracer_provider=TracerProvider()) is None
    assert "/nope" in caplog.text and "langfuse.secretKey" in caplog.text
    assert PUBLIC not in caplog.text and SECRET not in caplog.text
    missing = {"AGENTOPS_OTLP_ENDPOINT": "http://lf.invalid/api/public/otel"}
    with caplog.at_level(logging.ERROR, logger="agentkit.telemetry"):
        assert telemetry.setup_telemetry(missing, ssm, tracer_provider=TracerProvider()) is None
    assert "AGENTOPS_LANGFUSE_PUBLIC_KEY_REF" in caplog.text


def test_unset_is_a_no_op_that_imports_nothing() -> None:
    """Locally and offline: no endpoint, so no boto3, no OpenTelemetry, no Strands import."""
    code = (
        "import sys; from agentkit.telemetry import setup_telemetry, request_trace\n"
        "assert setup_telemetry() is None\n"
        "with request_trace(None): pass\n"
        "print(sorted(m for m in ('boto3', 'opentelemetry', 'strands') if m in sys.modules))"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AGENTOPS_OTLP_ENDPOINT", "AGENTOPS_LANGFUSE_HOST_REF")
    }
    env["PYTHONPATH"] = str(AGENTS)
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_request_trace_continues_the_callers_traceparent() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    context = SimpleNamespace(request_headers={"traceparent": f"00-{trace_id}-{parent}-01"})
    with telemetry.request_trace(context), tracer.start_as_current_span("agent"):
        outgoing = telemetry.trace_headers()
    empty = SimpleNamespace(request_headers={})
    with telemetry.request_trace(empty), tracer.start_as_current_span("unrelated"):
        pass
    inside, outside = exporter.get_finished_spans()
    assert f"{inside.context.trace_id:032x}" == trace_id
    assert inside.parent is not None and f"{inside.parent.span_id:016x}" == parent
    assert f"{outside.context.trace_id:032x}" != trace_id and outside.parent is None
    # A call to another agent from inside carries the same trace on.
    assert outgoing["traceparent"].startswith(f"00-{trace_id}-")
    assert telemetry.trace_headers() == {}  # nothing current: nothing to continue


SOURCE = "x-amzn-bedrock-agentcore-runtime-custom-agentops-source"
TAGS = "x-amzn-bedrock-agentcore-runtime-custom-agentops-tags"


def test_the_source_is_the_requests_and_an_unknown_one_is_production() -> None:
    def origin(headers: dict[str, str]) -> telemetry.Origin:
        return telemetry.origin_of(SimpleNamespace(request_headers=headers))

    assert origin({SOURCE: "loadtest"}) == telemetry.Origin("loadtest")
    assert origin({"x-agentops-source": "evaluation"}).source == "evaluation"  # local runtime
    assert origin({SOURCE: " Experiment "}).source == "experiment"
    # a made-up (or empty) source cannot hide production traffic
    for claimed in ("vip", "", "loadtest,production", "production-ish"):
        assert origin({SOURCE: claimed}).source == "production"
    assert telemetry.origin_of(None) == telemetry.Origin("production")
    tags = origin({SOURCE: "loadtest", TAGS: "harmful, docs,,loadtest,bad tag,docs," + "x" * 65})
    assert tags.tags == ("harmful", "docs")  # no source names, no malformed ones, no repeats


def test_each_invocation_marks_its_entry_span_with_its_own_source() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    env = {"OTEL_SERVICE_NAME": "bot", "OTEL_RESOURCE_ATTRIBUTES": "agentops.environment=prd"}
    provider.add_span_processor(telemetry.entry_spans(telemetry.entry_attributes(env)))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("strands.telemetry.tracer")
    calls = [
        {SOURCE: "loadtest", TAGS: "harmful"},
        {},
        {"x-agentops-source": "evaluation"},
        {SOURCE: "vip"},
    ]
    seen_inside = []
    for headers in calls:
        with telemetry.request_trace(SimpleNamespace(request_headers=headers)):
            seen_inside.append(telemetry.current_source())
            with (
                tracer.start_as_current_span("invoke_agent bot"),
                tracer.start_as_current_span("execute_tool search"),
            ):
                pass
    assert telemetry.current_source() is None  # outside a request
    assert seen_inside == ["loadtest", "production", "evaluation", "production"]
    spans = exporter.get_finished_spans()
    entries = [s for s in spans if s.name.startswith("invoke_agent")]
    tools = [s for s in spans if s.name.startswith("execute_tool")]
    got = [
        (e.attributes["langfuse.trace.metadata.source"], tuple(e.attributes["langfuse.trace.tags"]))
        for e in entries
    ]
    assert got == [
        ("loadtest", ("harmful", "loadtest")),
        ("production", ("production",)),
        ("evaluation", ("evaluation",)),
        ("production", ("production",)),
    ]
    assert all(e.attributes["langfuse.observation.metadata.source"] == s for e, (s, _t) in
               zip(entries, got, strict=True))  # fmt: skip
    assert all(e.attributes["langfuse.trace.name"] == "bot" for e in entries)
    # the agent's other spans say whose they are (the Monitor reads its tool calls by it),
    # and carry no trace-level attribute
    for t in tools:
        assert t.attributes["langfuse.observation.metadata.agent"] == "bot"
        assert not any(k.startswith("langfuse.trace") for k in t.attributes)
    provider.shutdown()


def test_calls_to_other_agents_pass_the_source_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Locally (`X-Agentops-Source`); the AgentCore path is tests/agentcore/test_invoke.py."""
    from agentkit import calls

    got: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.append({k.lower(): v for k, v in self.headers.items()})
            body = b'{"response": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AGENTOPS_AGENT_HELPER_URL", f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        with telemetry.request_trace(SimpleNamespace(request_headers={SOURCE: "loadtest"})):
            calls.call_agent("helper", "hi")
        calls.call_agent("helper", "hi")  # outside a request: nothing to pass on
    finally:
        server.shutdown()
    assert got[0]["x-agentops-source"] == "loadtest"
    assert "x-agentops-source" not in got[1]

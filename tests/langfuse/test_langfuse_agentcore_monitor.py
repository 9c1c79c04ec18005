"""A Monitor of an agent on AgentCore: its traces read back from Langfuse.

AgentCore agents export their spans to Langfuse only (agentkit's Strands exporter). Here
spans shaped like Strands' `invoke_agent` (its `gen_ai.*` attributes and events), marked by
agentkit's own entry-span processor and posted over OTLP by the OpenTelemetry SDK, are
read back by the Monitor through `GET /api/public/v2/observations` of the double: scored,
the scores posted to Langfuse on the same trace ids, the cursor persisted, nothing read
twice, paging over several pages, and an unreachable Langfuse failing clearly with the
cursor kept. The keys are `ssm:` references (moto), as AgentCore environments require.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import StatusCode, set_span_in_context
from strands.models.model import Model

from engine.providers.agentcore.telemetry import resource_attributes
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.langfuse import trace_source
from engine.providers.langfuse.http import RetryPolicy
from engine.providers.langfuse.monitoring import score_uuid
from engine.providers.langfuse.trace_source import text_of
from engine.providers.local.traces import trace_store
from engine.providers.runs import monitor as monitor_module
from engine.providers.runs import monitor_source
from engine.providers.runs.inputs import monitor_inputs
from engine.providers.runs.monitor import MonitorProvider
from engine.providers.runs.monitor_source import SETTLE_SECONDS
from engine.spec.workspace import Workspace, load_workspace
from tests.agents.helpers import AGENTS  # puts agents/ on sys.path, as the engine does
from tests.langfuse.double import LangfuseDouble
from tests.langfuse.helpers import Keys
from tests.monitoring.helpers import monitor_workspace, write

ADDRESS = "monitor.mon[prd]"
DIGEST = "d" * 16
MONITOR = """\
  evaluators:
    - use: refusal
    - use: latency
      params: {target_ms: 500, max_ms: 3000}
  minTraces: 1
  annotate: {queue: review, when: [error], sample: 0.0}
"""


def agentcore_env(root: Path, host: str, store: str = "langfuse") -> None:
    keys = "publicKey: 'ssm:/langfuse/pk', secretKey: 'ssm:/langfuse/sk'"
    langfuse = f"  langfuse: {{host: '{host}', {keys}}}\n" if store == "langfuse" else ""
    write(
        root,
        "environments/prd.yaml",
        "apiVersion: agentops/v1\nkind: Environment\nmetadata: {name: prd}\nspec:\n"
        "  runtime: agentcore\n"
        f"  store: {store}\n"
        "  aws: {region: us-east-1, artifactBucket: agentops-test-bucket}\n"
        + langfuse
        + "  models: {fast: 'bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0'}\n",
    )


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, keys: Keys) -> Iterator[None]:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(var, value)
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(Name="/langfuse/pk", Value=keys.public, Type="String")
        ssm.put_parameter(Name="/langfuse/sk", Value=keys.secret, Type="SecureString")
        yield


class Agent:
    """Spans of an agent (`bot`) in `prd` as an AgentCore runtime exports them: Strands'
    `invoke_agent` entry span and its `execute_tool` spans, through agentkit's own span
    processor, inside agentkit's `request_trace` (which reads the caller's headers)."""

    def __init__(self, double: LangfuseDouble, keys: Keys, name: str = "bot") -> None:
        assert AGENTS.is_dir()  # imported for its side effect: agents/ on sys.path
        from agentkit.telemetry import entry_attributes, entry_spans

        self.name = name
        runtime = {  # what engine.providers.agentcore.telemetry gives the runtime
            "OTEL_SERVICE_NAME": name,
            "OTEL_RESOURCE_ATTRIBUTES": resource_attributes(
                address=f"agent.{name}[prd]", digest=DIGEST, env_name="prd"
            ),
        }
        resource = Resource(
            {"service.name": name, **dict(
                p.split("=", 1) for p in runtime["OTEL_RESOURCE_ATTRIBUTES"].split(","))}
        )  # fmt: skip
        auth = base64.b64encode(f"{keys.public}:{keys.secret}".encode()).decode()
        exporter = OTLPSpanExporter(
            endpoint=f"{double.url}/api/public/otel/v1/traces",
            headers={"Authorization": f"Basic {auth}", "x-langfuse-ingestion-version": "4"},
        )
        self.provider = TracerProvider(resource=resource)
        self.provider.add_span_processor(entry_spans(entry_attributes(runtime)))
        self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("strands.telemetry.tracer")

    def invoke(
        self,
        prompt: str,
        answer: str,
        *,
        ago: float = 300.0,
        error: str | None = None,
        headers: dict[str, str] | None = None,
        tools: list[tuple[str, dict[str, Any]]] | None = None,
    ) -> str:
        """One invocation; `headers`: what `context.request_headers` holds (lower-cased);
        `tools`: (name, arguments) of its tool calls, by default one `search`."""
        from agentkit.telemetry import request_trace

        calls = [("search", {"query": prompt})] if tools is None else tools
        start = int((time.time() - ago) * 1e9)
        with request_trace(SimpleNamespace(request_headers=headers or {})):
            span = self.tracer.start_span(
                f"invoke_agent {self.name}",
                start_time=start,
                attributes={"gen_ai.operation.name": "invoke_agent",
                            "gen_ai.agent.name": self.name,
                            "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 5},
            )  # fmt: skip
            span.add_event("gen_ai.user.message", {"content": json.dumps([{"text": prompt}])})
            for i, (name, args) in enumerate(calls):
                tool = self.tracer.start_span(  # as Strands' start_tool_call_span makes it
                    f"execute_tool {name}",
                    context=set_span_in_context(span),
                    start_time=start + 1000 + i * 3_000_000,
                    attributes={"gen_ai.operation.name": "execute_tool",
                                "gen_ai.tool.name": name, "gen_ai.tool.call.id": f"t{i}"},
                )  # fmt: skip
                tool.add_event(
                    "gen_ai.tool.message",
                    {"role": "tool", "content": json.dumps(args), "id": f"t{i}"},
                )
                tool.end(end_time=start + 2_000_000 + i * 3_000_000)
            if error:
                span.set_status(StatusCode.ERROR, error)
            else:
                span.add_event("gen_ai.choice", {"message": answer, "finish_reason": "end_turn"})
            span.end(end_time=start + 80_000_000)  # 80 ms
        return format(span.get_span_context().trace_id, "032x")


@pytest.fixture
def agent(double: LangfuseDouble, keys: Keys) -> Iterator[Agent]:
    a = Agent(double, keys)
    yield a
    a.provider.shutdown()


def context(ws: Workspace, state: Path) -> Context:
    ctx = Context(workspace=ws, state_dir=state, workspace_id="test")
    ctx.extras["langfuse.retry"] = RetryPolicy(attempts=2, sleep=lambda _s: None)
    return ctx


def node(ws: Workspace) -> Any:
    return SimpleNamespace(spec=ws.monitors["mon"], address=ADDRESS)


def run(root: Path) -> RunResult:
    ws = load_workspace(root)
    state = root / ".agentops"
    return MonitorProvider(state).run(node(ws), RunInputs("x", {}), context(ws, state), None)


def head(root: Path) -> Any:
    ws = load_workspace(root)
    return monitor_inputs(node(ws), context(ws, root / ".agentops")).attrs["traces_head"]


@pytest.fixture
def root(tmp_path: Path, double: LangfuseDouble, aws: None) -> Path:
    root = tmp_path / "ws"
    monitor_workspace(root, MONITOR)
    agentcore_env(root, double.url)
    return root


def test_an_agentcore_monitor_reads_scores_and_posts_its_traces_once(
    root: Path, double: LangfuseDouble, agent: Agent
) -> None:
    ids = [
        agent.invoke(f"what is a gate {i}?", f"A gate checks {i}.", ago=600 - i) for i in range(5)
    ]
    failed = agent.invoke("and a canary?", "", ago=100, error="model timed out")
    ids.append(failed)
    young = agent.invoke("too young", "not yet", ago=1)  # inside the settle time: next run

    planned = head(root)
    assert planned.endswith(f"/{failed}")  # the newest settled trace, one request
    first = run(root)
    assert first.status == "succeeded", first.message
    assert first.summary["new_traces"] == 6 and first.summary["scored"] == 6
    assert first.consumed is not None and first.consumed.attrs["traces_head"] == planned

    store = trace_store(root / ".agentops")
    assert store.remote_cursor(ADDRESS) is not None
    assert store.remote_cursor(ADDRESS)[1] == failed  # type: ignore[index]
    mirrored = store.get(ids[0])
    assert mirrored is not None
    assert (mirrored.input, mirrored.output) == ("what is a gate 0?", "A gate checks 0.")
    assert (mirrored.digest, mirrored.source, mirrored.status) == (DIGEST, "production", "ok")
    assert 79.0 <= mirrored.latency_ms <= 81.0 and mirrored.usage["input"] == 12
    assert mirrored.trajectory == [{"tool": "search", "input": {"query": "what is a gate 0?"}}]
    bad = store.get(failed)
    assert bad is not None and bad.status == "error" and bad.error == "model timed out"
    assert store.get(young) is None

    posted = {s["id"]: s for s in double.scores}
    assert len(posted) == 12 == first.summary["langfuse"]["scores_posted"]
    got = posted[score_uuid(f"{ADDRESS}/{ids[0]}/refusal")]
    assert (got["traceId"], got["value"]) == (ids[0], 1.0)  # answered, not refused
    [queue] = double.queues.values()
    assert [i["objectId"] for i in double.queue_items[queue["id"]]] == [failed]
    assert first.summary["window"]["traces"] == 6 and first.summary["digests"] == [DIGEST]

    # Nothing new: the next run reads nothing, posts nothing; the plan is clean.
    assert head(root) == planned
    again = run(root)
    assert again.status == "succeeded", again.message
    assert again.summary["new_traces"] == 0
    assert again.summary["langfuse"]["scores_posted"] == 0
    assert len(double.scores) == 12


def test_reads_page_over_langfuse_pages_and_local_pages(
    root: Path, double: LangfuseDouble, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trace_source, "PAGE", 3)
    monkeypatch.setattr(monitor_module, "PAGE", 4)
    ids = [agent.invoke(f"q {i}?", f"a {i}.", ago=900 - 10 * i) for i in range(10)]
    double.clear_log()
    first = run(root)
    assert first.status == "succeeded", first.message
    assert first.summary["new_traces"] == 10
    reads = double.calls("GET", "/v2/observations")
    # the head, 4 pages of 3 (10 traces), then their 10 tool calls: one query, 4 pages
    assert len(reads) == 1 + 4 + 4
    assert all(json.loads(r.query["filter"][0]) for r in reads)
    assert first.summary["langfuse_read"]["requests"] == 4 + 4  # the run's reads
    store = trace_store(root / ".agentops")
    assert {t.trace_id for t in store.recent(env="prd", agent="bot", since=None, limit=50)} == set(
        ids
    )
    assert store.remote_cursor(ADDRESS)[1] == ids[-1]  # type: ignore[index]

    more = [agent.invoke(f"later {i}?", f"b {i}.", ago=200 - i) for i in range(2)]
    second = run(root)
    assert second.summary["new_traces"] == 2
    assert store.remote_cursor(ADDRESS)[1] == more[-1]  # type: ignore[index]
    assert len(double.scores) == 2 * 12


def test_an_unreachable_langfuse_fails_clearly_and_keeps_the_cursor(
    root: Path, double: LangfuseDouble, agent: Agent
) -> None:
    agent.invoke("first?", "one.", ago=500)
    assert run(root).status == "succeeded"
    store = trace_store(root / ".agentops")
    cursor = store.remote_cursor(ADDRESS)
    agent.invoke("second?", "two.", ago=400)

    agentcore_env(root, "http://127.0.0.1:9")  # nothing listens there
    assert head(root) == "unreadable"  # the plan runs it, and the run says why
    down = run(root)
    assert down.status == "failed"
    message = down.message or ""
    assert "cannot read the traces of agent.bot[prd] from Langfuse" in message
    assert "unreachable" in message and "cursor is kept" in message
    assert store.remote_cursor(ADDRESS) == cursor

    agentcore_env(root, double.url)
    up = run(root)
    assert up.status == "succeeded", up.message
    assert up.summary["new_traces"] == 1


def test_validate_accepts_agentcore_with_langfuse_and_refuses_a_local_store(
    root: Path,
) -> None:
    def monitor_problems() -> list[str]:
        ws = load_workspace(root)
        return [str(d) for d in ws.diagnostics if "monitor.yaml" in str(d)]

    assert monitor_problems() == []
    agentcore_env(root, "", store="local")
    [problem] = monitor_problems()
    assert "error" in problem and "store: langfuse" in problem


def test_text_of_reads_strands_messages_and_plain_strings() -> None:
    assert text_of('[{"text": "hi"}]', "user") == "hi"
    assert text_of("plain words", "assistant") == "plain words"
    messages = [{"role": "system", "content": "x"}, {"role": "user", "content": [{"text": "q"}]}]
    assert text_of(json.dumps(messages), "user") == "q"
    assert text_of(None, "user") == ""
    assert SETTLE_SECONDS >= 10  # a trace is read once Langfuse had time to list it


SOURCE = "x-amzn-bedrock-agentcore-runtime-custom-agentops-source"  # as the agent sees it
TAGS = "x-amzn-bedrock-agentcore-runtime-custom-agentops-tags"
TOOLS_MONITOR = """\
  evaluators:
    - use: evaluators/tools.py:searched
    - use: latency
      params: {target_ms: 500, max_ms: 3000}
  minTraces: 1
"""
SEARCHED = '''\
def searched(*, trajectory):
    """1 when the agent searched with a query (a trajectory-based, ground-truth-free check)."""
    calls = [c for c in trajectory if c["tool"] == "search" and c["input"].get("query")]
    return (1.0 if calls else 0.0), ", ".join(c["tool"] for c in trajectory) or "no tool call"
'''


def test_a_monitor_scores_production_only_and_sees_the_tool_calls(
    root: Path, double: LangfuseDouble, agent: Agent
) -> None:
    monitor_workspace(root, TOOLS_MONITOR)
    agentcore_env(root, double.url)
    write(root, "evaluators/tools.py", SEARCHED)
    prod = [agent.invoke(f"q {i}?", f"a {i}.", ago=600 - i) for i in range(3)]
    quiet = agent.invoke("hello", "hi.", ago=550, tools=[])  # production, no tool call
    # a made-up source must not hide production traffic: it is production
    made_up = agent.invoke("q x?", "a x.", ago=540, headers={SOURCE: "vip"})
    load = [
        agent.invoke(f"load {i}?", "ok.", ago=500 - i,
                     headers={SOURCE: "loadtest", TAGS: "harmful,docs,production"})
        for i in range(4)
    ]  # fmt: skip
    gate = agent.invoke("gate?", "ok.", ago=450, headers={"x-agentops-source": "evaluation"})
    two = agent.invoke(
        "two tools?", "ok.", ago=440, tools=[("search", {"query": "gates"}), ("fetch", {"n": 2})]
    )
    production = {*prod, quiet, made_up, two}

    first = run(root)
    assert first.status == "succeeded", first.message
    assert first.summary["new_traces"] == 11
    assert first.summary["scored"] == len(production) == 6  # the loadtest and gate: not scored
    store = trace_store(root / ".agentops")
    sources = {t: store.get(t).source for t in [*production, *load, gate]}  # type: ignore[union-attr]
    assert {t for t, s in sources.items() if s == "production"} == production
    assert {t for t, s in sources.items() if s == "loadtest"} == set(load)
    assert sources[gate] == "evaluation"
    tagged = store.get(load[0])
    assert tagged is not None and sorted(tagged.tags) == ["docs", "harmful"]  # not a source

    # scores went only on production traces; the trajectory evaluator saw their tool calls
    posted = [s for s in double.scores if s["name"] == "searched"]
    assert {s["traceId"] for s in posted} == production
    value = {s["traceId"]: s["value"] for s in posted}
    assert value[quiet] == 0.0 and all(value[t] == 1.0 for t in production - {quiet})
    both = store.get(two)
    assert both is not None and both.trajectory == [
        {"tool": "search", "input": {"query": "gates"}},
        {"tool": "fetch", "input": {"n": 2}},
    ]
    assert store.get(quiet).trajectory == []  # type: ignore[union-attr]


def test_the_tool_calls_of_an_agent_it_called_are_not_its_own(
    root: Path, double: LangfuseDouble, agent: Agent, keys: Keys
) -> None:
    helper = Agent(double, keys, name="helper")
    try:
        tid = agent.invoke("mean of 1 2 3?", "2.", ago=300, tools=[("call_helper", {"q": "mean"})])
        # the helper's spans join the caller's trace (traceparent), as agentkit.calls does
        parent = f"00-{tid}-{'ab' * 8}-01"
        helper.invoke("mean?", "2", ago=299.99, headers={"traceparent": parent},
                      tools=[("crunch", {"numbers": [1, 2, 3]})])  # fmt: skip
    finally:
        helper.provider.shutdown()
    assert run(root).status == "succeeded"
    mirrored = trace_store(root / ".agentops").get(tid)
    assert mirrored is not None and mirrored.input == "mean of 1 2 3?"
    assert mirrored.trajectory == [{"tool": "call_helper", "input": {"q": "mean"}}]


def test_real_strands_spans_give_the_agents_own_trajectory(
    root: Path,
    double: LangfuseDouble,
    agent: Agent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real Strands agent (a scripted model, one tool) traced through agentkit: what the
    Monitor reads back is the trajectory the agent itself answers with."""
    from agentkit.respond import trajectory
    from agentkit.telemetry import request_trace
    from strands import Agent as StrandsAgent
    from strands import tool
    from strands.telemetry import tracer as strands_tracer

    traced = strands_tracer.Tracer()  # Strands' spans, on the test's own provider
    traced.tracer_provider = agent.provider
    traced.tracer = agent.provider.get_tracer(traced.service_name)
    monkeypatch.setattr(strands_tracer, "_tracer_instance", traced)
    monkeypatch.setattr(monitor_source, "SETTLE_SECONDS", 0.0)  # spans made just now

    @tool
    def lookup(term: str, limit: int = 3) -> str:
        """Look a term up.

        Args:
            term: what to look up
            limit: how many results
        """
        return f"{term}: plan shows what apply would change"

    bot = StrandsAgent(model=OneToolModel(), tools=[lookup], callback_handler=None)
    with request_trace(SimpleNamespace(request_headers={SOURCE: "production"})):
        answer = str(bot("What does plan show?")).strip()
    want = trajectory(bot.messages)
    assert want == [{"tool": "lookup", "input": {"term": "plan", "limit": 2}}]
    time.sleep(0.01)  # the read's upper bound is "now": strictly after the spans
    result = run(root)
    assert result.status == "succeeded", result.message
    [read] = trace_store(root / ".agentops").recent(env="prd", agent="bot", since=None, limit=5)
    assert read.trajectory == want
    assert read.input == "What does plan show?" and read.output == answer


class OneToolModel(Model):
    """Calls `lookup` once, then answers with what it returned (Strands' stream events)."""

    def update_config(self, **model_config: Any) -> None:
        pass

    def get_config(self) -> dict[str, Any]:
        return {"model_id": "one-tool"}

    async def structured_output(self, *_a: Any, **_k: Any) -> Any:  # pragma: no cover
        raise NotImplementedError
        yield

    async def stream(self, messages: Any, tool_specs: Any = None, *_a: Any, **_k: Any) -> Any:
        results = [b["toolResult"] for b in messages[-1]["content"] if "toolResult" in b]
        yield {"messageStart": {"role": "assistant"}}
        if not results:
            yield {
                "contentBlockStart": {
                    "start": {"toolUse": {"name": "lookup", "toolUseId": "tooluse_1"}}
                }
            }
            args = json.dumps({"term": "plan", "limit": 2})
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": args}}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "tool_use"}}
        else:
            yield {"contentBlockStart": {"start": {}}}
            text = results[0]["content"][0]["text"]
            yield {"contentBlockDelta": {"delta": {"text": text}}}
            yield {"contentBlockStop": {}}
            yield {"messageStop": {"stopReason": "end_turn"}}
        yield {"metadata": {"usage": {"inputTokens": 4, "outputTokens": 4, "totalTokens": 8},
                            "metrics": {"latencyMs": 1}}}  # fmt: skip


def test_tool_arguments_in_each_shape_strands_and_langfuse_give() -> None:
    def obs(name: str, value: Any) -> Any:
        return SimpleNamespace(
            name=name, input=value if isinstance(value, str) else json.dumps(value)
        )

    # Strands' default conventions: the gen_ai.tool.message event, arguments as JSON text
    tool_message = [{"role": "tool", "content": json.dumps({"content": "x", "n": 1}), "id": "t"}]
    assert trace_source.tool_call(obs("write", tool_message)) == {
        "tool": "write", "input": {"content": "x", "n": 1}
    }  # fmt: skip
    # latest conventions: a tool_call part; or gen_ai.tool.call.arguments itself
    parts = [{"role": "tool", "parts": [{"type": "tool_call", "name": "f", "arguments": {"a": 2}}]}]
    assert trace_source.arguments_of(json.dumps(parts)) == {"a": 2}
    assert trace_source.arguments_of('{"query": "gates"}') == {"query": "gates"}
    # the span's own name when Langfuse did not rename it; no arguments at all
    assert (
        trace_source.tool_call(obs("execute_tool overview", [{"role": "tool", "content": "{}"}]))[
            "tool"
        ]
        == "overview"
    )
    assert trace_source.arguments_of(None) == {} and trace_source.arguments_of("not json") == {}
    # Strands' user message content is JSON text too: its text is the input
    assert text_of(json.dumps([{"role": "user", "content": '[{"text": "q?"}]'}]), "user") == "q?"

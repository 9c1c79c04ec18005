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

from engine.providers.agentcore.telemetry import resource_attributes
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.langfuse import trace_source
from engine.providers.langfuse.http import RetryPolicy
from engine.providers.langfuse.monitoring import score_uuid
from engine.providers.langfuse.trace_source import text_of
from engine.providers.local.traces import trace_store
from engine.providers.runs import monitor as monitor_module
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
    """Spans of the agent `bot` in `prd` as an AgentCore runtime exports them."""

    def __init__(self, double: LangfuseDouble, keys: Keys) -> None:
        assert AGENTS.is_dir()  # imported for its side effect: agents/ on sys.path
        from agentkit.telemetry import entry_attributes, entry_spans

        runtime = {  # what engine.providers.agentcore.telemetry gives the runtime
            "OTEL_SERVICE_NAME": "bot",
            "OTEL_RESOURCE_ATTRIBUTES": resource_attributes(
                address="agent.bot[prd]", digest=DIGEST, env_name="prd"
            ),
        }
        resource = Resource(
            {"service.name": "bot", **dict(
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
        self, prompt: str, answer: str, *, ago: float = 300.0, error: str | None = None
    ) -> str:
        start = int((time.time() - ago) * 1e9)
        span = self.tracer.start_span(
            "invoke_agent bot",
            start_time=start,
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "bot",
                        "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 5},
        )  # fmt: skip
        span.add_event("gen_ai.user.message", {"content": json.dumps([{"text": prompt}])})
        tool = self.tracer.start_span(
            "execute_tool search", context=set_span_in_context(span), start_time=start + 1000
        )
        tool.end(end_time=start + 2_000_000)
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
    assert len(reads) == 1 + 4  # the head, then 4 pages of 3 (10 rows)
    assert all(json.loads(r.query["filter"][0]) for r in reads)
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

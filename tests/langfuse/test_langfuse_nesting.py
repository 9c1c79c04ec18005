"""A QualityGate in a `store: langfuse` environment: one trace per case, nested end to end.

The runner sends each case's trace id (the recorder's) as `traceparent`; the agent's host
exports its span of the call as a child of the caller's span, and the recorder writes the
case root under that span id afterwards. In the double every case trace is then: the
engine's root span (no parent, the experiment attributes) > the host's `agent-invocation`
span (parent = the root's span id, no trace-level attributes that would rename the trace),
next to the engine's own record of the answer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.invoke.trace_context import parent_span_id
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.store import LocalStore
from engine.providers.local.traces import TraceStore
from tests.langfuse.double import LangfuseDouble, Span
from tests.langfuse.helpers import PK_VAR, SK_VAR
from tests.monitoring.helpers import echo_workspace

pytestmark = pytest.mark.timeout(120)

GATE = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  file: dataset.json
  environments: [tst]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  repetitions: 2
  evaluators:
    - {use: latency, params: {target_ms: 500, max_ms: 3000}, threshold: {mean: 0.1}}
"""


@pytest.fixture
def ws(tmp_path: Path, double: LangfuseDouble) -> Iterator[Path]:
    root = echo_workspace(tmp_path, ["tst"], GATE)
    env = root / "environments" / "tst.yaml"
    env.write_text(
        env.read_text().replace(
            "  store: local\n",
            f"  store: langfuse\n  langfuse:\n    host: {double.url}\n"
            f"    publicKey: env:{PK_VAR}\n    secretKey: env:{SK_VAR}\n",
        )
    )
    prompts = [{"id": f"q{i}", "input": {"prompt": f"ping {i}"}} for i in range(3)]
    (root / "dataset.json").write_text(json.dumps(prompts))
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def by_trace(double: LangfuseDouble) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = defaultdict(list)
    for s in double.spans:
        out[s.trace_id].append(s)
    return out


def test_every_case_trace_nests_the_agents_span_under_the_engines_root(
    ws: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0, capsys.readouterr()
    evals = EvalStore(LocalStore(ws / ".agentops" / "store.sqlite"))
    run = evals.load(str(evals.find("qualitygate.release[tst]")))
    [variant] = run.variants
    case_ids = {c.trace_id for c in variant.cases}
    assert len(case_ids) == 6 and "" not in case_ids

    traces = by_trace(double)
    for tid in case_ids:
        spans = traces[tid]
        [root] = [s for s in spans if s.name == "experiment-item-run"]
        assert root.parent_id.strip("0") == ""  # a true root: the engine owns the trace
        assert root.span_id == parent_span_id(tid)  # the traceparent's parent
        assert root.attributes["langfuse.trace.name"].startswith("qualitygate.release[tst] ·")
        [host] = [s for s in spans if s.scope == "agentops.runtime"]
        assert (host.name, host.parent_id) == ("agent-invocation", root.span_id)
        assert not [k for k in host.attributes if k.startswith("langfuse.trace.")]
        assert "session.id" not in host.attributes
        assert host.attributes["langfuse.observation.input"].startswith("ping ")
        assert host.attributes["langfuse.environment"] == "tst"
        # the engine's record of the answer (tool calls, usage, scores) is the root's too
        [engine_agent] = [
            s for s in spans if s.name == "agent-invocation" and s.scope != "agentops.runtime"
        ]
        assert engine_agent.parent_id == root.span_id

    # the item scores are on those traces; the local rows carry the same ids
    scored = {s["traceId"] for s in double.scores if s.get("traceId")}
    assert case_ids <= scored
    local = TraceStore(ws / ".agentops" / "traces.sqlite").recent(
        env="tst", agent="bot", since=None, limit=100, source="evaluation"
    )
    assert case_ids <= {t.trace_id for t in local}

    # the warm-up call has no traceparent: a root of its own, with the trace attributes
    [warm] = [t for t in local if t.trace_id not in case_ids]
    [warm_span] = traces[warm.trace_id]
    assert warm_span.parent_id.strip("0") == ""
    assert warm_span.attributes["langfuse.trace.name"] == "bot"

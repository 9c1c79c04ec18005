"""What a load test used: its requests, and their tokens read from the local trace store."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.load.analysis import Sample
from engine.providers.base import Context
from engine.providers.runs.load_cost import load_actual
from engine.providers.runs.load_target import Target
from engine.spec.workspace import load_workspace
from tests.monitoring.helpers import AGENT, ENV, insert, row, write

PRICED = """\
  pricing:
    models:
      fast: {input: 2.0, output: 10.0}
"""

LOADTEST = """\
apiVersion: agentops/v1
kind: LoadTest
metadata: {name: traffic}
spec:
  agent: bot
  environment: prd
  prompts: [{name: q, prompt: hi}]
  users: 2
  duration: 5s
"""


def traced(started: float, source: str = "loadtest") -> tuple[object, ...]:
    r = list(row(source=source, started=started))
    r[14] = '{"inputTokens": 100, "outputTokens": 10, "totalTokens": 110}'  # usage
    return tuple(r)


def sample(t: float, ok: bool = True) -> Sample:
    return Sample(t, 40.0, ok, 200, None, "hi", False, "s", "w", "hello")


@pytest.mark.parametrize("kind", ["local", "agentcore"])
def test_requests_and_their_traced_tokens(tmp_path: Path, kind: str) -> None:
    write(tmp_path, "src/app.py", "app = None\n")
    write(tmp_path, "environments/prd.yaml", ENV + PRICED)
    write(tmp_path, "specs/bot.yaml", AGENT)
    write(tmp_path, "specs/load.yaml", LOADTEST)
    ws = load_workspace(tmp_path)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    state_dir = tmp_path / ".agentops"
    state_dir.mkdir()
    t0 = time.time() - 60
    # three requests of the load test, one production call in the same seconds, and a load
    # test's request of an hour before: only the three count
    insert(
        state_dir,
        [traced(t0), traced(t0 + 1), traced(t0 + 2), traced(t0 + 1, "production")]
        + [traced(t0 - 3600)],
    )
    ctx = Context(workspace=ws, state_dir=state_dir, workspace_id="t")
    target = Target(kind, "agent.bot[prd]", url="http://127.0.0.1:1")
    samples = [sample(t0), sample(t0 + 1), sample(t0 + 2)]
    actual = load_actual(ctx, ws.loadtests["traffic"].doc.spec, "prd", target, samples, {})
    assert actual["invocations"] == 3 and actual["judge_calls"] == 0
    if kind == "local":
        assert actual["tokens"] == {"input": 300, "output": 30, "total": 330}
        assert actual["tokens_of"] == 3
        assert actual["amount"] == pytest.approx((300 * 2.0 + 30 * 10.0) / 1e6)
    else:  # an AgentCore agent's traces are in Langfuse: its tokens are not measured here
        assert actual["tokens"] is None and actual["tokens_of"] == 0
        assert actual["total_tokens"] is None and actual["amount"] is None

"""A QualityGate's cases and the agent's traces of them share trace ids (store: local).

The runner decides each case's trace id before invoking (`engine.evaluation.trace_ids`) and
sends it as `traceparent`; the agent host's trace row of the call takes it, and the run's
record keeps it per case: `agentops traces --source evaluation` lists them and
`agentops traces show <id>` of a case shows the agent's side of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.evaluation.trace_ids import case_trace_id, run_name
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.store import LocalStore
from engine.providers.local.traces import TraceStore
from engine.state.local import LocalStateStore

from .helpers import cli, echo_workspace

pytestmark = pytest.mark.timeout(90)

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
def ws(tmp_path: Path) -> Iterator[Path]:
    root = echo_workspace(tmp_path, ["tst"], GATE)
    prompts = [{"id": f"q{i}", "input": {"prompt": f"ping {i}"}} for i in range(3)]
    (root / "dataset.json").write_text(json.dumps(prompts))
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def test_a_gates_cases_are_the_agents_evaluation_traces(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    state_dir = ws / ".agentops"
    evals = EvalStore(LocalStore(state_dir / "store.sqlite"))
    run = evals.load(str(evals.find("qualitygate.release[tst]")))
    [variant] = run.variants
    assert len(variant.cases) == 6
    wid = LocalStateStore(state_dir).read().workspace_id
    name = run_name(run.address, variant.name, variant.agent_digest, run.run_id)
    expected = {c.trace_id for c in variant.cases}
    assert expected == {
        case_trace_id(wid, "tst", name, c.item_id, c.repetition) for c in variant.cases
    }

    traces = TraceStore(state_dir / "traces.sqlite")
    rows = traces.recent(env="tst", agent="bot", since=None, limit=100, source="evaluation")
    by_id = {t.trace_id: t for t in rows}
    assert expected <= set(by_id)  # and the unscored warm-up call, with an id of its own
    assert len(by_id) == len(expected) + 1
    for case in variant.cases:
        assert by_id[case.trace_id].output == case.response

    rc, out, err = cli(capsys, ws, "traces", "bot", "--env", "tst", "--source", "evaluation")
    assert rc == 0, err
    assert all(c.trace_id[:12] in out for c in variant.cases), out
    some = variant.cases[0]
    rc, out, err = cli(capsys, ws, "traces", "show", some.trace_id)
    assert rc == 0, err
    assert some.trace_id in out and "evaluation" in out

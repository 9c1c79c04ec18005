"""A Monitor in a `store: langfuse` environment when Langfuse is down, then back.

The local work always comes first: with Langfuse unreachable the run fails with a clear
message, but its scores, queue items and cursor are committed locally and the run is marked
`export_pending` (the planner runs it again). The next run, with Langfuse back and no new
trace, sends what the first could not - with the same deterministic ids.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.langfuse.http import RetryPolicy
from engine.providers.langfuse.monitoring import score_uuid
from engine.providers.local.traces import trace_store
from engine.providers.runs.monitor import MonitorProvider
from engine.spec.workspace import Workspace
from tests.langfuse.double import LangfuseDouble
from tests.langfuse.helpers import PK_VAR, SK_VAR
from tests.monitoring.helpers import insert, monitor_workspace, row, write

MONITOR = """\
  evaluators:
    - use: refusal
    - use: latency
      params: {target_ms: 500, max_ms: 3000}
  minTraces: 1
  annotate: {queue: review, when: [error, sample], sample: 1.0}
"""


def lf_env(root: Path, host: str) -> None:
    write(
        root,
        "environments/prd.yaml",
        f"""\
        apiVersion: agentops/v1
        kind: Environment
        metadata: {{name: prd}}
        spec:
          runtime: local
          store: langfuse
          langfuse: {{host: "{host}", publicKey: "env:{PK_VAR}", secretKey: "env:{SK_VAR}"}}
          models: {{fast: "offline:keyword"}}
        """,
    )


def run(ws: Workspace, state_dir: Path) -> RunResult:
    node = SimpleNamespace(spec=ws.monitors["mon"], address="monitor.mon[prd]")
    ctx = Context(workspace=ws, state_dir=state_dir, workspace_id="test")
    ctx.extras["langfuse.retry"] = RetryPolicy(attempts=2, sleep=lambda _s: None)
    provider = MonitorProvider(state_dir)
    return provider.run(node, RunInputs(digest="x", attrs={}), ctx, None)  # type: ignore[arg-type]


def test_an_unreachable_langfuse_keeps_the_local_results_and_the_next_run_sends_them(
    tmp_path: Path, double: LangfuseDouble
) -> None:
    root, state = tmp_path / "ws", tmp_path / "ws" / ".agentops"
    monitor_workspace(root, MONITOR)
    lf_env(root, "http://127.0.0.1:9")  # nothing listens there
    from engine.spec.workspace import load_workspace

    rows = [row() for _ in range(6)] + [row(error="HTTP 500: boom")]
    insert(state, rows)
    store = trace_store(state)

    down = run(load_workspace(root), state)
    assert down.status == "failed"
    assert "not recorded in Langfuse" in (down.message or "")
    assert "unreachable" in (down.message or "") and "next run" in (down.message or "")
    assert down.summary["export_pending"] is True
    # the local results are committed: cursor at the head, every score, the queue items
    head = store.head("prd", "bot")
    assert store.cursor("monitor.mon[prd]") == head
    assert store.export_cursor("monitor.mon[prd]") == 0  # owed from the start
    local = {(t, n): v for t in (r[0] for r in rows) for (_m, n, v, _p, _c) in store.scores_of(t)}
    assert len(local) == 2 * len(rows)
    assert len(store.queue_items("review")) == len(rows)

    lf_env(root, double.url)
    up = run(load_workspace(root), state)
    assert up.status == "succeeded", up.message
    assert up.summary["new_traces"] == 0  # nothing re-scored: only the export was retried
    assert up.summary["langfuse"]["scores_posted"] == len(local)
    assert store.export_cursor("monitor.mon[prd]") == head
    posted = {s["id"]: s for s in double.scores}
    for (trace, name), value in local.items():
        got = posted[score_uuid(f"monitor.mon[prd]/{trace}/{name}")]
        assert (got["traceId"], got["name"], got["value"]) == (trace, name, value)
    [queue] = double.queues.values()
    assert queue["name"] == "prd/review"
    assert {i["objectId"] for i in double.queue_items[queue["id"]]} == {r[0] for r in rows}

    # once more: nothing new to send, the queue is not filled twice
    again = run(load_workspace(root), state)
    assert again.status == "succeeded"
    assert again.summary["langfuse"]["scores_posted"] == 0
    assert len(double.queue_items[queue["id"]]) == len(rows)

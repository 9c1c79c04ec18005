"""Opt-in: the store and the recorder against a real Langfuse project (`pytest -m live`).

Needs LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY and LANGFUSE_HOST (or LANGFUSE_BASE_URL) of a
project you may write test data to. It syncs a small dataset named `live-<random>/golden`
(archived at the end) and records one dataset run with a score per item.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

LIVE_VARS = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not all(os.environ.get(v) for v in LIVE_VARS),
        reason="needs a real Langfuse project; run pytest -m live with LANGFUSE_* set",
    ),
]


def test_sync_and_record_against_a_real_project(tmp_path: Path) -> None:
    from engine.cli import main
    from engine.providers.base import Context
    from engine.providers.langfuse.runs import LangfuseRunRecorder
    from engine.spec.workspace import load_workspace
    from engine.state.local import LocalStateStore

    host = os.environ.get("LANGFUSE_BASE_URL") or os.environ.get(
        "LANGFUSE_HOST", "https://cloud.langfuse.com"
    )
    env = f"live-{uuid.uuid4().hex[:8]}"
    root = tmp_path / "ws"
    (root / "environments").mkdir(parents=True)
    (root / "specs").mkdir()
    (root / "environments" / f"{env}.yaml").write_text(
        f"apiVersion: agentops/v1\nkind: Environment\nmetadata: {{name: {env}}}\nspec:\n"
        f"  store: langfuse\n  langfuse:\n    host: {host}\n"
        "    publicKey: env:LANGFUSE_PUBLIC_KEY\n    secretKey: env:LANGFUSE_SECRET_KEY\n"
    )
    (root / "specs" / "golden.yaml").write_text(
        "apiVersion: agentops/v1\nkind: Dataset\nmetadata: {name: golden}\nspec:\n  items:\n"
        "    - {id: a, input: {question: one}, expected_output: '1'}\n"
        "    - {id: b, input: {question: two}, expected_output: '2'}\n"
    )
    assert main(["-C", str(root), "apply", "--auto-approve"]) == 0
    assert main(["-C", str(root), "plan", "--detailed-exitcode"]) == 0
    ws = load_workspace(root)
    wid = LocalStateStore(root / ".agentops").read().workspace_id
    ctx = Context(workspace=ws, state_dir=root / ".agentops", workspace_id=wid)
    recorder = LangfuseRunRecorder.for_environment(ctx, env)
    run = recorder.start_run(dataset="golden", run_name="live check", items=ws.items["golden"])
    run.record_item("a", input={"question": "one"}, output="1", latency_ms=10,
                    scores=[("exact", 1.0, None)])  # fmt: skip
    summary = run.finish({"exact": 0.5})
    recorder.flush()
    assert summary.missing == ["b#0"]
    assert main(["-C", str(root), "destroy", "--auto-approve"]) == 0

"""The CLI contract of plan/apply on the embedded local store (datasets, no processes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.cli import main
from tests.reconciler.util import workspace, write


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path, envs=("dev", "tst"), agents=0, datasets=2, items=3)


def run(ws: Path, *args: str) -> int:
    return main(["-C", str(ws), *args])


def test_plan_apply_plan_exit_codes(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "plan", "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "Plan: 4 to create, 0 to update, 0 to replace, 0 to delete. Runs: 0."
    )
    assert run(ws, "apply", "--auto-approve") == 0
    assert "Apply complete: 4 succeeded, 0 failed, 0 skipped" in capsys.readouterr().out
    assert run(ws, "plan", "--detailed-exitcode") == 0
    assert capsys.readouterr().out.strip() == "No changes."


def test_apply_refuses_without_a_terminal(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run(ws, "apply") == 1
    err = capsys.readouterr().err
    assert "refusing to apply these changes without confirmation" in err
    assert "--auto-approve" in err
    assert not (ws / ".agentops" / "store.sqlite").exists()


def test_saved_plan_is_applied_exactly_and_refused_when_stale(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "plan", "--out", "p.json", "--env", "dev") == 0
    saved = json.loads((ws / "p.json").read_text())
    assert saved["format_version"] == 1
    assert {c["address"] for c in saved["changes"]} == {"dataset.d-0[dev]", "dataset.d-1[dev]"}
    assert run(ws, "apply", "p.json") == 0  # no --auto-approve needed: it was reviewed
    capsys.readouterr()
    assert run(ws, "plan", "--env", "dev") == 0
    assert capsys.readouterr().out.strip() == "No changes."
    # a plan made before someone else applied is stale
    assert run(ws, "plan", "--out", "p2.json") == 0
    assert run(ws, "apply", "--auto-approve", "--env", "tst") == 0
    capsys.readouterr()
    assert run(ws, "apply", "p2.json") == 1
    assert "the state moved on since the plan was made" in capsys.readouterr().err
    # a plan made before the specs changed is stale
    assert run(ws, "plan", "--out", "p3.json") == 0
    write(
        ws,
        "specs/extra.yaml",
        """\
        apiVersion: agentops/v1
        kind: Dataset
        metadata: {name: extra}
        spec:
          items: [{input: x}]
        """,
    )
    capsys.readouterr()
    assert run(ws, "apply", "p3.json") == 1
    assert "the workspace changed since the plan was made" in capsys.readouterr().err


def test_store_drift_is_shown_and_healed(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "apply", "--auto-approve") == 0
    db = sqlite3.connect(ws / ".agentops" / "store.sqlite")
    db.execute(
        "UPDATE items SET content = replace(content, 'q0-0', 'edited in the UI'), "
        "digest = 'x' WHERE env = 'dev' AND dataset = 'd-0'"
    )
    db.commit()
    db.close()
    capsys.readouterr()
    assert run(ws, "plan", "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert "dataset.d-0[dev] will be updated in place (drifted: content:" in out
    assert run(ws, "apply", "--auto-approve") == 0
    assert run(ws, "plan", "--detailed-exitcode") == 0


def test_removed_items_are_archived_never_deleted(ws: Path) -> None:
    assert run(ws, "apply", "--auto-approve") == 0
    spec = ws / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("    - {input: {question: q0-2}}\n", ""))
    assert run(ws, "apply", "--auto-approve") == 0
    db = sqlite3.connect(ws / ".agentops" / "store.sqlite")
    rows = db.execute(
        "SELECT status, count(*) FROM items WHERE env='dev' AND dataset='d-0' GROUP BY status"
    ).fetchall()
    assert dict(rows) == {"ACTIVE": 2, "ARCHIVED": 1}
    assert run(ws, "destroy", "--auto-approve") == 0
    rows = db.execute("SELECT status, count(*) FROM items GROUP BY status").fetchall()
    assert dict(rows) == {"ARCHIVED": 12}


def test_json_and_markdown_outputs(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "plan", "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["create"] == 4 and data["format_version"] == 1
    assert run(ws, "plan", "-o", "markdown") == 0
    md = capsys.readouterr().out
    assert md.startswith("### agentops plan") and "| `+` | `dataset.d-0[dev]` | create |" in md


def test_bad_input_never_gives_a_traceback(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(ws, "specs/broken.yaml", "kind: Agnet\n")
    assert run(ws, "plan") == 1
    err = capsys.readouterr().err
    assert "specs/broken.yaml:1:7: error: unknown kind 'Agnet'" in err
    assert "Traceback" not in err
    assert run(ws, "apply", "missing-plan.json") == 1

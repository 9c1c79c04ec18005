"""Every `-o json` document: versioned, and its shape pinned (docs/json-output.md).

A key removed or renamed breaks these tests on purpose: bump the document's
`format_version` and update docs/json-output.md, then the expected keys here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from tests.reconciler.util import workspace, write


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path, envs=("dev",), agents=0, datasets=1, items=2)


def doc(capsys: pytest.CaptureFixture[str], ws: Path, *args: str, code: int = 0) -> dict:
    assert main(["-C", str(ws), *args, "-o", "json"]) == code
    out = capsys.readouterr().out
    data = json.loads(out)  # exactly one document on stdout, nothing else
    assert data["format_version"] == 1
    return data


APPLY_KEYS = {"format_version", "plan", "status", "exit_code", "seconds", "summary", "outcomes"}
OUTCOME_KEYS = {"address", "action", "status", "verdict", "message", "seconds"}


def test_apply_and_destroy(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    applied = doc(capsys, ws, "apply", "--auto-approve")
    assert set(applied) == APPLY_KEYS
    assert applied["plan"]["format_version"] == 1 and applied["plan"]["summary"]["create"] == 1
    assert (applied["status"], applied["exit_code"]) == ("ok", 0)
    assert applied["summary"] == {"ok": 1, "failed": 0, "skipped": 0}
    [outcome] = applied["outcomes"]
    assert set(outcome) == OUTCOME_KEYS
    assert outcome["address"] == "dataset.d-0[dev]" and outcome["status"] == "ok"
    again = doc(capsys, ws, "apply", "--auto-approve")  # nothing to do: still one document
    assert again["outcomes"] == [] and again["status"] == "ok"
    destroyed = doc(capsys, ws, "destroy", "--auto-approve")
    assert set(destroyed) == APPLY_KEYS and destroyed["outcomes"][0]["action"] == "delete"


def test_status(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    capsys.readouterr()
    status = doc(capsys, ws, "status")
    assert set(status) == {
        "format_version", "state", "serial", "lineage", "resources", "runs", "monitors",
        "pending", "lock", "watcher",
    }  # fmt: skip
    assert set(status["resources"][0]) == {
        "address", "provider", "digest", "health", "outputs", "updated",
    }  # fmt: skip


def test_validate_matches_the_text(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = doc(capsys, ws, "validate")
    assert set(report) == {
        "format_version", "valid", "files", "counts", "errors", "warnings", "diagnostics",
    }  # fmt: skip
    assert report["valid"] and report["errors"] == 0 and report["counts"]["Dataset"] == 1
    write(
        ws,
        "specs/broken.yaml",
        "apiVersion: agentops/v1\nkind: Agent\nmetadata: {name: bot}\nspec: {modle: x}\n",
    )
    assert main(["-C", str(ws), "validate"]) == 1
    text = capsys.readouterr().err.splitlines()
    report = doc(capsys, ws, "validate", code=1)
    assert report["errors"] == len([t for t in text if ": error: " in t]) >= 1
    for d, line in zip(report["diagnostics"], text, strict=False):
        assert line.startswith(f"{d['file']}:{d['line']}:{d['col']}: {d['severity']}: ")
        assert set(d) == {"file", "line", "col", "severity", "address", "message", "hint"}


def test_graph(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = doc(capsys, ws, "graph")
    assert set(graph) == {"format_version", "nodes"}
    assert {"address": "dataset.d-0[dev]", "depends_on": ["environment.dev"]} in graph["nodes"]

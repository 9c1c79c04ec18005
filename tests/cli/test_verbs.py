"""The verbs of issue 18 on the embedded local store: show, output, state list/rm/mv,
plan --destroy, destroy's summary, apply --replace, plan/apply --refresh-only."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from engine.cli import main
from engine.state.local import LocalStateStore
from tests.reconciler.util import workspace

D0 = "dataset.d-0[dev]"
D1 = "dataset.d-1[dev]"


@pytest.fixture
def ws(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = workspace(tmp_path, envs=("dev",), agents=0, datasets=2, items=2)
    assert main(["-C", str(root), "apply", "--auto-approve"]) == 0
    capsys.readouterr()
    return root


def run(ws: Path, *args: str) -> int:
    return main(["-C", str(ws), *args])


def state(ws: Path):  # type: ignore[no-untyped-def]
    return LocalStateStore(ws / ".agentops").read()


def test_show_renders_a_saved_plan_as_text_and_json(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "plan", "--destroy", "--out", "d.json") == 0
    printed = capsys.readouterr().out
    assert run(ws, "show", "d.json") == 0
    assert capsys.readouterr().out == printed
    assert run(ws, "show", "d.json", "-o", "json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads((ws / "d.json").read_text())
    assert shown["format_version"] == 1 and shown["destroy"] is True
    assert run(ws, "show", "missing.json") == 1
    assert "cannot read plan file" in capsys.readouterr().err


def test_plan_destroy_previews_and_changes_nothing(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = state(ws).serial
    assert run(ws, "plan", "--destroy", "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert f"{D0} will be deleted" in out
    assert "0 to create, 0 to update, 0 to replace, 2 to delete" in out
    assert set(state(ws).resources) == {D0, D1} and state(ws).serial == before
    # the saved destroy plan is applied exactly
    assert run(ws, "plan", "--destroy", "--out", "d.json") == 0
    assert run(ws, "apply", "d.json") == 0
    assert state(ws).resources == {}


def test_destroy_ends_with_destroy_complete(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "destroy", "--auto-approve") == 0
    out = capsys.readouterr().out
    assert "Destroy complete: 2 succeeded, 0 failed, 0 skipped" in out
    assert "Apply complete" not in out


def test_output_prints_outputs_from_state(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "output") == 0
    out = capsys.readouterr().out
    assert D0 in out and D1 in out
    assert run(ws, "output", D0, "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format_version"] == 1 and list(data["outputs"]) == [D0]
    name = next(iter(data["outputs"][D0]))
    assert run(ws, "output", D0, name) == 0
    assert capsys.readouterr().out.strip() == str(data["outputs"][D0][name])
    assert run(ws, "output", "dataset.nope[dev]") == 1
    assert "dataset.nope[dev] is not in the state" in capsys.readouterr().err
    assert run(ws, "output", D0, "nope") == 1
    assert "has no output 'nope'" in capsys.readouterr().err
    assert run(ws, "output", "not an address") == 1
    assert "invalid address" in capsys.readouterr().err


def test_output_never_shows_secret_looking_values(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = LocalStateStore(ws / ".agentops")
    st = store.read()
    res = st.resources[D0].model_copy(update={"outputs": {"api_token": "s3cr3t", "url": "u"}})
    with store.lock("test"):
        store.append(st, {"type": "resource", "resource": res.model_dump(mode="json")})
    assert run(ws, "output", D0, "-o", "json") == 0
    out = capsys.readouterr().out
    assert "s3cr3t" not in out and "(sensitive)" in out


def test_state_list_rm_mv(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "state", "list") == 0
    assert capsys.readouterr().out.split() == [D0, D1]
    assert run(ws, "state", "list", "dataset.d-1") == 0
    assert capsys.readouterr().out.split() == [D1]
    assert run(ws, "state", "list", "*d-0*", "-o", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["format_version"] == 1 and [i["address"] for i in listed["items"]] == [D0]

    # rm forgets without deleting: the dataset stays in the store
    assert run(ws, "state", "rm", D0) == 0
    assert f"Removed {D0}" in capsys.readouterr().out
    assert set(state(ws).resources) == {D1}
    db = sqlite3.connect(ws / ".agentops" / "store.sqlite")
    assert db.execute("SELECT count(*) FROM items WHERE dataset='d-0'").fetchone()[0] == 2
    # a missing address: nothing is removed, clear message, no traceback
    assert run(ws, "state", "rm", D1, "dataset.gone[dev]") == 1
    err = capsys.readouterr().err
    assert "not in the state: dataset.gone[dev] (nothing was removed)" in err
    assert "Traceback" not in err and set(state(ws).resources) == {D1}

    # mv renames; kind and environment must stay
    assert run(ws, "state", "mv", D1, "dataset.renamed[dev]") == 0
    st = state(ws)
    assert set(st.resources) == {"dataset.renamed[dev]"}
    assert st.resources["dataset.renamed[dev]"].address == "dataset.renamed[dev]"
    capsys.readouterr()
    assert run(ws, "state", "mv", "dataset.renamed[dev]", "agent.renamed[dev]") == 1
    assert "a Dataset stays a Dataset" in capsys.readouterr().err
    assert run(ws, "state", "mv", "dataset.renamed[dev]", "dataset.renamed[prd]") == 1
    assert "moving a record does not move what it names" in capsys.readouterr().err
    assert run(ws, "state", "mv", "dataset.nope[dev]", "dataset.x[dev]") == 1
    assert "dataset.nope[dev] is not in the state" in capsys.readouterr().err


def test_apply_replace_forces_a_replacement(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(ws, "plan", "--detailed-exitcode") == 0
    capsys.readouterr()
    assert run(ws, "plan", "--replace", D0, "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert f"{D0} will be replaced (forced: --replace)" in out
    assert "1 to replace" in out
    assert run(ws, "apply", "--auto-approve", "--replace", D0) == 0
    assert "Apply complete: 1 succeeded" in capsys.readouterr().out
    assert run(ws, "plan", "--detailed-exitcode") == 0
    assert run(ws, "plan", "--replace", "dataset.nope[dev]") == 1
    assert "no declared resource matches --replace dataset.nope[dev]" in capsys.readouterr().err


def test_refresh_only_shows_drift_alone_and_apply_records_it(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "plan", "--refresh-only", "--detailed-exitcode") == 0
    assert "No changes" in capsys.readouterr().out
    db = sqlite3.connect(ws / ".agentops" / "store.sqlite")
    db.execute(
        "UPDATE items SET content = replace(content, 'q0-0', 'edited'), digest = 'x' "
        "WHERE env = 'dev' AND dataset = 'd-0'"
    )
    db.execute("UPDATE datasets SET status = 'ARCHIVED' WHERE env = 'dev' AND name = 'd-1'")
    db.commit()
    assert run(ws, "plan", "--refresh-only", "--detailed-exitcode") == 2
    out = capsys.readouterr().out
    assert "Objects have changed outside of agentops" in out
    assert f"{D0} changed; the observation would be recorded" in out
    assert f"{D1} is gone and would be forgotten" in out
    assert "1 to record, 1 to forget" in out
    assert run(ws, "plan", "--refresh-only", "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["refresh_only"] is True and data["format_version"] == 1
    # a saved refresh-only plan applies as state edits only
    assert run(ws, "plan", "--refresh-only", "--out", "r.json") == 0
    assert run(ws, "apply", "r.json") == 0
    assert "Refresh complete: 1 recorded, 1 forgotten" in capsys.readouterr().out
    st = state(ws)
    assert set(st.resources) == {D0}
    assert st.resources[D0].private["refreshed"]["observed"]["drift"]["content"]
    # accepted drift is not shown again; a normal plan still heals it and re-creates d-1
    assert run(ws, "plan", "--refresh-only", "--detailed-exitcode") == 0
    capsys.readouterr()
    assert run(ws, "plan") == 0
    out = capsys.readouterr().out
    assert f"{D0} will be updated" in out and f"{D1} will be created" in out

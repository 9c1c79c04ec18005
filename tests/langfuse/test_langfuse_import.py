"""`agentops import dataset.x[env] NAME` of an existing Langfuse dataset, against the double."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.planner.plan import Action
from engine.providers.langfuse.items import MARKER
from engine.state.local import LocalStateStore
from tests.langfuse.double import LangfuseDouble, now
from tests.langfuse.helpers import items, lf_workspace, provider, reconcile

ADDRESS = "dataset.golden[tst]"
NAME = "tst/golden"


def existing(double: LangfuseDouble, metadata: dict | None = None) -> None:  # type: ignore[type-arg]
    double.datasets[NAME] = {
        "id": "ds-handmade",
        "name": NAME,
        "description": "made by hand",
        "metadata": metadata or {"team": "qa"},
        "projectId": double.project_id,
        "createdAt": now(),
        "updatedAt": now(),
    }


@pytest.fixture
def ws(tmp_path: Path, double: LangfuseDouble) -> Path:
    return lf_workspace(tmp_path / "ws", double.url, items(3))


def test_import_marks_the_dataset_and_the_next_apply_syncs_it(
    ws: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    existing(double)
    assert main(["-C", str(ws), "import", ADDRESS, NAME]) == 0
    assert f"as {ADDRESS}" in capsys.readouterr().out
    st = LocalStateStore(ws / ".agentops").read()
    assert st.resources[ADDRESS].provider == "langfuse-store"
    meta = double.datasets[NAME]["metadata"]
    assert meta[MARKER] == {"workspace": st.workspace_id, "address": ADDRESS}
    assert meta["team"] == "qa"  # the rest of its metadata is kept
    plan, result = reconcile(ws, provider())
    assert [c.action for c in plan.changes] == [Action.UPDATE]
    assert result.ok, result.failed
    assert len(double.dataset_items(NAME)) == 3
    plan, _ = reconcile(ws, provider())
    assert not plan.has_changes


def test_import_refuses_foreign_datasets_and_other_names(
    ws: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    existing(double, {MARKER: {"workspace": "someoneelse", "address": ADDRESS}})
    assert main(["-C", str(ws), "import", ADDRESS, NAME]) == 1
    err = capsys.readouterr().err
    assert "belongs to agentops workspace someoneelse" in err and "Traceback" not in err
    assert double.datasets[NAME]["metadata"][MARKER]["workspace"] == "someoneelse"
    assert main(["-C", str(ws), "import", ADDRESS, "other"]) == 1
    assert "lives in the Langfuse dataset 'tst/golden', not 'other'" in capsys.readouterr().err
    del double.datasets[NAME]
    assert main(["-C", str(ws), "import", ADDRESS, NAME]) == 1
    assert "there is no dataset 'tst/golden'" in capsys.readouterr().err

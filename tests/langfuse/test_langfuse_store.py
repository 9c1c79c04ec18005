"""The Langfuse store provider against the HTTP double: what goes over the wire.

Idempotent re-sync, archive instead of delete, drift from edits in the UI, pagination,
429 handling, auth and ownership failures - each asserted on the recorded requests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.planner.plan import Action, Reason
from engine.providers.langfuse.items import MARKER, item_uuid
from engine.providers.langfuse.store import LangfuseStoreProvider
from engine.state.local import LocalStateStore
from tests.langfuse.double import LangfuseDouble
from tests.langfuse.helpers import (
    SK_VAR,
    Keys,
    Sleeps,
    items,
    lf_workspace,
    provider,
    reconcile,
    write_items,
)

DATASET = "tst/golden"


@pytest.fixture
def ws(tmp_path: Path, double: LangfuseDouble) -> Path:
    return lf_workspace(tmp_path / "ws", double.url, items(5))


def workspace_id(ws: Path) -> str:
    return LocalStateStore(ws / ".agentops").read().workspace_id


def only(plan_changes: list, action: Action) -> None:  # type: ignore[type-arg]
    assert [c.action for c in plan_changes] == [action], [c.address for c in plan_changes]


def test_first_sync_creates_the_dataset_and_items_with_deterministic_ids(
    ws: Path, double: LangfuseDouble
) -> None:
    plan, result = reconcile(ws, provider())
    only(plan.changes, Action.CREATE)
    assert result.ok, result.failed
    routes = [r.route for r in double.requests]
    # the auth check first, then GET (404) before the create: no write before both
    assert routes[:3] == [
        "GET /api/public/projects",
        "GET /api/public/v2/datasets/tst%2Fgolden",
        "POST /api/public/v2/datasets",
    ]
    wid = workspace_id(ws)
    stored = {i["id"]: i for i in double.dataset_items(DATASET)}
    assert set(stored) == {item_uuid(wid, "tst", "golden", f"q{n}") for n in range(5)}
    one = stored[item_uuid(wid, "tst", "golden", "q0")]
    assert one["status"] == "ACTIVE"
    assert one["input"] == {"question": "q 0?"}
    assert one["metadata"][MARKER]["id"] == "q0"
    assert one["metadata"][MARKER]["address"] == "dataset.golden[tst]"
    dataset = double.datasets[DATASET]
    assert dataset["metadata"][MARKER] == {"workspace": wid, "address": "dataset.golden[tst]"}


def test_unchanged_resync_sends_no_writes(ws: Path, double: LangfuseDouble) -> None:
    reconcile(ws, provider())
    double.clear_log()
    plan, _ = reconcile(ws, provider())
    assert not plan.has_changes
    assert double.item_writes() == []
    # a forced re-sync (the spec changed, the items did not) reads and writes nothing either
    (ws / "dataset.json").rename(ws / "golden.json")
    spec = ws / "specs" / "golden.yaml"
    spec.write_text(spec.read_text().replace("dataset.json", "golden.json"))
    double.clear_log()
    plan, result = reconcile(ws, provider())
    only(plan.changes, Action.UPDATE)
    assert result.ok
    assert double.item_writes() == []
    assert not double.calls("POST", "/v2/datasets")


def test_items_are_listed_page_by_page(ws: Path, double: LangfuseDouble) -> None:
    reconcile(ws, provider(page_size=2))
    double.clear_log()
    plan, _ = reconcile(ws, provider(page_size=2))
    assert not plan.has_changes
    pages = [(r.query["page"], r.query["limit"]) for r in double.calls("GET", "/dataset-items")]
    assert pages == [(["1"], ["2"]), (["2"], ["2"]), (["3"], ["2"])]


def test_a_removed_item_is_archived_never_deleted_and_comes_back(
    ws: Path, double: LangfuseDouble
) -> None:
    reconcile(ws, provider())
    gone = item_uuid(workspace_id(ws), "tst", "golden", "q4")
    write_items(ws, items(4))
    double.clear_log()
    plan, result = reconcile(ws, provider())
    only(plan.changes, Action.UPDATE)
    assert result.ok
    writes = double.item_writes()
    assert [(w.body["id"], w.body["status"]) for w in writes] == [(gone, "ARCHIVED")]
    assert not [r for r in double.requests if r.method == "DELETE"]
    assert double.items[gone]["status"] == "ARCHIVED"
    assert double.items[gone]["metadata"][MARKER]["archived"] is True
    assert len(double.dataset_items(DATASET)) == 5  # still there
    assert not reconcile(ws, provider())[0].has_changes

    write_items(ws, items(5))
    double.clear_log()
    _, result = reconcile(ws, provider())
    assert result.ok
    assert [(w.body["id"], w.body["status"]) for w in double.item_writes()] == [(gone, "ACTIVE")]


def test_an_edit_in_the_ui_is_drift_and_apply_heals_it(ws: Path, double: LangfuseDouble) -> None:
    reconcile(ws, provider())
    edited = item_uuid(workspace_id(ws), "tst", "golden", "q2")
    double.edit_item(edited, input={"question": "changed in the UI"})
    double.clear_log()
    plan, result = reconcile(ws, provider())
    [change] = plan.changes
    assert change.action is Action.UPDATE
    [reason] = change.reasons
    assert reason.code is Reason.DRIFTED
    assert "changed in Langfuse: 1 edited outside agentops" in reason.detail
    assert result.ok
    assert [w.body["id"] for w in double.item_writes()] == [edited]
    assert double.items[edited]["input"] == {"question": "q 2?"}
    assert not reconcile(ws, provider())[0].has_changes


def test_items_added_or_archived_in_the_ui_are_drift(ws: Path, double: LangfuseDouble) -> None:
    reconcile(ws, provider())
    extra = double.add_item(DATASET, {"question": "added by hand"})
    archived = item_uuid(workspace_id(ws), "tst", "golden", "q1")
    double.edit_item(archived, status="ARCHIVED")
    plan, result = reconcile(ws, provider())
    [reason] = plan.changes[0].reasons
    assert "1 archived, 1 added outside agentops" in reason.detail
    assert result.ok
    assert double.items[extra]["status"] == "ARCHIVED"  # the spec is the source of truth
    assert double.items[archived]["status"] == "ACTIVE"
    assert not reconcile(ws, provider())[0].has_changes


def test_numbers_that_come_back_as_ints_are_not_drift(
    tmp_path: Path, double: LangfuseDouble
) -> None:
    data = [{"id": "n", "input": {"x": 1.0, "y": [2.0, 0.5]}, "expected_output": "3"}]
    ws = lf_workspace(tmp_path / "ws", double.url, data)
    reconcile(ws, provider())
    [stored] = double.dataset_items(DATASET)
    assert stored["input"] == {"x": 1, "y": [2, 0.5]}  # what a JavaScript server returns
    assert not reconcile(ws, provider())[0].has_changes


def test_429_retry_after_is_honoured(ws: Path, double: LangfuseDouble, sleeps: Sleeps) -> None:
    double.throttle("/dataset-items", times=2, retry_after="3")
    _, result = reconcile(ws, provider(sleep=sleeps))
    assert result.ok
    assert sleeps == [3.0, 3.0]
    statuses = [r.status for r in double.calls(path="/dataset-items")]
    assert statuses[:3] == [429, 429, 200]
    assert len(double.dataset_items(DATASET)) == 5


def test_429_beyond_the_cap_is_a_temporary_error(
    ws: Path, double: LangfuseDouble, sleeps: Sleeps
) -> None:
    double.throttle("/dataset-items", times=100, retry_after="25")
    _, result = reconcile(ws, provider(sleep=sleeps))
    [failed] = result.failed
    assert "rate limited (HTTP 429) after 3 attempt(s)" in failed.message
    assert failed.retry_after == 25.0
    assert sum(sleeps) <= 60.0  # the total cap of the default policy
    assert {w.status for w in double.item_writes()} == {429}
    assert double.dataset_items(DATASET) == []


def test_an_interrupted_sync_is_finished_by_the_next_apply(
    ws: Path, double: LangfuseDouble, sleeps: Sleeps
) -> None:
    # the third item write is refused for longer than the retry budget: the apply stops there
    double.throttle("/dataset-items", times=1, retry_after="3600", skip=2)
    _, result = reconcile(ws, provider(sleep=sleeps))
    assert result.failed and sleeps == []  # no point waiting an hour
    assert len(double.dataset_items(DATASET)) == 2
    double.clear_log()
    plan, result = reconcile(ws, provider())
    only(plan.changes, Action.CREATE)
    assert result.ok
    assert len(double.item_writes()) == 3  # only what is missing; the dataset is adopted
    assert len(double.dataset_items(DATASET)) == 5
    assert not reconcile(ws, provider())[0].has_changes


def test_wrong_keys_fail_before_any_work(
    ws: Path, double: LangfuseDouble, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SK_VAR, "sk-lf-wrong-value")
    _, result = reconcile(ws, provider())
    [failed] = result.failed
    assert "environment 'tst'" in failed.message
    assert "rejected the API keys (HTTP 401)" in failed.message
    assert f"secretKey env:{SK_VAR}" in failed.message
    assert "sk-lf-wrong-value" not in failed.message and keys.public not in failed.message
    assert [r.route for r in double.requests] == ["GET /api/public/projects"]


def test_wrong_keys_fail_the_plan_of_an_existing_dataset(
    ws: Path, double: LangfuseDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.errors import PermanentError

    reconcile(ws, provider())
    monkeypatch.setenv(SK_VAR, "sk-lf-rotated")
    double.clear_log()
    with pytest.raises(PermanentError, match="rejected the API keys"):
        reconcile(ws, provider())
    assert [r.route for r in double.requests] == ["GET /api/public/projects"]


def test_keys_of_another_project_are_refused(tmp_path: Path, double: LangfuseDouble) -> None:
    ws = lf_workspace(tmp_path / "ws", double.url, items(1), project="other")
    _, result = reconcile(ws, provider())
    [failed] = result.failed
    assert "belong to project agentops, but the environment says project 'other'" in (
        failed.message
    )
    assert not double.calls("POST")


def test_a_dataset_not_made_by_this_workspace_is_not_adopted(
    ws: Path, double: LangfuseDouble
) -> None:
    double.datasets[DATASET] = {
        "id": "ds-theirs", "name": DATASET, "description": None, "metadata": {},
        "projectId": "proj-1", "createdAt": "2025-01-01T00:00:00Z",
        "updatedAt": "2025-01-01T00:00:00Z",
    }  # fmt: skip
    _, result = reconcile(ws, provider())
    [failed] = result.failed
    assert "belongs to someone outside agentops" in failed.message
    assert double.item_writes() == []


def test_destroy_archives_every_item(ws: Path, double: LangfuseDouble) -> None:
    from engine.planner.planner import PlanOptions
    from engine.providers.registry import Registry
    from engine.reconcile import apply, make_plan, open_session, prepare
    from engine.spec.workspace import load_workspace

    reconcile(ws, provider())
    with open_session(load_workspace(ws), "destroy", registry=Registry([provider()], [])) as s:
        plan = make_plan(s, PlanOptions(destroy=True), prepare(s, observe=False))
        assert apply(s, plan).ok
    assert {i["status"] for i in double.dataset_items(DATASET)} == {"ARCHIVED"}
    assert not [r for r in double.requests if r.method == "DELETE"]


def test_state_holds_references_and_digests_only(
    ws: Path, double: LangfuseDouble, keys: Keys
) -> None:
    reconcile(ws, provider())
    for path in (ws / ".agentops").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert keys.secret.encode() not in data, path
            assert keys.public.encode() not in data, path
    state = LocalStateStore(ws / ".agentops").read()
    [res] = state.resources.values()
    assert res.private["target"]["secret_key"] == f"env:{SK_VAR}"
    assert res.outputs["dataset"] == DATASET


def test_provider_is_registered_and_routed(tmp_path: Path, double: LangfuseDouble) -> None:
    from engine.providers.registry import Registry
    from engine.spec.graph import build_graph
    from engine.spec.workspace import load_workspace

    ws = load_workspace(lf_workspace(tmp_path / "ws", double.url, items(1)))
    registry = Registry.default(tmp_path / ".agentops")
    [node] = [n for n in build_graph(ws) if n.kind == "Dataset"]
    assert isinstance(registry.resource_for(node, ws), LangfuseStoreProvider)

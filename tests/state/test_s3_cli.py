"""The S3 backend from the command line, on the moto server: selection, plan/apply, saved plans,
state pull/push/migrate, and every kind of bad input as a message (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import main
from engine.state.backend import open_store, parse_uri
from engine.state.local import LocalStateStore
from tests.reconciler.util import workspace, write
from tests.state.s3util import new_bucket, s3_client


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", envs=("dev",), agents=0, datasets=2, items=2)


def run(ws: Path, *args: str) -> int:
    return main(["-C", str(ws), *args])


def remote(uri: str, ws: Path) -> object:
    return open_store(parse_uri(uri, ws)).read()


def keys(url: str, uri: str) -> list[str]:
    bucket = uri.removeprefix("s3://").split("/", 1)[0]
    listed = s3_client(url).list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(o["Key"] for o in listed)


def test_apply_keeps_the_state_in_s3_and_nothing_locally(
    ws: Path, s3_env: str, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    assert "Apply complete: 2 succeeded" in capsys.readouterr().out
    assert not (ws / ".agentops" / "state.json").exists()
    state = remote(s3_state, ws)
    assert sorted(state.resources) == ["dataset.d-0[dev]", "dataset.d-1[dev]"]  # type: ignore[attr-defined]
    found = keys(s3_env, s3_state)
    assert "team/workspace/state.json" in found and "team/workspace/state.lock" not in found
    assert run(ws, "--state", s3_state, "plan", "--detailed-exitcode") == 0
    assert capsys.readouterr().out.strip() == "No changes."
    assert run(ws, "--state", s3_state, "state", "pull") == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["serial"] == state.serial  # type: ignore[attr-defined]
    assert f"from {s3_state}" in captured.err
    assert run(ws, "--state", s3_state, "status", "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["state"] == s3_state
    with open_store(parse_uri(s3_state, ws)).lock("apply"):  # status needs no lock
        assert run(ws, "--state", s3_state, "status") == 0
    out = capsys.readouterr().out
    assert f"State: {s3_state} (serial" in out
    assert "The state is locked by pid" in out and "lease renewed" in out


def test_the_backend_comes_from_the_flag_then_the_environment_then_agentops_yaml(
    ws: Path, s3_env: str, s3_state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = f"s3://{new_bucket(s3_env)}/other"
    write(ws, "agentops.yaml", f"state: {s3_state}\n")
    assert run(ws, "apply", "--auto-approve") == 0
    assert remote(s3_state, ws).serial > 0  # type: ignore[attr-defined]
    monkeypatch.setenv("AGENTOPS_STATE", other)
    assert run(ws, "apply", "--auto-approve", "--env", "dev") == 0
    assert remote(other, ws).serial > 0  # type: ignore[attr-defined]
    assert run(ws, "--state", "local", "apply", "--auto-approve") == 0
    assert LocalStateStore(ws / ".agentops").read().serial > 0


def test_a_bad_workspace_file_or_uri_is_a_message(
    ws: Path, s3_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    write(ws, "agentops.yaml", "state: s3://ok-bucket/x\nlocking: dynamodb\n")
    assert run(ws, "plan") == 1
    assert "agentops.yaml: unknown key 'locking'" in capsys.readouterr().err
    assert run(ws, "--state", "gs://bucket/x", "plan") == 1
    err = capsys.readouterr().err
    assert "unknown state URI 'gs://bucket/x'" in err and "s3://bucket/prefix" in err


def test_a_saved_plan_is_refused_once_the_remote_state_moved_on(
    ws: Path, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # planned without the lock before any state existed: applied by the run that creates it
    assert run(ws, "--state", s3_state, "plan", "--no-lock", "--out", "first.json") == 0
    assert run(ws, "--state", s3_state, "apply", "first.json") == 0
    capsys.readouterr()
    (ws / "specs" / "all.yaml").write_text(
        (ws / "specs" / "all.yaml").read_text().replace("q0-0", "q0-changed")
    )
    assert run(ws, "--state", s3_state, "plan", "--no-lock", "--out", "p.json") == 0
    # someone (a person, a watcher) applies first
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    capsys.readouterr()
    assert run(ws, "--state", s3_state, "apply", "p.json") == 1
    err = capsys.readouterr().err
    assert "the state moved on since the plan was made" in err and "plan --out again" in err


def test_a_no_lock_plan_needs_no_lock_and_writes_nothing(
    ws: Path, s3_env: str, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    store = open_store(parse_uri(s3_state, ws))
    with store.lock("apply"):  # someone holds the lock: a read-only plan still works
        before = keys(s3_env, s3_state)
        assert run(ws, "--state", s3_state, "plan", "--no-lock") == 0
        assert "No changes." in capsys.readouterr().out
        assert keys(s3_env, s3_state) == before


def test_push_refuses_another_lineage_or_an_older_serial_without_force(
    ws: Path, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    capsys.readouterr()
    assert run(ws, "--state", s3_state, "state", "pull") == 0
    pulled = json.loads(capsys.readouterr().out)
    serial = pulled["serial"]
    old = ws / "old.json"
    old.write_text(json.dumps({**pulled, "serial": serial - 1}))
    assert run(ws, "--state", s3_state, "state", "push", str(old)) == 1
    assert f"is older (serial {serial - 1})" in capsys.readouterr().err
    foreign = ws / "foreign.json"
    foreign.write_text(json.dumps({**pulled, "lineage": "another-one"}))
    assert run(ws, "--state", s3_state, "state", "push", str(foreign)) == 1
    assert "is another state (lineage another-one)" in capsys.readouterr().err
    edited = ws / "edited.json"
    edited.write_text(json.dumps({**pulled, "runs": {}}))
    assert run(ws, "--state", s3_state, "state", "push", str(edited)) == 0
    assert f"serial {serial + 1}" in capsys.readouterr().out
    assert run(ws, "--state", s3_state, "state", "push", "--force", str(foreign)) == 0
    assert remote(s3_state, ws).lineage == "another-one"  # type: ignore[attr-defined]
    assert remote(s3_state, ws).serial == serial + 2  # type: ignore[attr-defined]
    bad = ws / "bad.json"
    bad.write_text("{")
    assert run(ws, "--state", s3_state, "state", "push", str(bad)) == 1
    assert "it is not JSON" in capsys.readouterr().err


def test_migrate_local_to_s3_and_back(
    ws: Path, s3_env: str, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "apply", "--auto-approve") == 0
    local = LocalStateStore(ws / ".agentops").read()
    LocalStateStore(ws / ".agentops").sidecar().put_once("verdicts/abc123.json", b"{}")
    assert run(ws, "state", "migrate", "--to", s3_state) == 0
    captured = capsys.readouterr()
    assert f"to {s3_state}" in captured.out and f"--state {s3_state}" in captured.err
    assert "1 verdict and baseline object(s)" in captured.out  # they go with the state
    assert any(k.endswith("/verdicts/abc123.json") for k in keys(s3_env, s3_state))
    moved = remote(s3_state, ws)
    assert moved.lineage == local.lineage and moved.serial == local.serial + 1  # type: ignore[attr-defined]
    # the old copy refuses to be used (no second history from an empty state)
    assert run(ws, "plan") == 1
    err = capsys.readouterr().err
    assert f"was migrated to {s3_state}" in err and f"AGENTOPS_STATE={s3_state}" in err
    assert run(ws, "--state", s3_state, "plan", "--detailed-exitcode") == 0
    # a destination that holds a state is not overwritten without --force
    assert run(ws, "--state", s3_state, "state", "migrate", "--to", s3_state) == 1
    assert "already in" in capsys.readouterr().err
    # ... and back
    assert run(ws, "--state", s3_state, "state", "migrate", "--to", "local") == 0
    back = LocalStateStore(ws / ".agentops").read()
    assert back.lineage == local.lineage and back.serial == local.serial + 2
    assert run(ws, "plan", "--detailed-exitcode") == 0
    assert run(ws, "--state", s3_state, "plan") == 1
    assert "was migrated from" in capsys.readouterr().err
    assert not [k for k in keys(s3_env, s3_state) if "/journal/" in k]


def test_migrate_refuses_a_destination_that_holds_a_state(
    ws: Path, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    assert run(ws, "--state", "local", "apply", "--auto-approve") == 0
    assert run(ws, "state", "migrate", "--to", s3_state) == 1
    assert "already holds a state" in capsys.readouterr().err
    assert run(ws, "state", "migrate", "--to", s3_state, "--force") == 0


def test_a_missing_bucket_is_a_message_that_says_how_to_create_it(
    ws: Path, s3_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", "s3://no-such-bucket-here/x", "plan") == 1
    err = capsys.readouterr().err
    assert "the S3 bucket 'no-such-bucket-here'" in err and "does not exist" in err
    assert "put-bucket-versioning" in err and "Traceback" not in err


def test_an_unreachable_endpoint_is_retried_then_a_message(
    ws: Path, s3_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    assert run(ws, "--state", "s3://some-bucket/x", "plan") == 1
    err = capsys.readouterr().err
    assert "cannot reach S3 for the state in s3://some-bucket/x after 2 attempts" in err
    assert "AWS_ENDPOINT_URL_S3" in err and "Traceback" not in err


def test_a_bucket_without_versioning_keeps_a_bak_and_says_so(
    ws: Path, s3_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"s3://{new_bucket(s3_env, versioned=False)}/ws"
    assert run(ws, "--state", uri, "apply", "--auto-approve") == 0
    err = capsys.readouterr().err
    assert "has no object versioning" in err and "put-bucket-versioning" in err
    assert "ws/state.json.bak" in keys(s3_env, uri)


def test_a_corrupted_remote_state_stops_everything_and_is_left_as_it_is(
    ws: Path, s3_env: str, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    bucket = s3_state.removeprefix("s3://").split("/", 1)[0]
    client = s3_client(s3_env)
    client.put_object(Bucket=bucket, Key="team/workspace/state.json", Body=b"\x00garbage")
    capsys.readouterr()
    for argv in (["apply", "--auto-approve"], ["plan"], ["state", "pull"]):
        assert run(ws, "--state", s3_state, *argv) == 1
        err = capsys.readouterr().err
        assert "it is not JSON" in err and "nothing was written over it" in err
        assert "restore a previous version" in err and "Traceback" not in err
    body = client.get_object(Bucket=bucket, Key="team/workspace/state.json")["Body"].read()
    assert body == b"\x00garbage"
    assert "team/workspace/state.lock" not in keys(s3_env, s3_state)  # the lock was released


def test_a_no_lock_plan_reports_interrupted_operations_and_leaves_them(
    ws: Path, s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.state.model import PendingOp

    assert run(ws, "--state", s3_state, "apply", "--auto-approve") == 0
    store = open_store(parse_uri(s3_state, ws))
    with store.lock("apply"):  # an apply that crashed after recording its operation
        state = store.read()
        op = PendingOp(
            address="dataset.d-0[dev]",
            kind="Dataset",
            provider="local-store",
            op="update",
            token="agentops-" + "0" * 40,
        )
        store.append(state, {"type": "pending", "op": op.model_dump(mode="json")})
    capsys.readouterr()
    assert run(ws, "--state", s3_state, "plan", "--no-lock") == 0
    out = capsys.readouterr().out
    assert "1 interrupted or running operation(s) (dataset.d-0[dev])" in out
    assert "the next locked plan or apply resolves them" in out
    assert "dataset.d-0[dev]" in remote(s3_state, ws).pending  # type: ignore[attr-defined]

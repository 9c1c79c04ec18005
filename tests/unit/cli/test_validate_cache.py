"""The `validate` result cache replays a run only while nothing it depends on has changed.

Every test runs `validate` twice in this process; the second run must print exactly what a
full run prints. The suite turns the cache off (tests/conftest.py); these tests turn it on and
set RACY_SECONDS to 0, since the files they write are newer than the default 2 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.commands import validate_cache
from engine.spec import source_tree

ENV = """apiVersion: agentops/v1
kind: Environment
metadata:
  name: dev
spec:
  models:
    fast: offline:keyword
"""
AGENT = """apiVersion: agentops/v1
kind: Agent
metadata:
  name: bot
spec:
  source: agent
  entrypoint: app.py
  model: fast
  secrets:
    TOKEN: env:AGENTOPS_TEST_TOKEN
"""


@pytest.fixture
def ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(validate_cache.DISABLE_ENV, raising=False)
    monkeypatch.delenv("AGENTOPS_TEST_TOKEN", raising=False)
    monkeypatch.setattr(validate_cache, "RACY_SECONDS", 0.0)
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(ENV)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "agent.yaml").write_text(AGENT)
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "app.py").write_text("print('hi')\n")
    return tmp_path


def validate(
    ws: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str, bool]:
    """(exit code, stdout, stderr, whether it was replayed)."""
    import engine.spec.workspace as workspace

    loads = []
    real = workspace.load_workspace

    def counting(*a: object, **kw: object) -> workspace.Workspace:
        loads.append(1)
        return real(*a, **kw)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(workspace, "load_workspace", counting)
        code = main(["-C", str(ws), "validate", *args])
    out, err = capsys.readouterr()
    return code, out, err, not loads


def test_an_unchanged_workspace_is_replayed_exactly(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = validate(ws, capsys)
    assert first[:3] == (0, "Valid: 1 Environment, 1 Agent in 2 files.\n", first[2])
    assert "env:AGENTOPS_TEST_TOKEN, which is not set here" in first[2]
    assert not first[3]
    again = validate(ws, capsys)
    assert again == (*first[:3], True)


def test_json_and_text_are_kept_apart(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = validate(ws, capsys)
    as_json = validate(ws, capsys, "--output", "json")
    assert not as_json[3] and as_json[1].startswith("{")
    assert validate(ws, capsys, "--output", "json") == (*as_json[:3], True)
    assert validate(ws, capsys) == (*text[:3], True)


def test_an_edit_is_seen(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    validate(ws, capsys)
    (ws / "specs" / "agent.yaml").write_text(AGENT.replace("model: fast", "model: slow"))
    code, _, err, replayed = validate(ws, capsys)
    assert (code, replayed) == (1, False)
    assert "slow" in err
    assert validate(ws, capsys) == (code, "", err, True)


def test_a_file_a_spec_names_is_part_of_the_key(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    validate(ws, capsys)
    (ws / "agent" / "app.py").unlink()
    code, _, err, replayed = validate(ws, capsys)
    assert (code, replayed) == (1, False)
    assert "app.py" in err


def test_a_new_spec_file_is_seen(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    validate(ws, capsys)
    (ws / "specs" / "nested").mkdir()
    (ws / "specs" / "nested" / "two.yaml").write_text(AGENT.replace("name: bot", "name: two"))
    code, out, _, replayed = validate(ws, capsys)
    assert (code, replayed) == (0, False)
    assert "2 Agents in 3 files" in out


def test_setting_a_referenced_variable_is_seen(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    validate(ws, capsys)
    monkeypatch.setenv("AGENTOPS_TEST_TOKEN", "x")
    code, _, err, replayed = validate(ws, capsys)
    assert (code, err, replayed) == (0, "", False)
    monkeypatch.setenv("AGENTOPS_UNRELATED", "y")  # not referenced: still a replay
    assert validate(ws, capsys)[3]


def test_recent_changes_are_not_cached(
    ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validate_cache, "RACY_SECONDS", 2.0)
    validate(ws, capsys)
    assert not validate(ws, capsys)[3]
    assert not (ws / ".agentops" / "cache").exists()


@pytest.mark.parametrize(
    "setting",
    [
        {validate_cache.DISABLE_ENV: "0"},
        {"AGENTOPS_ALLOW_PATHS_OUTSIDE_WORKSPACE": "1"},
    ],
    ids=["disabled", "unconfined"],
)
def test_no_cache(
    ws: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    setting: dict[str, str],
) -> None:
    for var, value in setting.items():
        monkeypatch.setenv(var, value)
    validate(ws, capsys)
    assert not validate(ws, capsys)[3]
    assert not (ws / ".agentops" / "cache").exists()


def test_a_link_out_of_a_spec_root_is_not_cached(
    ws: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (ws / "specs" / "linked").symlink_to(outside, target_is_directory=True)
    validate(ws, capsys)
    assert not validate(ws, capsys)[3]


def test_a_link_elsewhere_is_keyed_by_its_target(
    ws: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (ws / "docs").symlink_to(outside, target_is_directory=True)
    validate(ws, capsys)
    assert validate(ws, capsys)[3]


def test_a_spec_naming_a_skipped_directory_is_not_cached(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (ws / "specs" / "agent.yaml").write_text(AGENT.replace("source: agent", "source: .venv/a"))
    validate(ws, capsys)
    assert not validate(ws, capsys)[3]


def test_the_skipped_directories_are_the_source_trees() -> None:
    assert validate_cache.SKIP_DIRS == source_tree.SKIP_DIRS


def test_a_corrupt_entry_means_a_normal_run(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = validate(ws, capsys)
    for entry in (ws / ".agentops" / "cache").iterdir():
        entry.write_text("{not json")
    assert validate(ws, capsys) == (*first[:3], False)

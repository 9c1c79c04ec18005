"""What the watcher watches and ignores, and the watchfiles-backed event source."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spec.workspace import load_workspace
from engine.watcher.files import FileEvents, ignored, watched_paths
from tests.reconciler.util import workspace, write


@pytest.mark.parametrize(
    "name",
    [
        ".agentops/state.json",
        "agents/x/__pycache__/app.cpython-311.pyc",
        "specs/.all.yaml.swp",
        "specs/all.yaml~",
        "specs/4913",
        "specs/.#all.yaml",
        "specs/#all.yaml#",
        "specs/all.yaml___jb_tmp___",
        ".git/index",
    ],
)
def test_editor_droppings_and_our_own_files_are_ignored(name: str) -> None:
    assert ignored(Path(name))


@pytest.mark.parametrize("name", ["specs/all.yaml", "data.json", "agents/x/app.py", ".env"])
def test_real_files_are_not_ignored(name: str) -> None:
    assert not ignored(Path(name))


def test_watched_paths_cover_the_trees_and_the_referenced_files(tmp_path: Path) -> None:
    workspace(tmp_path)
    write(tmp_path, "data/golden.json", '[{"input": {"q": 1}}]')
    write(tmp_path, "top.json", '[{"input": {"q": 2}}]')
    write(
        tmp_path,
        "specs/more.yaml",
        "apiVersion: agentops/v1\nkind: Dataset\nmetadata: {name: g}\nspec: {file: "
        "data/golden.json}\n---\napiVersion: agentops/v1\nkind: Dataset\nmetadata: {name: "
        "t}\nspec: {file: top.json}\n",
    )
    ws = load_workspace(tmp_path)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    root = tmp_path.resolve()
    paths = watched_paths(tmp_path, [ws])
    assert paths.trees == {root / "specs", root / "environments", root / "src"}
    assert paths.flat == {root, root / "data"}  # never the root recursively
    assert paths.files == {root / "data/golden.json", root / "top.json"}
    assert paths.relevant(root / "top.json")
    assert paths.relevant(root / "specs/new.yaml")
    assert paths.relevant(root / "src/app.py")
    assert not paths.relevant(root / "notes.txt")  # in the root, but nobody references it
    assert not paths.relevant(root / "data/other.json")
    assert not paths.relevant(root / "specs/.all.yaml.swp")
    assert not paths.relevant(root / ".agentops/state.json")
    assert paths.relevant(root / "agents")  # a tree appearing is a change


def test_an_atomic_save_arrives_as_changes_of_the_real_file(tmp_path: Path) -> None:
    workspace(tmp_path)
    write(tmp_path, "data.json", "[]")
    root = tmp_path.resolve()
    paths = watched_paths(tmp_path, [])
    events = FileEvents(100)
    events.watch(watched_paths(root, []))
    try:
        assert events.wait(0.0) == []
        tmp = root / "specs/.all.yaml.tmp"
        tmp.write_text((root / "specs/all.yaml").read_text() + "\n")
        tmp.replace(root / "specs/all.yaml")
        (root / "notes.txt").write_text("not watched")
        got: list[str] = []
        for _ in range(50):
            got += events.wait(0.1)
            if got:
                break
        got += events.wait(0.3)
        assert set(got) == {str(root / "specs/all.yaml")}
        assert paths.root == root
    finally:
        events.close()

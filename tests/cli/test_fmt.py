"""`agentops fmt`: canonical YAML, comments kept, idempotent, --check exits 3, bad YAML reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.commands.fmt import EXIT_WOULD_CHANGE, format_yaml

REPO = Path(__file__).resolve().parents[2]

MESSY = """\
# yaml-language-server: $schema=../schemas/Agent.json
apiVersion: agentops/v1
kind:   Agent   # keep me
metadata: {name: x}
spec:
    source: src
    tools:
    - a
    - b
---
kind: Dataset
metadata:
   name: d
"""

CANONICAL = """\
# yaml-language-server: $schema=../schemas/Agent.json
apiVersion: agentops/v1
kind: Agent     # keep me
metadata: {name: x}
spec:
  source: src
  tools:
    - a
    - b
---
kind: Dataset
metadata:
  name: d
"""


def test_format_is_canonical_keeps_comments_and_is_idempotent() -> None:
    assert format_yaml(MESSY) == CANONICAL
    assert format_yaml(CANONICAL) == CANONICAL


def test_the_example_workspace_is_canonical(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(REPO), "fmt", "--check"]) == 0
    assert capsys.readouterr().out == ""


def test_fmt_check_then_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "specs" / "a.yaml"
    spec.parent.mkdir()
    spec.write_text(MESSY)
    assert main(["-C", str(tmp_path), "fmt", "--check"]) == EXIT_WOULD_CHANGE
    captured = capsys.readouterr()
    assert captured.out.split() == ["specs/a.yaml"]
    assert "not canonically formatted" in captured.err
    assert spec.read_text() == MESSY  # --check writes nothing
    assert main(["-C", str(tmp_path), "fmt", "--check", "--diff"]) == EXIT_WOULD_CHANGE
    assert "+kind: Agent     # keep me" in capsys.readouterr().out
    assert main(["-C", str(tmp_path), "fmt"]) == 0
    assert spec.read_text() == CANONICAL
    assert main(["-C", str(tmp_path), "fmt", "--check", "specs/a.yaml"]) == 0


def test_fmt_reports_invalid_yaml_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "specs" / "bad.yaml"
    bad.parent.mkdir()
    bad.write_text("kind: Agent\nspec:\n  source: [src\n")
    dup = tmp_path / "specs" / "dup.yaml"
    dup.write_text("kind: Agent\nkind: Dataset\n")
    assert main(["-C", str(tmp_path), "fmt"]) == 1
    err = capsys.readouterr().err
    assert "specs/bad.yaml:" in err and ": error: " in err
    assert "specs/dup.yaml" in err and "Traceback" not in err
    assert bad.read_text() == "kind: Agent\nspec:\n  source: [src\n"
    assert main(["-C", str(tmp_path), "fmt", "specs/missing.yaml"]) == 1
    assert "specs/missing.yaml: error: cannot read it" in capsys.readouterr().err

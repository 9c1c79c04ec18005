"""`validate` parses without building the other command groups, and falls back cleanly."""

from __future__ import annotations

import sys

import pytest

from engine import cli


def _commands(parser: object) -> set[str]:
    sub = next(a for a in parser._actions if a.dest == "command")  # type: ignore[attr-defined]
    return set(sub.choices)


def test_validate_is_parsed_by_the_small_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [
        m
        for m in sys.modules
        if m.startswith("engine.commands.") and m != "engine.commands.validate"
    ]:
        monkeypatch.delitem(sys.modules, name)
    parser, args = cli._parse(["-o", "json", "validate", "specs/a.yaml", "--no-color"])
    assert args.command == "validate" and args.output == "json" and args.no_color
    assert [str(p) for p in args.paths] == ["specs/a.yaml"]
    assert "plan" not in _commands(parser) and "validate" in _commands(parser)
    # the other command groups were not imported
    assert "engine.commands.reconcile" not in sys.modules
    assert "engine.commands.preview" not in sys.modules


@pytest.mark.parametrize(
    "argv",
    [
        ["-C", "validate", "plan"],  # a directory named validate: the command is plan
        ["invoke", "validate", "hello"],  # an agent named validate
        ["state", "list", "validate"],
    ],
)
def test_other_commands_naming_validate_get_the_whole_parser(argv: list[str]) -> None:
    parser, args = cli._parse(argv)
    assert args.command != "validate"
    assert "plan" in _commands(parser)


def test_a_bad_validate_line_is_explained_by_the_whole_parser(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        cli._parse(["validate", "--bogus"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: --bogus" in err
    assert err.count("error:") == 1  # said once, by the whole parser (its usage lists COMMAND)
    assert "COMMAND" in err


def test_help_always_takes_the_whole_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli._parse(["--help", "validate"])
    assert "plan" in capsys.readouterr().out

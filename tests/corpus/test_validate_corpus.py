"""The broken-spec corpus: one tiny workspace per class of mistake, with its exact diagnostics.

Each `validate/<case>/` holds `environments/`, `specs/` and whatever files the case needs, plus
`expected.txt`: the exact stderr of `agentops -C <case> validate`. Regenerate with
`pytest tests/corpus --update-golden` and review every changed line: each diagnostic must name
file:line:col precisely and say what to do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.cli import main

CORPUS = Path(__file__).parent / "validate"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
REPO_ROOT = Path(__file__).resolve().parents[2]

#: path:line:col: error|warning: [address: ]message — line and column are 1-based (a case
#: has at least one error; warnings found alongside it are part of what it expects)
DIAGNOSTIC = re.compile(r"^[^\s:]+:[1-9]\d*:[1-9]\d*: (error|warning): \S.*$")
SUMMARY = re.compile(r"^\d+ errors? in \d+ files$")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES)
def test_case_reports_exactly_the_expected_diagnostics(
    case: str, capsys: pytest.CaptureFixture[str], update_golden: bool
) -> None:
    case_dir = CORPUS / case
    code, out, err = run(["-C", str(case_dir), "validate"], capsys)
    expected_file = case_dir / "expected.txt"
    if update_golden:
        expected_file.write_text(err, encoding="utf-8")
    assert code == 1, f"{case}: expected exit code 1, got {code}\n{err}"
    assert out == ""
    assert err.splitlines() == expected_file.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("case", CASES)
def test_every_line_is_a_precise_diagnostic(case: str) -> None:
    *diagnostics, summary = (CORPUS / case / "expected.txt").read_text("utf-8").splitlines()
    assert diagnostics, f"{case}: no diagnostic expected"
    assert SUMMARY.match(summary), summary
    assert str(sum(": error: " in d for d in diagnostics)) == summary.split()[0]
    for line in diagnostics:
        assert DIAGNOSTIC.match(line), f"{case}: not path:line:col: error: ...: {line}"
    assert diagnostics == sorted(diagnostics, key=_position), f"{case}: not sorted"


def _position(line: str) -> tuple[str, int, int]:
    path, row, col, _ = line.split(":", 3)
    return path, int(row), int(col)


@pytest.mark.parametrize("case", CASES)
def test_json_output_carries_the_same_diagnostics(
    case: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["-C", str(CORPUS / case), "validate", "--output", "json"], capsys)
    report = json.loads(out)
    assert code == 1
    assert report["valid"] is False
    lines = []
    for d in report["diagnostics"]:
        head = f"{d['file']}:{d['line']}:{d['col']}: {d['severity']}: "
        head += f"{d['address']}: " if d["address"] else ""
        lines.append(head + d["message"] + (f" ({d['hint']})" if d["hint"] else ""))
    expected = (CORPUS / case / "expected.txt").read_text("utf-8").splitlines()[:-1]
    assert lines == expected


def test_a_pasted_secret_is_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    case = str(CORPUS / "secret-ref")
    _, _, err = run(["-C", case, "validate"], capsys)
    _, out, _ = run(["-C", case, "validate", "--output", "json"], capsys)
    for secret in ("sk-proj-abcdEFGH1234secretvalue", "pk-lf-0123456789abcdef"):
        for text in (err, out):
            assert secret not in text
            assert secret[:8] not in text


def test_the_example_workspace_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["-C", str(REPO_ROOT), "validate"], capsys)
    assert code == 0, err
    assert err == ""
    assert out.startswith("Valid: ")

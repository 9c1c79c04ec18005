"""Diagnostics: every problem found in the specs, with the place it comes from.

Validation never stops at the first problem; each stage appends `Diagnostic`s and the CLI
prints them all, one line each, as

    path:line:col: error: <address>: <what is wrong> (<what to do / did you mean ...>)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, order=True)
class SourceLocation:
    """1-based line and column of a node in a spec file (path relative to the workspace)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where, what it concerns, what is wrong, and what to do."""

    location: SourceLocation
    message: str
    address: str | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR

    def format(self) -> str:
        head = f"{self.location}: {self.severity.value}: "
        if self.address:
            head += f"{self.address}: "
        tail = f" ({self.hint})" if self.hint else ""
        return f"{head}{self.message}{tail}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "col": self.location.col,
            "severity": self.severity.value,
            "address": self.address,
            "message": self.message,
            "hint": self.hint,
        }


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, or None when none is close."""
    matches = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean ...' hint for the nearest candidate, or None when none is close."""
    match = nearest(word, candidates)
    return f"did you mean '{match}'?" if match else None


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    return (d.location.file, d.location.line, d.location.col, d.message)

"""Source trees: the files of an agent (`source` + `include`), listed safely.

Pipeline role: `resolve` reports what is wrong in an agent's source folder; the digests and
the packagers (`digests.py`, `providers/agentcore/`) list the same files with the same rules,
so whatever `validate` accepted is exactly what is hashed and shipped. Only regular files are
listed. A symlink that leads outside the workspace is an error (it would ship or hash a file
the workspace does not own); a dangling link, a socket, a FIFO, a device or an unreadable
file is an error when an include pattern names it literally, and is skipped with a warning
when only a wildcard matched it (a dev server's socket next to the code must not block).
"""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.spec.paths import confinement_from_env, escapes, special_kind

SKIP_DIRS = {"__pycache__", ".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo")
_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class SourceProblem:
    """A file of the source tree that is not listed: why, and whether it is an error."""

    rel: str  # relative to `source`
    message: str
    error: bool


@dataclass(frozen=True)
class SourceTree:
    files: list[str]
    problems: list[SourceProblem]


def included(rel: str, patterns: Iterable[str]) -> bool:
    # fnmatch's `*` crosses `/`; `**/` also matches nothing (top-level files), as in git.
    for pat in patterns:
        if fnmatch.fnmatch(rel, pat) or (pat.endswith("/**") and rel.startswith(pat[:-2])):
            return True
        if pat.startswith("**/") and fnmatch.fnmatch(rel, pat[3:]):
            return True
    return False


def _named_literally(rel: str, patterns: Iterable[str]) -> bool:
    return any(rel == p for p in patterns if not any(c in p for c in _GLOB_CHARS))


def scan_source(
    root: Path, source: str, include: Iterable[str], *, confined: bool | None = None
) -> SourceTree:
    """The regular files under `root/source` matched by `include`, and the others matched."""
    confine = confinement_from_env() if confined is None else confined
    patterns = list(include)
    base = root / source
    files: list[str] = []
    problems: list[SourceProblem] = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for fn in filenames:
            if fn.endswith(SKIP_SUFFIXES):
                continue
            full = os.path.join(dirpath, fn)
            rel = os.path.relpath(full, base)
            if not included(rel, patterns):
                continue
            problem = _problem(root, Path(full), rel, confine)
            if problem is None:
                files.append(rel)
                continue
            error = problem[1] or _named_literally(rel, patterns)
            problems.append(SourceProblem(rel, problem[0], error))
    return SourceTree(sorted(files), problems)


def _problem(root: Path, path: Path, rel: str, confine: bool) -> tuple[str, bool] | None:
    """(why it is not listed, always an error) for a path that is not a readable file."""
    try:
        link = path.is_symlink()
        if link and confine and escapes(root, path):
            return "is a symbolic link that leads outside the workspace", True
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "is a dangling symbolic link (its target does not exist)", False
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})", False
    kind = special_kind(mode)
    if kind is not None:
        return f"is {kind}, not a regular file", False
    if stat.S_ISDIR(mode):  # os.walk lists only links to directories as files here
        return "is a symbolic link to a directory (not followed)", False
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)", False
    return None

"""Paths in specs: confinement to the workspace, and what a path that is not a file is.

Pipeline role: used by `resolve` (every path a spec names), by the source-tree scan and by
the readers of spec, dataset and prompts files. A pull request is untrusted input to a CI job
that holds credentials, so a spec must not be able to make agentops read (and print, or
deploy) a file outside the workspace: every path, symlinks resolved, must stay under the
workspace root. A trusted setup (a monorepo whose agents share code outside the workspace)
can opt out with `AGENTOPS_ALLOW_PATHS_OUTSIDE_WORKSPACE=1`; never set it in CI.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: opt-out of workspace confinement, for trusted setups only (see docs/security.md)
ALLOW_OUTSIDE_ENV = "AGENTOPS_ALLOW_PATHS_OUTSIDE_WORKSPACE"


def confinement_from_env() -> bool:
    """True (confined) unless the trusted-setup opt-out is set to 1/true/yes."""
    return os.environ.get(ALLOW_OUTSIDE_ENV, "").strip().lower() not in ("1", "true", "yes")


def special_kind(mode: int) -> str | None:
    """'a FIFO', 'a socket', ... for a file that is neither regular nor a directory."""
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    return "a special file"


def kind_of(path: Path) -> str | None:
    """What `path` is, as a noun phrase ('a directory', 'a FIFO (named pipe)', 'a file'),
    symlinks followed; None when nothing is there (or the link dangles)."""
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISREG(mode):
        return "a file"
    return special_kind(mode)


def escapes(root: Path, target: Path) -> bool:
    """Whether `target` (symlinks resolved, `..` applied) lies outside `root`."""
    try:
        real = target.resolve()
        base = root.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop: treat as escaping
        return True
    return real != base and base not in real.parents


def written_outside(rel: str) -> bool:
    """Whether a path, as written, is absolute or climbs out with '..' (before any link)."""
    p = Path(rel)
    if p.is_absolute() or rel.startswith("~"):
        return True
    depth = 0
    for part in p.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False

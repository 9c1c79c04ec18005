"""Private files: `.agentops/` is 0700 and every file agentops writes in it is 0600.

Role: the helpers every writer under a state directory uses (the state, its journal and lock,
the SQLite stores, traces, reports, logs, run directories, runtime tokens). That directory
holds datasets, run results, traces of real conversations and bearer tokens, so nothing in it
is for other users of the machine, whatever the process's umask says.

* `private_dir` creates a directory (and its missing parents) 0700;
* `open_private` opens or creates a file 0600, tightening an existing looser one;
* `write_private` replaces a file atomically with a 0600 one (temporary file + rename);
* `secure_state_dir` makes a state directory 0700 and, the first time it finds it open to
  others (a workspace from before this rule), takes group and other bits off everything in it.

SQLite gives its `-wal` and `-shm` files the mode of the database file, so creating the
database with `open_private` before `sqlite3.connect` keeps all three private.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN = 0o077  # group and other bits


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700; an existing `path` is set 0700.

    Only directories this call creates, and `path` itself, are touched: an existing parent
    (the workspace, a temp dir) keeps its mode.
    """
    missing: list[Path] = []
    p = path
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):  # a concurrent process made it first
            os.mkdir(d, DIR_MODE)
    if stat.S_IMODE(os.stat(path).st_mode) != DIR_MODE:
        os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, flags: int) -> int:
    """`os.open(path, flags)` creating the file 0600; an existing file open to others is
    set 0600 first. The descriptor is close-on-exec."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & _OPEN:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def touch_private(path: Path) -> Path:
    """Create `path` empty (0600) if missing, or tighten it: for files others then open
    (SQLite databases, logs appended to by a child process)."""
    os.close(open_private(path, os.O_WRONLY | os.O_CREAT))
    return path


def write_private(path: Path, data: bytes | str, *, fsync: bool = False) -> None:
    """Replace `path` atomically with `data` in a new 0600 file (readers never see a part)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def secure_state_dir(path: Path) -> Path:
    """Make a state directory private: 0700, and everything in it private once.

    A directory that is already 0700 is trusted to hold private files (everything agentops
    writes there is 0600), so the walk runs only when the directory itself was open: the
    first run after an upgrade, or a directory created by hand.
    """
    if path.is_dir() and stat.S_IMODE(os.stat(path).st_mode) == DIR_MODE:
        return path
    existed = path.is_dir()
    private_dir(path)
    if existed:
        for entry in path.rglob("*"):
            with contextlib.suppress(OSError):  # a file vanishing meanwhile is fine
                st = os.lstat(entry)
                if stat.S_ISLNK(st.st_mode) or not st.st_mode & _OPEN:
                    continue
                mode = DIR_MODE if stat.S_ISDIR(st.st_mode) else stat.S_IMODE(st.st_mode) & 0o700
                os.chmod(entry, mode)
    return path

"""The workspace's runtime token: the bearer secret every local agent process requires.

Role: one random token per state directory, in `<state_dir>/runtime.token`. The CLI reads it to
invoke agents; each agent process reads it at start-up through `--token-file`. The token never
goes on a command line or into the environment, where `ps` and `/proc` would show it to
others.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
from pathlib import Path

from engine.errors import StateError

TOKEN_FILE_NAME = "runtime.token"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,}")


def token_path(state_dir: Path) -> Path:
    """Where `load_or_create_token` keeps the token of `state_dir`."""
    return state_dir / TOKEN_FILE_NAME


def load_or_create_token(state_dir: Path) -> str:
    """Return the workspace token, creating `state_dir/runtime.token` (mode 0600) the first time.

    Creation is atomic and safe against a concurrent CLI: the token is written to a temporary file
    opened with `O_CREAT | O_EXCL` and mode 0600, then published with `link()`, which fails if
    the file exists already. Nobody ever reads a half-written token, and when two processes race
    both end up with the winner's token.

    An existing file whose mode lets the group or others read it is set back to 0600 before it
    is read. A file that is not a regular file, or whose content is not a token, raises
    `StateError`: a new token would lock out the agents that are running with the old one.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    path = token_path(state_dir)
    if not path.exists():
        tmp = state_dir / f".{TOKEN_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            # FileExistsError: another process won the race; read its token below.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return _read_token(path)


def _read_token(path: Path) -> str:
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError as exc:
        raise StateError(f"cannot read the runtime token {path}: {exc}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise StateError(f"the runtime token {path} is not a regular file")
    if st.st_mode & 0o077:
        os.chmod(path, 0o600)  # readable by others: tighten before reading the secret
    try:
        token = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(f"cannot read the runtime token {path}: {exc}") from exc
    if not _TOKEN_RE.fullmatch(token):
        raise StateError(
            f"the runtime token {path} is corrupt",
            hint="delete it and re-apply: running local agents must be restarted with a new token",
        )
    return token

"""Runtime tokens: the bearer secrets local agent processes require, one per caller class.

Role: the local runtime's stand-in for AgentCore's IAM. Two kinds of token, each a random
32-byte value in a 0600 file under the state directory (0700):

* the engine token, `<state_dir>/runtime.token`: what the CLI, runs, load tests and the
  parent's control requests present. Every agent process accepts it; no agent ever gets it.
* one token per agent address, `<state_dir>/tokens/agent.NAME[ENV].token`: what callers of
  that agent present. It is created at the agent's first start and stays the same for every
  later version (so a rolling update needs no token handover: both versions accept it), until
  the agent is deleted.

An agent process gets only the tokens of the agents in its spec's `calls:` (in its own
environment), in `<state_dir>/tokens/agent.NAME[ENV].callees.json` (0600, `{"callee": token}`);
`agentkit.calls` reads that file's path from `AGENTOPS_CALLEE_TOKENS_FILE`. So an agent can
call exactly its callees, as IAM scopes `InvokeAgentRuntime` on AgentCore, and a dev agent
holds no token any prd agent accepts.

No token goes on a command line or into an environment: the environment is copied into every
process the agent starts (MCP servers, tool shells), and agents and crash reporters print it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from engine.errors import StateError
from engine.state.private import open_private, private_dir, secure_state_dir, write_private

TOKEN_FILE_NAME = "runtime.token"
TOKENS_DIR = "tokens"
#: the variable naming an agent's callee-token file (the file, never the tokens)
CALLEE_TOKENS_ENV = "AGENTOPS_CALLEE_TOKENS_FILE"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32,}")


def token_path(state_dir: Path) -> Path:
    """Where `load_or_create_token` keeps the engine token of `state_dir`."""
    return state_dir / TOKEN_FILE_NAME


def _file_stem(address: str) -> str:
    # `experiment.hpo[dev]/v1` has a slash; everything else of an address is a valid name.
    return quote(address, safe="[]._-")


def agent_token_path(state_dir: Path, address: str) -> Path:
    """The token file callers of the agent at `address` present."""
    return state_dir / TOKENS_DIR / f"{_file_stem(address)}.token"


def callee_tokens_path(state_dir: Path, address: str) -> Path:
    """The file of the agent at `address` listing its callees' tokens."""
    return state_dir / TOKENS_DIR / f"{_file_stem(address)}.callees.json"


def load_or_create_token(state_dir: Path) -> str:
    """Return the engine token, creating `state_dir/runtime.token` (mode 0600) the first time."""
    secure_state_dir(state_dir)
    return _load_or_create(token_path(state_dir))


def load_or_create_agent_token(state_dir: Path, address: str) -> str:
    """Return the token of the agent at `address`, creating it (mode 0600) the first time."""
    path = agent_token_path(state_dir, address)
    private_dir(path.parent)
    return _load_or_create(path)


def write_callee_tokens(state_dir: Path, address: str, tokens: Mapping[str, str]) -> Path:
    """Write the callee-token file of `address` atomically (0600); returns its path.

    Replaced in place: a version still draining during an update reads the new file on its
    next call, which lists what the new spec allows.
    """
    path = callee_tokens_path(state_dir, address)
    private_dir(path.parent)
    write_private(path, json.dumps(dict(sorted(tokens.items()))) + "\n")
    return path


def forget_agent_tokens(state_dir: Path, address: str) -> None:
    """Remove the token and callee-token file of a deleted agent (a re-created one gets a new
    token: nothing holding the old one reaches it)."""
    for path in (agent_token_path(state_dir, address), callee_tokens_path(state_dir, address)):
        path.unlink(missing_ok=True)


def _load_or_create(path: Path) -> str:
    """Read the token at `path`, creating it first if missing.

    Creation is atomic and safe against a concurrent CLI: the token is written to a temporary
    file opened with `O_CREAT | O_EXCL` and mode 0600, then published with `link()`, which
    fails if the file exists already. Nobody ever reads a half-written token, and when two
    processes race both end up with the winner's token.

    An existing file whose mode lets the group or others read it is set back to 0600 before it
    is read. A file that is not a regular file, or whose content is not a token, raises
    `StateError`: a new token would lock out the agents that are running with the old one.
    """
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(secrets.token_urlsafe(32) + "\n")
            # FileExistsError: another process won the race; read its token below.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return read_token(path)


def read_token(path: Path) -> str:
    """The token in `path`; StateError when it is missing, not a regular file, or corrupt."""
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

"""AgentCore runtime session ids: the header, the validity rule and a generator (stdlib only).

Role: shared by the invocation client (`engine.invoke`) and the agent host's middleware, which
must not pay for importing an HTTP client at start-up.
"""

from __future__ import annotations

import re
import secrets
import uuid

# bedrock-agentcore reads this header into `context.session_id`.
SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
SESSION_ID_MIN_LEN = 33  # AgentCore's limits for runtimeSessionId
SESSION_ID_MAX_LEN = 256
_SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]+")
_PREFIX_RE = re.compile(r"[A-Za-z0-9_-]*")


def is_valid_session_id(session_id: str) -> bool:
    """Whether AgentCore would accept `session_id` (33-256 characters of `[A-Za-z0-9_-]`)."""
    return SESSION_ID_MIN_LEN <= len(session_id) <= SESSION_ID_MAX_LEN and bool(
        _SESSION_ID_RE.fullmatch(session_id)
    )


def new_session_id(prefix: str = "agentops") -> str:
    """A fresh valid session id, `<prefix>-<32 hex digits>`; ValueError for a bad prefix."""
    if not _PREFIX_RE.fullmatch(prefix) or len(prefix) > 200:
        raise ValueError(f"session id prefix must be at most 200 of [A-Za-z0-9_-]: {prefix!r}")
    session_id = f"{prefix}-{uuid.uuid4().hex}" if prefix else uuid.uuid4().hex
    if len(session_id) < SESSION_ID_MIN_LEN:  # only for an empty prefix
        session_id += "-" + secrets.token_hex(4)
    return session_id

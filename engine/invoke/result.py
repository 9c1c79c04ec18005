"""What every invoker hands back (`InvocationResult`) and raises (`InvokeError`).

Role: the caller's side of an invocation. Normal failures (HTTP errors, refused connections, a
malformed body, an error event inside a stream) are results with `ok=False` and an `error`
saying what was wrong. `InvokeError` is raised only for mistakes in the calling code (a payload
that is not JSON, an invalid session id, use after close).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from engine.invoke.answer import ParsedAnswer
from engine.runtime import session as _session


class InvokeError(Exception):
    """The calling code used the client wrongly; normal failures are `InvocationResult`s."""


def new_session_id(prefix: str = "agentops") -> str:
    """A fresh session id valid for AgentCore: `<prefix>-<32 hex digits>`, at least 33 chars.

    The local runtime echoes it (`SESSION_HEADER`); the agent sees it as `context.session_id`.
    """
    try:
        return _session.new_session_id(prefix)
    except ValueError as exc:
        raise InvokeError(str(exc)) from exc


@dataclass(frozen=True)
class InvocationResult:
    """What one invocation produced; `ok` is False for every kind of failure."""

    ok: bool
    status_code: int  # 0 when no HTTP response arrived
    response: str  # the answer text ("" on failure)
    trajectory: list[dict[str, object]]  # [{"tool": name, "input": ...}] in call order
    usage: dict[str, int]
    raw: object  # the parsed JSON body, the list of SSE events, or the text of a non-JSON body
    latency_ms: float  # wall time of the call, retries included
    session_id: str
    error: str | None
    attempts: int = 1  # 2 when the connection failed once and the request was retried


def result_of(
    answer: ParsedAnswer, *, status_code: int, started: float, session_id: str, attempts: int = 1
) -> InvocationResult:
    """The result of an answer read now, for a call started at `perf_counter()` `started`."""
    return InvocationResult(
        ok=answer.ok,
        status_code=status_code,
        response=answer.response,
        trajectory=answer.trajectory,
        usage=answer.usage,
        raw=answer.raw,
        latency_ms=(time.perf_counter() - started) * 1000.0,
        session_id=session_id,
        error=answer.error,
        attempts=attempts,
    )

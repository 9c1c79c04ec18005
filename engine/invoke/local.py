"""The one client that invokes a deployed agent: CLI, experiments, gates and load tests use it.

Role: turn "call this agent with this payload" into an `InvocationResult`, whatever happened on the
wire. Normal failures (HTTP errors, refused connections, a malformed body, an error event inside
a stream) are results with `ok=False` and an `error` saying what was wrong. `InvokeError` is raised
only for mistakes in the calling code (a payload that is not JSON, an invalid session id, use after
close).

`LocalInvoker` talks to the local runtime (`engine.runtime`): `POST <url>` with the workspace
token as a bearer token. The AgentCore flavour will implement the same `invoke`/`ainvoke` pair.

The answer contract, the same for every agent of this workspace:

* JSON body: an object `{"response": str, "trajectory": [{"tool": str, "input": ...}],
  "usage": {str: int}}`; `trajectory` and `usage` may be left out.
* `text/event-stream` body: `data: <json>` frames. A frame that is an object with an `error` key
  fails the invocation even though HTTP said 200 (that is how bedrock-agentcore reports an
  exception inside a stream). The last object frame with a `response` key is the final answer;
  without one, the answer is the concatenation of the string frames and of the `data` strings
  of object frames (the Strands text-delta shape).

Retries: a request is retried once, immediately, when the connection failed before any response
byte arrived (refused, reset, closed). For a refused connection nothing was sent. For a reset or
close, the usual cause is a keep-alive connection the server closed while it was idle (for
example the old version of an agent shutting down during an update): the request was never read.
The one case where a retry can repeat work is a server process that dies in the middle of a
request without answering; for the local runtime that means the agent crashed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from engine.runtime import session as _session
from engine.runtime.session import (
    SESSION_HEADER,
    SESSION_ID_MAX_LEN,
    SESSION_ID_MIN_LEN,
    is_valid_session_id,
)

_BODY_SNIPPET = 200  # characters of an unexpected body quoted in error messages

__all__ = [
    "SESSION_HEADER",
    "InvocationResult",
    "InvokeError",
    "LocalInvoker",
    "ParsedAnswer",
    "is_valid_session_id",
    "new_session_id",
    "parse_answer",
]


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


@dataclass
class ParsedAnswer:
    """What a response body means, before timing and session are known (see `parse_answer`)."""

    ok: bool
    response: str = ""
    trajectory: list[dict[str, object]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    raw: object = None
    error: str | None = None


def _snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _BODY_SNIPPET else text[:_BODY_SNIPPET] + "..."


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _answer_from_object(obj: Mapping[str, object], raw: object) -> ParsedAnswer:
    """Validate an answer object: `response` string, optional `trajectory` and `usage`."""
    if "response" not in obj:
        if "error" in obj:
            return ParsedAnswer(ok=False, raw=raw, error=f"agent error: {obj['error']}")
        keys = ", ".join(sorted(str(k) for k in obj)) or "none"
        return ParsedAnswer(
            ok=False, raw=raw, error=f"malformed answer: no 'response' (keys: {keys})"
        )
    response = obj["response"]
    if not isinstance(response, str):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'response' is a {_type_name(response)}, expected a string",
        )
    trajectory: list[dict[str, object]] = []
    steps = obj.get("trajectory", [])
    if not isinstance(steps, list):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'trajectory' is a {_type_name(steps)}, expected an array",
        )
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("tool"), str):
            return ParsedAnswer(
                ok=False,
                raw=raw,
                error=f"malformed answer: trajectory[{i}] is not an object with a string 'tool'",
            )
        trajectory.append({"tool": step["tool"], "input": step.get("input")})
    usage: dict[str, int] = {}
    counts = obj.get("usage", {})
    if not isinstance(counts, dict):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'usage' is a {_type_name(counts)}, expected an object",
        )
    for key, value in counts.items():
        # bool is an int subclass; a boolean token count is a bug on the agent's side.
        if not isinstance(value, int) or isinstance(value, bool):
            return ParsedAnswer(
                ok=False,
                raw=raw,
                error=f"malformed answer: usage[{key!r}] is a {_type_name(value)}, expected an int",
            )
        usage[str(key)] = value
    return ParsedAnswer(ok=True, response=response, trajectory=trajectory, usage=usage, raw=raw)


def _parse_sse(text: str) -> list[object] | str:
    """The JSON values of the `data:` frames, or an error message."""
    events: list[object] = []
    data: list[str] = []
    # A trailing "" flushes the last frame when the body lacks the final blank line.
    for line in [*text.splitlines(), ""]:
        if line == "":
            if data:
                payload = "\n".join(data)
                try:
                    events.append(json.loads(payload))
                except json.JSONDecodeError:
                    n = len(events) + 1
                    return f"malformed stream: frame {n} is not JSON: {_snippet(payload)}"
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # Other SSE fields (event:, id:, retry:) and comments (":") carry nothing for us.
    return events


def _answer_from_stream(text: str) -> ParsedAnswer:
    parsed = _parse_sse(text)
    if isinstance(parsed, str):
        return ParsedAnswer(ok=False, raw=text, error=parsed)
    final: dict[str, object] | None = None
    pieces: list[str] = []
    for event in parsed:
        if isinstance(event, dict):
            if "error" in event:
                # bedrock-agentcore puts str(exc) in "error" and a generic text in "message".
                error = event["error"]
                message = error if isinstance(error, str) and error else event.get("message")
                kind = event.get("error_type")
                prefix = f"agent error in stream ({kind})" if kind else "agent error in stream"
                return ParsedAnswer(ok=False, raw=parsed, error=f"{prefix}: {message}")
            if "response" in event:
                final = event
            elif isinstance(event.get("data"), str):
                pieces.append(str(event["data"]))
        elif isinstance(event, str):
            pieces.append(event)
    if final is not None:
        return _answer_from_object(final, parsed)
    if not pieces:
        return ParsedAnswer(ok=False, raw=parsed, error="malformed stream: no answer in any frame")
    return ParsedAnswer(ok=True, response="".join(pieces), raw=parsed)


def parse_answer(status_code: int, content_type: str, body: bytes) -> ParsedAnswer:
    """Interpret a complete HTTP response; never raises."""
    text = body.decode("utf-8", errors="replace")
    if content_type.split(";")[0].strip().lower() == "text/event-stream":
        answer = _answer_from_stream(text)
        if 200 <= status_code < 300 or not answer.ok:
            return answer
        return ParsedAnswer(ok=False, raw=answer.raw, error=f"HTTP {status_code}")
    if not text.strip():
        error = f"HTTP {status_code} with an empty body"
        return ParsedAnswer(ok=False, raw=text, error=error if status_code >= 300 else "empty body")
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError:
        if status_code >= 300:
            return ParsedAnswer(ok=False, raw=text, error=f"HTTP {status_code}: {_snippet(text)}")
        return ParsedAnswer(
            ok=False,
            raw=text,
            error=f"body is not JSON (content-type {content_type or 'missing'}): {_snippet(text)}",
        )
    if status_code >= 300:
        detail = value.get("error", value) if isinstance(value, dict) else value
        return ParsedAnswer(ok=False, raw=value, error=f"HTTP {status_code}: {detail}")
    if not isinstance(value, dict):
        return ParsedAnswer(
            ok=False,
            raw=value,
            error=f"malformed answer: body is a JSON {_type_name(value)}, expected an object",
        )
    return _answer_from_object(value, value)


# Failures where no response byte arrived, so the request cannot have been answered. Timeouts are
# not in the list: a read timeout means the agent may still be working on the request.
_RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


class LocalInvoker:
    """Invoke one agent of the local runtime through its stable URL.

    `invoke` uses a keep-alive `httpx.Client`; `ainvoke` an `httpx.AsyncClient` (created on first
    use, bound to that event loop) for concurrent load. Close with `close()` / `with`, or with
    `aclose()` / `async with` when `ainvoke` was used.
    """

    def __init__(
        self, url: str, token: str, timeout: float = 300.0, *, max_connections: int = 100
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvokeError(f"not an http(s) URL: {url!r}")
        if timeout <= 0:
            raise InvokeError(f"timeout must be positive, got {timeout}")
        self.url = url
        self._token = token
        # Agents may think for minutes; connecting to a local port must not take long.
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))
        # Expire idle connections well before the host's 30 s keep-alive timeout, so the client
        # is the side that closes them and never reuses one the server is closing.
        self._limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
        )
        self._client: httpx.Client | None = None
        self._aclient: httpx.AsyncClient | None = None
        self._closed = False

    # -- request building -------------------------------------------------------------------

    def _prepare(
        self, payload: Mapping[str, object], session_id: str | None
    ) -> tuple[bytes, dict[str, str], str]:
        if self._closed:
            raise InvokeError("the invoker is closed")
        try:
            body = json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise InvokeError(f"payload is not JSON-serialisable: {exc}") from exc
        sid = session_id if session_id is not None else _session.new_session_id()
        if not is_valid_session_id(sid):
            raise InvokeError(
                f"session id must be {SESSION_ID_MIN_LEN}-{SESSION_ID_MAX_LEN} characters of "
                f"[A-Za-z0-9_-], got {sid!r}"
            )
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            SESSION_HEADER: sid,
        }
        return body, headers, sid

    def _result(
        self,
        answer: ParsedAnswer,
        *,
        status_code: int,
        started: float,
        session_id: str,
        attempts: int,
    ) -> InvocationResult:
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

    def _from_response(
        self,
        response: httpx.Response,
        body: bytes,
        *,
        started: float,
        session_id: str,
        attempts: int,
    ) -> InvocationResult:
        answer = parse_answer(response.status_code, response.headers.get("content-type", ""), body)
        if response.status_code == 401 and not answer.ok:
            answer.error = f"unauthorized (wrong or missing runtime token): {answer.error}"
        echoed = response.headers.get(SESSION_HEADER, "")
        return self._result(
            answer,
            status_code=response.status_code,
            started=started,
            session_id=echoed or session_id,
            attempts=attempts,
        )

    def _failure(
        self, error: str, *, started: float, session_id: str, attempts: int, status_code: int = 0
    ) -> InvocationResult:
        return self._result(
            ParsedAnswer(ok=False, error=error),
            status_code=status_code,
            started=started,
            session_id=session_id,
            attempts=attempts,
        )

    # -- sync ----------------------------------------------------------------------------------

    def invoke(
        self, payload: Mapping[str, object], *, session_id: str | None = None
    ) -> InvocationResult:
        """POST `payload`; never raises for failures of the agent or the connection."""
        body, headers, sid = self._prepare(payload, session_id)
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, limits=self._limits, trust_env=False)
        started = time.perf_counter()
        last: httpx.HTTPError | None = None
        for attempt in (1, 2):
            try:
                with self._client.stream("POST", self.url, content=body, headers=headers) as resp:
                    # Headers arrived: the agent saw the request, so no retry from here on.
                    try:
                        data = resp.read()
                    except httpx.HTTPError as exc:
                        return self._failure(
                            f"connection lost while reading the response: {exc!r}",
                            started=started,
                            session_id=sid,
                            attempts=attempt,
                            status_code=resp.status_code,
                        )
                    return self._from_response(
                        resp, data, started=started, session_id=sid, attempts=attempt
                    )
            except _RETRYABLE as exc:
                last = exc
            except httpx.TimeoutException as exc:
                return self._failure(
                    f"timed out: {exc!r}", started=started, session_id=sid, attempts=attempt
                )
            except httpx.HTTPError as exc:
                return self._failure(
                    f"request failed: {exc!r}", started=started, session_id=sid, attempts=attempt
                )
        return self._failure(
            f"could not reach the agent at {self.url} (2 attempts): {last!r}",
            started=started,
            session_id=sid,
            attempts=2,
        )

    # -- async ---------------------------------------------------------------------------------

    async def ainvoke(
        self, payload: Mapping[str, object], *, session_id: str | None = None
    ) -> InvocationResult:
        """Async `invoke`, for many concurrent invocations from one event loop."""
        body, headers, sid = self._prepare(payload, session_id)
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(
                timeout=self._timeout, limits=self._limits, trust_env=False
            )
        started = time.perf_counter()
        last: httpx.HTTPError | None = None
        for attempt in (1, 2):
            try:
                async with self._aclient.stream(
                    "POST", self.url, content=body, headers=headers
                ) as resp:
                    try:
                        data = await resp.aread()
                    except httpx.HTTPError as exc:
                        return self._failure(
                            f"connection lost while reading the response: {exc!r}",
                            started=started,
                            session_id=sid,
                            attempts=attempt,
                            status_code=resp.status_code,
                        )
                    return self._from_response(
                        resp, data, started=started, session_id=sid, attempts=attempt
                    )
            except _RETRYABLE as exc:
                last = exc
            except httpx.TimeoutException as exc:
                return self._failure(
                    f"timed out: {exc!r}", started=started, session_id=sid, attempts=attempt
                )
            except httpx.HTTPError as exc:
                return self._failure(
                    f"request failed: {exc!r}", started=started, session_id=sid, attempts=attempt
                )
        return self._failure(
            f"could not reach the agent at {self.url} (2 attempts): {last!r}",
            started=started,
            session_id=sid,
            attempts=2,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the sync client. An async client needs `aclose()`."""
        self._closed = True
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close both clients."""
        self.close()
        if self._aclient is not None:
            await self._aclient.aclose()
            self._aclient = None

    def __enter__(self) -> LocalInvoker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> LocalInvoker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

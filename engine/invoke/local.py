"""LocalInvoker: invoke an agent of the local runtime (`engine.runtime`) over HTTP.

Role: the client experiments, gates, load tests and `agentops invoke` use for an Agent whose
state says `provider: local-runtime`: `POST <url>` with the workspace token as a bearer token,
the body read whole and handed to `parse_answer` (`answer.py`).

Retries: a request is retried once, immediately (tenacity), when the connection failed before
any response byte arrived (refused, reset, closed). For a refused connection nothing was sent.
For a reset or close, the usual cause is a keep-alive connection the server closed while it was
idle (for example the old version of an agent shutting down during an update): the request was
never read.
The one case where a retry can repeat work is a server process that dies in the middle of a
request without answering; for the local runtime that means the agent crashed.

Trace context: `trace_id=` sends `traceparent: 00-<trace id>-<parent span id>-01`
(`trace_context.py`); the agent's host takes the trace id for the invocation's trace and
exports its span as a child of that parent (an Experiment's or QualityGate's case root).

`invoke` and `ainvoke` are the same attempts over a sync and an async httpx client; what they do
with a response or a failure is shared (`_from_response`, `_lost`, `_send_failed`,
`_unreachable`), so only the awaiting differs.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any

import httpx

from engine.invoke.answer import ParsedAnswer, parse_answer
from engine.invoke.base import Invoker, encode_payload
from engine.invoke.result import InvocationResult, InvokeError, result_of
from engine.invoke.trace_context import TRACEPARENT_HEADER, traceparent
from engine.runtime import session as _session
from engine.runtime.session import (
    SESSION_HEADER,
    SESSION_ID_MAX_LEN,
    SESSION_ID_MIN_LEN,
    is_valid_session_id,
)

# Failures where no response byte arrived, so the request cannot have been answered. Timeouts are
# not in the list: a read timeout means the agent may still be working on the request.
_RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@functools.cache
def _retry() -> dict[str, Any]:
    """One retry, at once, of a request that failed that way; the last error is re-raised.

    tenacity is imported on the first invocation, not with this module (`plan` imports it)."""
    import tenacity

    return {
        "retry": tenacity.retry_if_exception_type(_RETRYABLE),
        "stop": tenacity.stop_after_attempt(2),
        "reraise": True,
    }


class LocalInvoker(Invoker):
    """Invoke one agent of the local runtime through its stable URL.

    `invoke` uses a keep-alive `httpx.Client`; `ainvoke` an `httpx.AsyncClient` (created on first
    use, bound to that event loop) for concurrent load. Close with `close()` / `with`, or with
    `aclose()` / `async with` when `ainvoke` was used.
    """

    def __init__(
        self,
        url: str,
        token: str,
        timeout: float = 300.0,
        *,
        max_connections: int = 100,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise InvokeError(f"not an http(s) URL: {url!r}")
        if timeout <= 0:
            raise InvokeError(f"timeout must be positive, got {timeout}")
        self.url = url
        self._token = token
        #: sent with every request, e.g. `X-Agentops-Source: evaluation` for the agent's trace
        self._extra_headers = dict(headers or {})
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
        self, payload: Mapping[str, object], session_id: str | None, trace_id: str | None
    ) -> tuple[bytes, dict[str, str], str]:
        if self._closed:
            raise InvokeError("the invoker is closed")
        body = encode_payload(payload)
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
            **self._extra_headers,
        }
        if trace_id is not None:
            # the host records the call under this trace, as a child of the caller's span
            headers[TRACEPARENT_HEADER] = traceparent(trace_id)
        return body, headers, sid

    # -- outcomes, shared by invoke and ainvoke -----------------------------------------------

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
        return result_of(
            answer,
            status_code=response.status_code,
            started=started,
            session_id=echoed or session_id,
            attempts=attempts,
        )

    def _failure(
        self, error: str, *, started: float, session_id: str, attempts: int, status_code: int = 0
    ) -> InvocationResult:
        return result_of(
            ParsedAnswer(ok=False, error=error),
            status_code=status_code,
            started=started,
            session_id=session_id,
            attempts=attempts,
        )

    def _lost(
        self,
        exc: httpx.HTTPError,
        response: httpx.Response,
        *,
        started: float,
        session_id: str,
        attempts: int,
    ) -> InvocationResult:
        """Headers arrived, the body did not: the agent saw the request, so no retry."""
        return self._failure(
            f"connection lost while reading the response: {exc!r}",
            started=started,
            session_id=session_id,
            attempts=attempts,
            status_code=response.status_code,
        )

    def _send_failed(
        self, exc: httpx.HTTPError, *, started: float, session_id: str, attempts: int
    ) -> InvocationResult:
        """The result of a request that got no response (and is not retried)."""
        if isinstance(exc, httpx.TimeoutException):
            return self._failure(
                f"timed out: {exc!r}", started=started, session_id=session_id, attempts=attempts
            )
        return self._failure(
            f"request failed: {exc!r}", started=started, session_id=session_id, attempts=attempts
        )

    def _unreachable(
        self, last: httpx.HTTPError, *, started: float, session_id: str
    ) -> InvocationResult:
        return self._failure(
            f"could not reach the agent at {self.url} (2 attempts): {last!r}",
            started=started,
            session_id=session_id,
            attempts=2,
        )

    # -- sync ----------------------------------------------------------------------------------

    def invoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """POST `payload`; never raises for failures of the agent or the connection.

        `trace_id` (32 hex): the call continues that trace (W3C `traceparent`)."""
        body, headers, sid = self._prepare(payload, session_id, trace_id)
        if self._client is None:
            self._client = httpx.Client(timeout=self._timeout, limits=self._limits, trust_env=False)
        import tenacity

        started = time.perf_counter()
        attempt = 1
        try:
            for attempt_ in tenacity.Retrying(**_retry()):
                attempt = attempt_.retry_state.attempt_number
                with (
                    attempt_,
                    self._client.stream("POST", self.url, content=body, headers=headers) as resp,
                ):
                    try:
                        data = resp.read()
                    except httpx.HTTPError as exc:
                        return self._lost(
                            exc, resp, started=started, session_id=sid, attempts=attempt
                        )
                    return self._from_response(
                        resp, data, started=started, session_id=sid, attempts=attempt
                    )
        except _RETRYABLE as exc:
            return self._unreachable(exc, started=started, session_id=sid)
        except httpx.HTTPError as exc:
            return self._send_failed(exc, started=started, session_id=sid, attempts=attempt)
        raise AssertionError("unreachable: every attempt returns or raises")  # pragma: no cover

    # -- async ---------------------------------------------------------------------------------

    async def ainvoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """Async `invoke`, for many concurrent invocations from one event loop."""
        body, headers, sid = self._prepare(payload, session_id, trace_id)
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(
                timeout=self._timeout, limits=self._limits, trust_env=False
            )
        import tenacity

        started = time.perf_counter()
        attempt = 1
        try:
            async for attempt_ in tenacity.AsyncRetrying(**_retry()):
                attempt = attempt_.retry_state.attempt_number
                with attempt_:
                    async with self._aclient.stream(
                        "POST", self.url, content=body, headers=headers
                    ) as resp:
                        try:
                            data = await resp.aread()
                        except httpx.HTTPError as exc:
                            return self._lost(
                                exc, resp, started=started, session_id=sid, attempts=attempt
                            )
                        return self._from_response(
                            resp, data, started=started, session_id=sid, attempts=attempt
                        )
        except _RETRYABLE as exc:
            return self._unreachable(exc, started=started, session_id=sid)
        except httpx.HTTPError as exc:
            return self._send_failed(exc, started=started, session_id=sid, attempts=attempt)
        raise AssertionError("unreachable: every attempt returns or raises")  # pragma: no cover

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

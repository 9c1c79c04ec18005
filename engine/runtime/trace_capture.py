"""ASGI middleware that copies each invocation into a trace, without slowing it down.

Role: sits between the host's `RuntimeMiddleware` (token, session) and the user's app, so only
authorised requests are traced and the session id is already set. Per request it keeps the
request body and the response's status, content type and body (bounded by
`tracing.BODY_LIMIT`), and at the end hands one tuple to the `TraceWriter` queue; parsing and
SQLite happen in the writer thread. Streams are traced when they end.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.runtime.session import SESSION_HEADER
from engine.runtime.tracing import (
    BODY_LIMIT,
    SOURCE_HEADER,
    TAGS_HEADER,
    TRACEPARENT_HEADER,
    TraceWriter,
)

INVOCATIONS_PATH = "/invocations"
_KEPT = {SOURCE_HEADER, TAGS_HEADER, TRACEPARENT_HEADER}
_SESSION = SESSION_HEADER.lower()


class TraceCapture:
    def __init__(self, app: ASGIApp, writer: TraceWriter) -> None:
        self.app = app
        self.writer = writer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != INVOCATIONS_PATH
            or scope.get("method") != "POST"
        ):
            await self.app(scope, receive, send)
            return
        started = time.time()
        t0 = time.perf_counter()
        headers: dict[str, str] = {}
        session = ""
        for k, v in scope.get("headers", []):
            name = k.decode("latin-1").lower()
            if name in _KEPT:
                headers[name] = v.decode("latin-1")
            elif name == _SESSION:
                session = v.decode("latin-1")
        request = bytearray()
        response = bytearray()
        meta: dict[str, int | str] = {"status": 500, "ctype": ""}

        async def receive_copy() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(request) <= BODY_LIMIT:
                request.extend(message.get("body", b""))
            return message

        async def send_copy(message: Message) -> None:
            if message["type"] == "http.response.start":
                meta["status"] = int(message["status"])
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        meta["ctype"] = v.decode("latin-1")
            elif message["type"] == "http.response.body" and len(response) <= BODY_LIMIT:
                response.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_copy, send_copy)
        finally:
            latency_ms = (time.perf_counter() - t0) * 1000.0
            self.writer.put(
                (
                    started,
                    latency_ms,
                    int(meta["status"]),
                    str(meta["ctype"]),
                    bytes(response),
                    session,
                    bytes(request),
                    headers,
                )
            )

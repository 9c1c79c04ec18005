"""ASGI middleware the agent host puts in front of the user's `BedrockAgentCoreApp`.

Role: the thin layer that makes a user app safe and AgentCore-like on a shared machine. It runs in
the agent process only (it imports Starlette's types; the parent never imports this module).

* Authentication: everything except `/ping` needs `Authorization: Bearer <token>` with one of
  the tokens the process accepts (the engine's and the agent's own, see `engine.runtime.token`),
  otherwise 401 `{"error": ...}`. Other local users and processes share 127.0.0.1, and an agent
  may hold credentials and tools. The header is then removed, so the token never reaches user
  code: bedrock-agentcore forwards `Authorization` into `context.request_headers`, and agents log
  their headers.
* Session: the AgentCore session header is passed down so that `context.session_id` is set. When
  the request has none, a new id is generated (the managed service assigns one too). An id that
  AgentCore would refuse gets 400, so the mistake shows up locally instead of after deploying.
  The id is echoed on the response, which the SDK app does not do by itself.
* Control: `POST /_agentops/steer {"index": n}`, with the token, answered only on the process's
  private port. The parent uses it to move the stable port's new connections (see
  `engine.runtime.reuseport`). On the stable port that path goes to the app like any other.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.runtime.session import SESSION_HEADER, is_valid_session_id, new_session_id

STEER_PATH = "/_agentops/steer"
PING_PATH = "/ping"
_SESSION_KEY = SESSION_HEADER.lower().encode("latin-1")
_AUTHORIZATION = b"authorization"
_MAX_CONTROL_BODY = 4096


async def _send_json(
    send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]]
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class RuntimeMiddleware:
    """Token check, session header and the private control endpoint around an ASGI app."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        tokens: Sequence[str],
        private_port: int,
        steer: Callable[[int], None],
    ) -> None:
        if not tokens or not all(tokens):
            raise ValueError("the runtime tokens must not be empty")
        self.app = app
        self._expected = [b"Bearer " + token.encode() for token in tokens]
        self._private_port = private_port
        self._steer = steer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and scope["path"] == PING_PATH:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        if not self._authorized(headers):
            await self._deny(scope, send)
            return
        if scope["type"] == "http" and scope["path"] == STEER_PATH and self._on_private(scope):
            await self._handle_steer(receive, send)
            return

        session = next((v for k, v in headers if k.lower() == _SESSION_KEY), None)
        if session is None:
            session = new_session_id("local").encode("latin-1")
        elif not is_valid_session_id(session.decode("latin-1")):
            if scope["type"] == "http":
                await _send_json(
                    send,
                    400,
                    {"error": f"invalid {SESSION_HEADER}: need 33-256 of [A-Za-z0-9_-]"},
                    [],
                )
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        downstream = [(k, v) for k, v in headers if k.lower() not in (_AUTHORIZATION, _SESSION_KEY)]
        downstream.append((_SESSION_KEY, session))
        scope = dict(scope, headers=downstream)

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_session(message: Message) -> None:
            if message["type"] == "http.response.start":
                out = [(k, v) for k, v in message.get("headers", []) if k.lower() != _SESSION_KEY]
                out.append((_SESSION_KEY, session))
                message = dict(message, headers=out)
            await send(message)

        await self.app(scope, receive, send_with_session)

    def _authorized(self, headers: list[tuple[bytes, bytes]]) -> bool:
        values = [v for k, v in headers if k.lower() == _AUTHORIZATION]
        if len(values) != 1:  # exactly one header
            return False
        # compare_digest keeps each comparison's time independent of the token, and every
        # accepted token is compared, so the time does not tell which one matched either.
        matched = False
        for expected in self._expected:
            matched |= hmac.compare_digest(values[0], expected)
        return matched

    def _on_private(self, scope: Scope) -> bool:
        server = scope.get("server")
        return server is not None and int(server[1]) == self._private_port

    async def _deny(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            # Closing before accept makes the server answer the upgrade with 403.
            await send({"type": "websocket.close", "code": 1008})
            return
        await _send_json(
            send,
            401,
            {"error": "missing or wrong runtime token (Authorization: Bearer <token>)"},
            [(b"www-authenticate", b'Bearer realm="agentops-local-runtime"')],
        )

    async def _handle_steer(self, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > _MAX_CONTROL_BODY:
                await _send_json(send, 413, {"error": "control body too large"}, [])
                return
            if not message.get("more_body", False):
                break
        try:
            request = json.loads(body or b"{}")
            index = request["index"]
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise TypeError("index must be a non-negative integer")
        except (ValueError, KeyError, TypeError) as exc:
            await _send_json(send, 400, {"error": f'expected {{"index": <int >= 0>}}: {exc}'}, [])
            return
        try:
            self._steer(index)
        except OSError as exc:
            await _send_json(send, 500, {"error": f"steering failed: {exc}"}, [])
            return
        await _send_json(send, 200, {"ok": True, "index": index}, [])

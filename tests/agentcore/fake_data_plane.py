"""A local stand-in for the AgentCore data plane (moto has none).

It speaks InvokeAgentRuntime as botocore sends it - `POST /runtimes/{url-encoded ARN}/
invocations?qualifier=Q` with the session id header - and forwards the body to the local agent
registered for that ARN (`POST <agent url>/invocations`), copying back status, content type and
body and echoing the session id as AgentCore does. Unknown ARNs get AgentCore's 404
`ResourceNotFoundException`. Point boto3 at it with `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`.

Custom headers (`X-Amzn-Bedrock-AgentCore-Runtime-Custom-*`) are recorded per request
(`seen[i]["custom"]`, names lower-cased) and, like AgentCore, forwarded to the agent only
when the runtime's `requestHeaderAllowlist` names them: `allowed[arn]`, e.g. read from moto's
`get_agent_runtime` of the deployed runtime (`allow_from`).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import uvicorn

SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
CUSTOM = "x-amzn-bedrock-agentcore-runtime-custom-"


class FakeDataPlane:
    def __init__(self) -> None:
        self.agents: dict[str, str] = {}  # ARN -> base URL of a local agent
        #: ARN -> the runtime's request header allowlist (lower-cased names)
        self.allowed: dict[str, set[str]] = {}
        self.seen: list[dict[str, Any]] = []
        plane = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                plane.handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeDataPlane:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _reply(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        ctype: str,
        body: bytes,
        headers: dict[str, str] | None = None,
    ) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        url = urlparse(h.path)
        parts = url.path.split("/")
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        arn = unquote(parts[2]) if len(parts) > 3 and parts[1] == "runtimes" else ""
        sid = h.headers.get(SESSION) or f"{uuid.uuid4().hex}-assigned"
        custom = {k.lower(): v for k, v in h.headers.items() if k.lower().startswith(CUSTOM)}
        auth = h.headers.get("Authorization") or ""
        signed = set(auth.partition("SignedHeaders=")[2].partition(",")[0].split(";"))
        self.seen.append(
            {
                "arn": arn,
                "qualifier": parse_qs(url.query).get("qualifier", [None])[0],
                "session": h.headers.get(SESSION),
                "traceparent": h.headers.get("traceparent"),
                "custom": custom,
                "signed": signed,
                "body": body,
            }
        )
        target = self.agents.get(arn)
        if target is None:
            error = json.dumps({"message": f"no runtime {arn}"}).encode()
            self._reply(
                h, 404, "application/json", error, {"x-amzn-ErrorType": "ResourceNotFoundException"}
            )
            return
        req = urllib.request.Request(
            target.rstrip("/") + "/invocations",
            data=body,
            # AgentCore forwards the W3C trace headers to the agent (boto3 traceParent/State)
            headers={
                "Content-Type": "application/json",
                SESSION: sid,
                **{k: v for k in ("traceparent", "tracestate") if (v := h.headers.get(k))},
                **{k: v for k, v in custom.items() if k in self.allowed.get(arn, set())},
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 - loopback
                status, ctype, data = resp.status, resp.headers["Content-Type"], resp.read()
        except urllib.error.HTTPError as exc:
            status, ctype, data = exc.code, exc.headers["Content-Type"], exc.read()
        self._reply(h, status, ctype or "application/json", data, {SESSION: sid})


def allow_from(runtime: dict[str, Any]) -> set[str]:
    """The allowlist of a GetAgentRuntime answer, lower-cased (AgentCore's matching)."""
    config = runtime.get("requestHeaderConfiguration") or {}
    return {str(n).lower() for n in config.get("requestHeaderAllowlist") or []}


def serve(app: Any) -> tuple[str, uvicorn.Server]:
    """An ASGI agent app on a free loopback port in a thread: (its URL, the server)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server

"""Shared helpers of the evaluator tests: case builders and a fake OpenAI-compatible judge.

No __init__.py and a unique module name on purpose: a `tests/evaluators` package would be
importable as `evaluators` and shadow the workspace's `evaluators/` folder.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from engine.evaluators import EvalCase, ToolCall

SEED_EXPECTED: dict[str, Any] = {
    "trajectory": ["getLangfuseOverview", "searchLangfuseDocs"],
    "search_term": "Data retention",
    "response_facts": [
        "By default, traces are retained indefinetly",
        "You can set custom data retention policy in the project settings",
    ],
}

GOOD_ANSWER = (
    "By default, Langfuse retains traces indefinitely. You can set a custom data retention "
    "policy in the project settings. See https://langfuse.com/docs/data-retention."
)


def case(
    output: str = GOOD_ANSWER,
    *,
    expected: object = None,
    tools: tuple[tuple[str, Mapping[str, object]], ...] | None = None,
    input: object = None,
    latency_ms: float = 800.0,
    error: str | None = None,
    metadata: Mapping[str, object] | None = None,
) -> EvalCase:
    if tools is None:
        tools = (
            ("getLangfuseOverview", {}),
            ("searchLangfuseDocs", {"query": "data retention"}),
        )
    return EvalCase(
        input=input if input is not None else {"question": "How long are traces retained?"},
        expected=SEED_EXPECTED if expected is None else expected,
        output=output,
        trajectory=tuple(ToolCall(name, dict(args)) for name, args in tools),
        latency_ms=latency_ms,
        error=error,
        metadata=metadata or {},
    )


# --- a fake OpenAI-compatible judge --------------------------------------------------------


@dataclass
class FakeJudge:
    """Records requests; answers every chat completion with a `select_choice` tool call."""

    base_url: str
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: the Authorization header of each request
    authorizations: list[str | None] = field(default_factory=list)
    #: body -> choice letter; or set `status` to make it fail
    chooser: Callable[[dict[str, Any]], str] = lambda body: "C"
    status: int = 200

    def prompt(self, index: int = -1) -> str:
        body = self.requests[index][1]
        if "messages" in body:
            return "\n".join(str(m.get("content", "")) for m in body["messages"])
        return json.dumps(body.get("input", ""))


def _completion(body: dict[str, Any], choice: str) -> dict[str, Any]:
    arguments = json.dumps({"reasons": f"scripted choice {choice}", "choice": choice})
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "select_choice", "arguments": arguments},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _response(body: dict[str, Any], choice: str) -> dict[str, Any]:
    arguments = json.dumps({"reasons": f"scripted choice {choice}", "choice": choice})
    return {
        "id": "resp-fake",
        "object": "response",
        "created_at": 0,
        "model": body.get("model", "fake"),
        "status": "completed",
        "output": [
            {
                "type": "function_call",
                "id": "fc_1",
                "call_id": "call_1",
                "name": "select_choice",
                "arguments": arguments,
                "status": "completed",
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "required",
        "tools": [],
    }


@contextmanager
def fake_judge() -> Iterator[FakeJudge]:
    """A judge server on 127.0.0.1 (POST .../chat/completions and .../responses)."""
    judge = FakeJudge(base_url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            judge.requests.append((self.path, body))
            judge.authorizations.append(self.headers.get("Authorization"))
            if judge.status != 200:
                payload = {"error": {"message": "judge exploded", "type": "server_error"}}
                status = judge.status
            elif self.path.endswith("/chat/completions"):
                payload, status = _completion(body, judge.chooser(body)), 200
            elif self.path.endswith("/responses"):
                payload, status = _response(body, judge.chooser(body)), 200
            else:
                payload, status = {"error": {"message": f"no route {self.path}"}}, 404
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # A short poll interval: shutdown() waits up to one interval (0.5 s by default).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    judge.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield judge
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

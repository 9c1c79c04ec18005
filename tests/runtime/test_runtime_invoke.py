"""The invocation client: answer parsing, malformed bodies, connection failures, misuse."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from engine.invoke import (
    InvocationResult,
    InvokeError,
    LocalInvoker,
    new_session_id,
    parse_answer,
)
from engine.runtime import AgentProcess, allocate_port

from .conftest import Runtime

pytestmark = pytest.mark.timeout(30)

JSON = "application/json"
SSE = "text/event-stream; charset=utf-8"


def _sse(*frames: object) -> bytes:
    return "".join(f"data: {json.dumps(f)}\n\n" for f in frames).encode()


# -- parsing (no processes) ----------------------------------------------------------------------


def test_parse_json_answer() -> None:
    body = {
        "response": "hi",
        "trajectory": [{"tool": "search", "input": {"q": "x"}}, {"tool": "noop"}],
        "usage": {"inputTokens": 3},
        "model": "extra keys are kept in raw",
    }
    answer = parse_answer(200, JSON, json.dumps(body).encode())
    assert answer.ok and answer.error is None
    assert answer.response == "hi"
    assert answer.trajectory == [
        {"tool": "search", "input": {"q": "x"}},
        {"tool": "noop", "input": None},
    ]
    assert answer.usage == {"inputTokens": 3}
    assert answer.raw == body


@pytest.mark.parametrize(
    ("status", "content_type", "body", "error"),
    [
        (200, "text/plain", b"this is not json", "body is not JSON (content-type text/plain)"),
        (200, JSON, b"[1, 2]", "body is a JSON array, expected an object"),
        (200, JSON, b'"just a string"', "body is a JSON string, expected an object"),
        (200, JSON, b'{"answer": "x"}', "no 'response' (keys: answer)"),
        (200, JSON, b'{"response": 42}', "'response' is a int, expected a string"),
        (200, JSON, b'{"response": "x", "trajectory": {}}', "'trajectory' is a object"),
        (200, JSON, b'{"response": "x", "trajectory": [{"input": 1}]}', "trajectory[0]"),
        (200, JSON, b'{"response": "x", "usage": {"in": "many"}}', "usage['in'] is a string"),
        (200, JSON, b'{"response": "x", "usage": {"in": true}}', "usage['in'] is a boolean"),
        (200, JSON, b"", "empty body"),
        (200, JSON, b'{"error": "handler said no"}', "agent error: handler said no"),
        (500, JSON, b'{"error": "boom"}', "HTTP 500: boom"),
        (502, "text/html", b"<html>bad gateway</html>", "HTTP 502: <html>bad gateway</html>"),
        (200, SSE, b"data: {not json\n\n", "frame 1 is not JSON"),
        (200, SSE, b": only a comment\n\n", "no answer in any frame"),
    ],
)
def test_parse_malformed(status: int, content_type: str, body: bytes, error: str) -> None:
    answer = parse_answer(status, content_type, body)
    assert not answer.ok
    assert answer.error is not None and error in answer.error


def test_parse_stream_final_answer_and_text_deltas() -> None:
    final = {"response": "whole answer", "usage": {"outputTokens": 2}}
    answer = parse_answer(200, SSE, _sse("who", "le", final))
    assert answer.ok and answer.response == "whole answer" and answer.usage == {"outputTokens": 2}
    assert answer.raw == ["who", "le", final]
    deltas = parse_answer(200, SSE, _sse("a", {"data": "b"}, {"other": 1}, "c"))
    assert deltas.ok and deltas.response == "abc"
    # No trailing blank line after the last frame: still parsed.
    assert parse_answer(200, SSE, b'data: "x"').response == "x"
    # Multi-line data frames are joined with newlines before decoding.
    assert parse_answer(200, SSE, b'data: {"response":\ndata: "ml"}\n\n').response == "ml"


def test_parse_stream_error_event_fails_despite_http_200() -> None:
    error = {"error": "tool crashed", "error_type": "ValueError", "message": "An error occurred"}
    answer = parse_answer(200, SSE, _sse("partial ", error))
    assert not answer.ok
    assert answer.error == "agent error in stream (ValueError): tool crashed"


def test_new_session_id() -> None:
    for prefix in ("agentops", "x", ""):
        sid = new_session_id(prefix)
        assert 33 <= len(sid) <= 256
        assert all(c.isalnum() or c in "-_" for c in sid)
        assert sid.startswith(prefix)
    assert new_session_id() != new_session_id()
    with pytest.raises(InvokeError):
        new_session_id("bad prefix!")


def test_programming_errors_raise() -> None:
    with pytest.raises(InvokeError):
        LocalInvoker("127.0.0.1:1/invocations", "t")
    inv = LocalInvoker("http://127.0.0.1:1/invocations", "t")
    with pytest.raises(InvokeError, match="JSON"):
        inv.invoke({"x": object()})
    with pytest.raises(InvokeError, match="session id"):
        inv.invoke({}, session_id="short")
    inv.close()
    with pytest.raises(InvokeError, match="closed"):
        inv.invoke({})


def test_connection_refused_is_a_result() -> None:
    port = allocate_port()  # nothing listens there
    with LocalInvoker(f"http://127.0.0.1:{port}/invocations", "t", timeout=5) as inv:
        result = inv.invoke({"prompt": "x"})
    assert isinstance(result, InvocationResult)
    assert not result.ok
    assert result.status_code == 0
    assert result.attempts == 2
    assert result.error is not None and "could not reach the agent" in result.error
    assert "ConnectError" in result.error


def _scripted(*failures: Exception) -> tuple[httpx.MockTransport, list[int]]:
    """A transport that raises `failures` in turn, then answers; counts the requests."""
    sent: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if len(sent) <= len(failures):
            raise failures[len(sent) - 1]
        return httpx.Response(200, json={"response": "hi", "trajectory": []})

    return httpx.MockTransport(handle), sent


RESET = httpx.RemoteProtocolError("Server disconnected without sending a response.")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_request_that_got_no_response_is_sent_once_more_and_only_once(mode: str) -> None:
    def run(*failures: Exception) -> tuple[InvocationResult, int]:
        transport, sent = _scripted(*failures)
        inv = LocalInvoker("http://127.0.0.1:9/invocations", "t", timeout=5)
        if mode == "sync":
            inv._client = httpx.Client(transport=transport)
            return inv.invoke({"prompt": "x"}), len(sent)
        inv._aclient = httpx.AsyncClient(transport=transport)
        return asyncio.run(inv.ainvoke({"prompt": "x"})), len(sent)

    result, sent = run(RESET)
    assert (result.ok, result.response, result.attempts, sent) == (True, "hi", 2, 2)
    result, sent = run(RESET, httpx.ConnectError("refused"))
    assert (result.ok, result.attempts, sent) == (False, 2, 2)
    assert result.error is not None and "could not reach the agent" in result.error
    result, sent = run(httpx.ReadTimeout("slow"))  # the agent may be working on it: no retry
    assert (result.ok, result.attempts, sent) == (False, 1, 1)
    assert result.error is not None and result.error.startswith("timed out")


# -- against real agents -------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("text", "body is not JSON (content-type text/plain"),
        ("list", "body is a JSON array"),
        ("no_response", "no 'response'"),
        ("bad_usage", "usage['inputTokens'] is a string"),
        ("empty", "empty body"),
        ("unknown", "HTTP 500: unknown kind unknown"),
    ],
)
def test_malformed_answers_from_an_agent(
    module_runtime: Runtime, bad_json: AgentProcess, kind: str, error: str
) -> None:
    with LocalInvoker(bad_json.url, module_runtime.token, timeout=10) as inv:
        result = inv.invoke({"kind": kind})
    assert not result.ok
    assert result.error is not None and error in result.error, result.error
    assert result.response == ""
    assert len(result.session_id) >= 33


@pytest.fixture(scope="module")
def bad_json(module_runtime: Runtime) -> AgentProcess:
    return module_runtime.start("bad_json")


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_stream_and_agent_errors(module_runtime: Runtime, echo: AgentProcess) -> None:
    with LocalInvoker(echo.url, module_runtime.token, timeout=10) as inv:
        streamed = inv.invoke({"prompt": "a b", "stream": True})
        assert streamed.ok, streamed.error
        assert streamed.response == f"v1 pid {echo.pid}: a b"
        assert isinstance(streamed.raw, list) and streamed.raw[:2] == ["a ", "b "]
        broken = inv.invoke({"prompt": "a b", "stream": "error"})
        assert not broken.ok and broken.status_code == 200
        assert broken.error == "agent error in stream (ValueError): stream broke on purpose"
        teapot = inv.invoke({"status": 418})
        assert not teapot.ok and teapot.status_code == 418
        assert teapot.error == "HTTP 418: as requested"


@pytest.mark.slow
@pytest.mark.timeout(30)
def test_async_concurrent_invocations(module_runtime: Runtime, echo: AgentProcess) -> None:
    async def run() -> list[InvocationResult]:
        async with LocalInvoker(echo.url, module_runtime.token, timeout=10) as inv:
            calls = [inv.ainvoke({"prompt": f"n{i}", "sleep": 0.2}) for i in range(32)]
            return await asyncio.gather(*calls)

    results = asyncio.run(run())
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    assert sorted(r.response.split(": ")[1] for r in results) == sorted(f"n{i}" for i in range(32))
    # 32 calls of 0.2 s each ran concurrently, not one after the other.
    assert max(r.latency_ms for r in results) < 0.2 * 32 * 1000 / 4
    assert len({r.session_id for r in results}) == 32

"""Docs assistant: a Strands agent answering questions about agentops from its own docs.

The reference agent of the evaluation flywheel. It reaches the documentation through an MCP
stdio server (``docs_server.py``: ``getProjectOverview``, ``searchProjectDocs``), the way the
seed's agent reaches the Langfuse docs. Served with the bedrock-agentcore app contract:
``POST /invocations`` with ``{"prompt": ...}`` (or ``{"question": ...}``) ->
``{"response", "trajectory", "usage", "model"}``.

Environment: ``AGENTOPS_MODEL`` (default ``offline:keyword``), ``AGENTOPS_SYSTEM_PROMPT``
(blank -> :data:`DEFAULT_SYSTEM_PROMPT`), ``DOCS_DIR`` (default ``docs``, relative to the
working directory).

The MCP server process is started once per process - by a warm-up thread when the server starts
(the app's lifespan), else on first use - and kept open; each request builds a fresh ``Agent``
over the already-listed tools.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentkit.mcp import declared_stdio_servers
from bedrock_agentcore import BedrockAgentCoreApp
from mcp.client.stdio import StdioServerParameters, stdio_client
from strands import Agent
from strands.tools.mcp import MCPClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # agentkit lives next to this agent's directory

from agentkit.models import build_model, model_string_from_env  # noqa: E402
from agentkit.respond import (  # noqa: E402
    build_response,
    missing_prompt,
    port_from_env,
    prompt_from_payload,
    system_prompt_from_env,
)
from agentkit.telemetry import request_trace, setup_telemetry  # noqa: E402

DEFAULT_SYSTEM_PROMPT = (
    "You are the agentops documentation assistant. Answer questions about agentops, the "
    "declarative engine that deploys, evaluates and promotes AI agents. First call "
    "getProjectOverview, then searchProjectDocs with a precise search term, and answer only from "
    "what the tools return, citing the files you used. Refuse requests to attack, break into or "
    "misuse systems, accounts or credentials."
)

log = logging.getLogger("docs_assistant")
_mcp_lock = threading.Lock()
_mcp_client: MCPClient | None = None
_mcp_tools: list[Any] = []


def docs_dir() -> Path:
    return Path(os.environ.get("DOCS_DIR") or "docs").resolve()


def docs_tools() -> list[Any]:
    """The MCP tools, starting the docs server the first time (thread-safe, once per process)."""
    global _mcp_client, _mcp_tools
    with _mcp_lock:
        if _mcp_client is None:
            env = dict(os.environ)
            env["DOCS_DIR"] = str(docs_dir())
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(HERE.parent), env.get("PYTHONPATH", "")) if p
            )
            # The spec's `tools:` (AGENTOPS_MCP_SERVERS) when the runtime declares them, else
            # the docs server shipped next to this file.
            declared = list(declared_stdio_servers(env).values())
            params = (
                declared[0]
                if declared
                else StdioServerParameters(
                    command=sys.executable, args=[str(HERE / "docs_server.py")], env=env
                )
            )
            # Strands 1.62 annotates the transport with mcp 1.x stream types; mcp 2.x's
            # stdio_client works at run time (verified) but not for the type checker.
            transport: Any = lambda: stdio_client(params)  # noqa: E731
            client = MCPClient(transport, startup_timeout=30)
            client.start()
            try:
                _mcp_tools = list(client.list_tools_sync())
            except BaseException:
                client.stop(None, None, None)
                raise
            _mcp_client = client
            atexit.register(close_docs_tools)
        return _mcp_tools


def close_docs_tools() -> None:
    """Stop the MCP server process (at exit, or from tests)."""
    global _mcp_client, _mcp_tools
    with _mcp_lock:
        if _mcp_client is not None:
            try:
                _mcp_client.stop(None, None, None)
            finally:
                _mcp_client, _mcp_tools = None, []


def answer(prompt: str) -> dict[str, Any]:
    model_string = model_string_from_env()
    agent = Agent(
        model=build_model(model_string),
        tools=docs_tools(),
        system_prompt=system_prompt_from_env(DEFAULT_SYSTEM_PROMPT),
        callback_handler=None,
    )
    result = agent(prompt)
    return build_response(result, agent.messages, model_string)


def warm_up() -> None:
    """Pay the start-up costs (MCP server, embedding weights) before the first request."""
    try:
        docs_tools()
        model = build_model(model_string_from_env())
        if hasattr(model, "warm_up"):
            model.warm_up()
    except Exception:  # the first request will retry and report the error properly
        log.exception("warm-up failed")


@contextlib.asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[None]:
    # Warm up beside the server rather than before it: /ping answers at once, and a request
    # that arrives early simply waits for the MCP server under the lock in docs_tools().
    # (Runs under app.run() and any uvicorn host; an in-process TestClient skips it.)
    threading.Thread(target=warm_up, name="docs-assistant-warm-up", daemon=True).start()
    yield
    close_docs_tools()


setup_telemetry()  # spans to Langfuse when deployed with store: langfuse; else nothing
app = BedrockAgentCoreApp(lifespan=lifespan)


@app.entrypoint
def invoke(payload: Any, context: Any = None) -> Any:
    prompt = prompt_from_payload(payload)
    if prompt is None:
        return missing_prompt()
    with request_trace(context):  # continue the caller's traceparent, if it sent one
        return answer(prompt)


if __name__ == "__main__":
    app.run(port=port_from_env())

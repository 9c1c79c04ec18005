"""Local agent runtime: each agent of each environment as its own process on 127.0.0.1.

The embedded default target of agentops (the other is Amazon Bedrock AgentCore). Modules:

* `process` - start/probe/stop/replace agent processes (parent side, used by the engine),
  built from `agent_process` (the state record, errors), `spawn`, `health` and `pgroup`;
* `token` - the engine token every agent process accepts, and the per-agent tokens that
  scope which agent may call which (`calls:`);
* `host` - the child process's entry point (`python -m engine.runtime.host`), which serves the
  user's `BedrockAgentCoreApp` through the `asgi` middleware;
* `reuseport` - the SO_REUSEPORT group and steering behind each agent's stable port;
* `session` - AgentCore session ids, shared with `engine.invoke`.

Invoking agents is `engine.invoke.LocalInvoker` (`engine/invoke/local.py`).

The names below are loaded on first use (PEP 562). The agent process imports submodules of
this package, and its start-up time is deploy time: it must not pay for httpx, which only
the parent uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.runtime.process import (
        AgentProcess,
        AgentStartError,
        AgentStopError,
        ProbeResult,
        allocate_port,
        probe_agent,
        replace_agent,
        start_agent,
        stop_agent,
    )
    from engine.runtime.token import load_or_create_token, token_path

_EXPORTS = {
    "AgentProcess": "process",
    "AgentStartError": "process",
    "AgentStopError": "process",
    "ProbeResult": "process",
    "allocate_port": "process",
    "probe_agent": "process",
    "replace_agent": "process",
    "start_agent": "process",
    "stop_agent": "process",
    "load_or_create_token": "token",
    "token_path": "token",
}

__all__ = [
    "AgentProcess",
    "AgentStartError",
    "AgentStopError",
    "ProbeResult",
    "allocate_port",
    "load_or_create_token",
    "probe_agent",
    "replace_agent",
    "start_agent",
    "stop_agent",
    "token_path",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(f"engine.runtime.{module}"), name)

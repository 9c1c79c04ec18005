"""MCP servers declared in the Agent spec's `tools:`, as the runtime passes them.

The engine (locally) and the AgentCore deployment put the spec's `tools:` into
`AGENTOPS_MCP_SERVERS` as `{"mcpServers": {name: {transport, command, args, env, url}}}`.
`declared_stdio_servers()` turns the stdio ones into `StdioServerParameters`; `python` as a
command means this very interpreter (the one the agent's dependencies are installed in).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from mcp.client.stdio import StdioServerParameters


def declared_servers() -> dict[str, dict[str, Any]]:
    raw = os.environ.get("AGENTOPS_MCP_SERVERS")
    if not raw:
        return {}
    data = json.loads(raw)
    servers = data.get("mcpServers", {}) if isinstance(data, dict) else {}
    return {str(k): v for k, v in servers.items() if isinstance(v, dict)}


def declared_stdio_servers(
    extra_env: dict[str, str] | None = None,
) -> dict[str, StdioServerParameters]:
    out: dict[str, StdioServerParameters] = {}
    for name, cfg in declared_servers().items():
        if cfg.get("transport", "stdio") != "stdio" or not cfg.get("command"):
            continue
        command = str(cfg["command"])
        if command in ("python", "python3"):
            command = sys.executable
        env = {
            **os.environ,
            **(extra_env or {}),
            **{str(k): str(v) for k, v in cfg.get("env", {}).items()},
        }
        out[name] = StdioServerParameters(
            command=command, args=[str(a) for a in cfg.get("args", [])], env=env
        )
    return out

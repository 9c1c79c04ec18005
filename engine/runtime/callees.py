"""Callee addresses in an agent's environment: the names both runtimes inject.

Pipeline role: part of the runtime contract between the engine and agent code. An agent
whose spec `calls:` another finds it through `AGENTOPS_AGENT_<NAME>_URL` (local runtime)
or `..._ARN` / `..._QUALIFIER` (AgentCore). Both providers build the names here, so the
local and the cloud deployment of one agent read the same variables.
"""

from __future__ import annotations


def env_var_for(agent: str, suffix: str) -> str:
    """`env_var_for("doc-search", "URL")` -> `AGENTOPS_AGENT_DOC_SEARCH_URL`."""
    return f"AGENTOPS_AGENT_{agent.upper().replace('-', '_')}_{suffix}"

"""Orchestrator: answers users and delegates data analysis to the specialist (seed 2's Agent1).

Its tool ``call_specialist_agent(query)`` invokes the specialist through
:func:`agentkit.calls.call_agent`, which uses ``AGENTOPS_AGENT_SPECIALIST_URL`` (+ the runtime
token) locally and ``AGENTOPS_AGENT_SPECIALIST_ARN`` (boto3 ``invoke_agent_runtime``) in AWS -
the code is the same in both places. The caller's session id is passed on.

Response: the usual ``{"response", "trajectory", "usage", "model"}`` plus ``delegated``: one
entry per specialist call with the specialist's own trajectory and model.

Environment: ``AGENTOPS_MODEL``, ``AGENTOPS_SYSTEM_PROMPT`` as for every reference agent;
``SPECIALIST_AGENT`` names the agent to call (default ``specialist``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp
from strands import Agent, ToolContext, tool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # agentkit lives next door

from agentkit.calls import call_agent, ensure_session_id  # noqa: E402
from agentkit.models import (  # noqa: E402
    build_model,
    model_string_from_env,
    warm_up_lifespan,
)
from agentkit.respond import (  # noqa: E402
    build_response,
    missing_prompt,
    port_from_env,
    prompt_from_payload,
    system_prompt_from_env,
)
from agentkit.telemetry import request_trace, setup_telemetry  # noqa: E402

DEFAULT_SYSTEM_PROMPT = (
    "You are an orchestrator agent. For statistics, averages, numbers and other data analysis, "
    "call call_specialist_agent with the user's question and report the specialist's answer. "
    "Answer other questions yourself, briefly."
)

setup_telemetry()  # spans to Langfuse when deployed with store: langfuse; else nothing
app = BedrockAgentCoreApp(lifespan=warm_up_lifespan())  # embedding weights load beside /ping


def specialist_name() -> str:
    return os.environ.get("SPECIALIST_AGENT") or "specialist"


@tool(context=True)
def call_specialist_agent(query: str, tool_context: ToolContext) -> str:
    """Ask the data-analysis specialist agent. Use it for statistics, averages, means, medians,
    numbers, calculations and other data analysis.

    Args:
        query: the question for the specialist, including any numbers
    """
    state = tool_context.invocation_state
    name = specialist_name()
    result = call_agent(name, query, session_id=state.get("session_id"))
    state.setdefault("delegations", []).append(
        {
            "agent": name,
            "trajectory": result.get("trajectory", []),
            "model": result.get("model"),
        }
    )
    return str(result.get("response", ""))


def answer(prompt: str, session_id: str | None = None) -> dict[str, Any]:
    model_string = model_string_from_env()
    agent = Agent(
        model=build_model(model_string),
        tools=[call_specialist_agent],
        system_prompt=system_prompt_from_env(DEFAULT_SYSTEM_PROMPT),
        callback_handler=None,
    )
    # One session id for every delegation in this request: the caller's, or a new one.
    state: dict[str, Any] = {"session_id": ensure_session_id(session_id, "orchestrator")}
    result = agent(prompt, invocation_state=state)
    return build_response(
        result, agent.messages, model_string, delegated=state.get("delegations", [])
    )


@app.entrypoint
def invoke(payload: Any, context: Any = None) -> Any:
    prompt = prompt_from_payload(payload)
    if prompt is None:
        return missing_prompt()
    with request_trace(context):  # its spans and the specialist's join the caller's trace
        return answer(prompt, getattr(context, "session_id", None))


if __name__ == "__main__":
    app.run(port=port_from_env())

"""Specialist: a data-analysis agent that other agents delegate to (seed 2's Agent2).

It has one local tool, ``compute_statistics(numbers)``, and answers with the figures. Its
answers start with ``[specialist]`` so that a caller (and a test) can see the specialist's
contribution in the final answer. It calls no other agent.

Served with the bedrock-agentcore app contract; environment as for every reference agent:
``AGENTOPS_MODEL`` (default ``offline:keyword``), ``AGENTOPS_SYSTEM_PROMPT``.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path
from typing import Any

from bedrock_agentcore import BedrockAgentCoreApp
from strands import Agent, tool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # agentkit lives next door

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

MARKER = "[specialist]"
DEFAULT_SYSTEM_PROMPT = (
    "You are a data-analysis specialist. When a request contains numbers, call "
    "compute_statistics with them and report count, mean, median, min, max and standard "
    "deviation. Be precise and brief."
)

setup_telemetry()  # spans to Langfuse when deployed with store: langfuse; else nothing
app = BedrockAgentCoreApp(lifespan=warm_up_lifespan())  # embedding weights load beside /ping


@tool
def compute_statistics(numbers: list[float]) -> dict[str, float]:
    """Compute descriptive statistics for a list of numbers.

    Returns count, mean, median, min, max and the sample standard deviation (0 for one number).

    Args:
        numbers: the numbers to analyse
    """
    if not numbers:
        raise ValueError("numbers must not be empty")
    return {
        "count": len(numbers),
        "mean": round(statistics.fmean(numbers), 4),
        "median": round(statistics.median(numbers), 4),
        "min": min(numbers),
        "max": max(numbers),
        "stdev": round(statistics.stdev(numbers), 4) if len(numbers) > 1 else 0.0,
    }


def answer(prompt: str) -> dict[str, Any]:
    model_string = model_string_from_env()
    agent = Agent(
        model=build_model(model_string),
        tools=[compute_statistics],
        system_prompt=system_prompt_from_env(DEFAULT_SYSTEM_PROMPT),
        callback_handler=None,
    )
    result = agent(prompt)
    body = build_response(result, agent.messages, model_string)
    body["response"] = f"{MARKER} {body['response']}"
    return body


@app.entrypoint
def invoke(payload: Any, context: Any = None) -> Any:
    prompt = prompt_from_payload(payload)
    if prompt is None:
        return missing_prompt()
    with request_trace(context):  # continue the caller's traceparent, if it sent one
        return answer(prompt)


if __name__ == "__main__":
    app.run(port=port_from_env())

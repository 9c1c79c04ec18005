"""The request/response contract shared by the reference agents.

Request: a JSON object with ``prompt`` (str). ``question`` (the golden dataset's input shape)
and ``input`` (a string, or an object holding ``prompt``/``question``) are accepted too.

Response: ``{"response": str, "trajectory": [{"tool": name, "input": {...}}, ...],
"usage": {"inputTokens", "outputTokens", "totalTokens"}, "model": "<model string>"}``.
A payload without a prompt gets ``400 {"error": ...}``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.responses import JSONResponse

PROMPT_KEYS = ("prompt", "question", "input")


def prompt_from_payload(payload: Any) -> str | None:
    """The prompt in a payload, or None when there is none (which is a 400)."""
    if isinstance(payload, str):
        return payload.strip() or None
    if not isinstance(payload, dict):
        return None
    for key in PROMPT_KEYS:
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if key == "input" and isinstance(value, dict):
            return prompt_from_payload(value)
    return None


def bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


def missing_prompt() -> JSONResponse:
    return bad_request(
        'payload needs a non-empty "prompt" (or "question", or "input") string, '
        'e.g. {"prompt": "What does agentops plan do?"}'
    )


def port_from_env(default: int = 8080) -> int:
    """Port for ``app.run``: ``AGENTOPS_PORT`` or ``PORT``, else 8080 (the AgentCore contract)."""
    value = os.environ.get("AGENTOPS_PORT") or os.environ.get("PORT") or ""
    return int(value) if value.strip().isdigit() else default


def system_prompt_from_env(default: str) -> str:
    """``AGENTOPS_SYSTEM_PROMPT`` when set and not blank, else the agent's default."""
    value = os.environ.get("AGENTOPS_SYSTEM_PROMPT") or ""
    return value if value.strip() else default


def trajectory(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls in the conversation, in order, with their inputs."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        if msg.get("role") != "assistant":
            continue
        for block in msg.get("content", []):
            if "toolUse" in block:
                use = block["toolUse"]
                out.append({"tool": use["name"], "input": dict(use.get("input") or {})})
    return out


def usage(result: Any) -> dict[str, int]:
    acc = dict(getattr(getattr(result, "metrics", None), "accumulated_usage", None) or {})
    inp, out = int(acc.get("inputTokens", 0)), int(acc.get("outputTokens", 0))
    return {
        "inputTokens": inp,
        "outputTokens": out,
        "totalTokens": int(acc.get("totalTokens", inp + out)),
    }


def response_text(result: Any) -> str:
    """The final assistant text of an AgentResult (``str(result)`` ends with a newline)."""
    return str(result).strip()


def build_response(
    result: Any, messages: Sequence[Mapping[str, Any]], model: str, **extra: Any
) -> dict[str, Any]:
    """Turn an AgentResult plus the agent's messages into the agents' response shape."""
    body: dict[str, Any] = {
        "response": response_text(result),
        "trajectory": trajectory(messages),
        "usage": usage(result),
        "model": model,
    }
    body.update(extra)
    return body

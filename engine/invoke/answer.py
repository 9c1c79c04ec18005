"""The answer contract: what a response body of an agent of this workspace means.

Role: shared by every invoker (`local.py`, and `engine.providers.agentcore.invoke`), so the
answer contract and its failure modes are the same whatever carried the request. Standard
library only; `parse_answer` never raises.

* JSON body: an object `{"response": str, "trajectory": [{"tool": str, "input": ...}],
  "usage": {str: int}}`; `trajectory` and `usage` may be left out.
* `text/event-stream` body: `data: <json>` frames. A frame that is an object with an `error` key
  fails the invocation even though HTTP said 200 (that is how bedrock-agentcore reports an
  exception inside a stream). The last object frame with a `response` key is the final answer;
  without one, the answer is the concatenation of the string frames and of the `data` strings
  of object frames (the Strands text-delta shape).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

_BODY_SNIPPET = 200  # characters of an unexpected body quoted in error messages


@dataclass
class ParsedAnswer:
    """What a response body means, before timing and session are known (see `parse_answer`)."""

    ok: bool
    response: str = ""
    trajectory: list[dict[str, object]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=dict)
    raw: object = None
    error: str | None = None


def _snippet(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _BODY_SNIPPET else text[:_BODY_SNIPPET] + "..."


def _type_name(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _answer_from_object(obj: Mapping[str, object], raw: object) -> ParsedAnswer:
    """Validate an answer object: `response` string, optional `trajectory` and `usage`."""
    if "response" not in obj:
        if "error" in obj:
            return ParsedAnswer(ok=False, raw=raw, error=f"agent error: {obj['error']}")
        keys = ", ".join(sorted(str(k) for k in obj)) or "none"
        return ParsedAnswer(
            ok=False, raw=raw, error=f"malformed answer: no 'response' (keys: {keys})"
        )
    response = obj["response"]
    if not isinstance(response, str):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'response' is a {_type_name(response)}, expected a string",
        )
    trajectory: list[dict[str, object]] = []
    steps = obj.get("trajectory", [])
    if not isinstance(steps, list):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'trajectory' is a {_type_name(steps)}, expected an array",
        )
    for i, step in enumerate(steps):
        if not isinstance(step, dict) or not isinstance(step.get("tool"), str):
            return ParsedAnswer(
                ok=False,
                raw=raw,
                error=f"malformed answer: trajectory[{i}] is not an object with a string 'tool'",
            )
        trajectory.append({"tool": step["tool"], "input": step.get("input")})
    usage: dict[str, int] = {}
    counts = obj.get("usage", {})
    if not isinstance(counts, dict):
        return ParsedAnswer(
            ok=False,
            raw=raw,
            error=f"malformed answer: 'usage' is a {_type_name(counts)}, expected an object",
        )
    for key, value in counts.items():
        # bool is an int subclass; a boolean token count is a bug on the agent's side.
        if not isinstance(value, int) or isinstance(value, bool):
            return ParsedAnswer(
                ok=False,
                raw=raw,
                error=f"malformed answer: usage[{key!r}] is a {_type_name(value)}, expected an int",
            )
        usage[str(key)] = value
    return ParsedAnswer(ok=True, response=response, trajectory=trajectory, usage=usage, raw=raw)


def _parse_sse(text: str) -> list[object] | str:
    """The JSON values of the `data:` frames, or an error message."""
    events: list[object] = []
    data: list[str] = []
    # A trailing "" flushes the last frame when the body lacks the final blank line.
    for line in [*text.splitlines(), ""]:
        if line == "":
            if data:
                payload = "\n".join(data)
                try:
                    events.append(json.loads(payload))
                except json.JSONDecodeError:
                    n = len(events) + 1
                    return f"malformed stream: frame {n} is not JSON: {_snippet(payload)}"
                data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
        # Other SSE fields (event:, id:, retry:) and comments (":") carry nothing for us.
    return events


def _answer_from_stream(text: str) -> ParsedAnswer:
    parsed = _parse_sse(text)
    if isinstance(parsed, str):
        return ParsedAnswer(ok=False, raw=text, error=parsed)
    final: dict[str, object] | None = None
    pieces: list[str] = []
    for event in parsed:
        if isinstance(event, dict):
            if "error" in event:
                # bedrock-agentcore puts str(exc) in "error" and a generic text in "message".
                error = event["error"]
                message = error if isinstance(error, str) and error else event.get("message")
                kind = event.get("error_type")
                prefix = f"agent error in stream ({kind})" if kind else "agent error in stream"
                return ParsedAnswer(ok=False, raw=parsed, error=f"{prefix}: {message}")
            if "response" in event:
                final = event
            elif isinstance(event.get("data"), str):
                pieces.append(str(event["data"]))
        elif isinstance(event, str):
            pieces.append(event)
    if final is not None:
        return _answer_from_object(final, parsed)
    if not pieces:
        return ParsedAnswer(ok=False, raw=parsed, error="malformed stream: no answer in any frame")
    return ParsedAnswer(ok=True, response="".join(pieces), raw=parsed)


def parse_answer(status_code: int, content_type: str, body: bytes) -> ParsedAnswer:
    """Interpret a complete HTTP response; never raises."""
    text = body.decode("utf-8", errors="replace")
    if content_type.split(";")[0].strip().lower() == "text/event-stream":
        answer = _answer_from_stream(text)
        if 200 <= status_code < 300 or not answer.ok:
            return answer
        return ParsedAnswer(ok=False, raw=answer.raw, error=f"HTTP {status_code}")
    if not text.strip():
        error = f"HTTP {status_code} with an empty body"
        return ParsedAnswer(ok=False, raw=text, error=error if status_code >= 300 else "empty body")
    try:
        value: object = json.loads(text)
    except json.JSONDecodeError:
        if status_code >= 300:
            return ParsedAnswer(ok=False, raw=text, error=f"HTTP {status_code}: {_snippet(text)}")
        return ParsedAnswer(
            ok=False,
            raw=text,
            error=f"body is not JSON (content-type {content_type or 'missing'}): {_snippet(text)}",
        )
    if status_code >= 300:
        detail = value.get("error", value) if isinstance(value, dict) else value
        return ParsedAnswer(ok=False, raw=value, error=f"HTTP {status_code}: {detail}")
    if not isinstance(value, dict):
        return ParsedAnswer(
            ok=False,
            raw=value,
            error=f"malformed answer: body is a JSON {_type_name(value)}, expected an object",
        )
    return _answer_from_object(value, value)

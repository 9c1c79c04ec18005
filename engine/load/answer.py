"""What one agent response means under load: (ok, answer text, error), standard library only.

Role: the load generator's reading of the runtime answer contract, the same rules as
`engine.invoke.parse_answer` (a JSON object with a `response` string, or a
`text/event-stream` whose error frame fails the call). It is a separate, smaller copy because
the generator must not import `engine.invoke`: httpx imports ssl, and the generator's
process belongs to gevent (see `engine.load`).

The generator reads answers in batches (`samples_of`), not per request: a user keeps a JSON
body as bytes in its raw `Entry`, and the recorder turns a batch of entries into samples,
reading each distinct (status, body) once - under load the same answer comes back again and
again, and what a user does per request stays close to what plain Locust does.
"""

from __future__ import annotations

import json
from typing import Any

_SNIPPET = 160

Answer = tuple[bool, str, str | None]
"""(ok, answer text, error), as `read_answer` gives it."""
Entry = tuple[float, float, int, bytes | Answer, str, bool, str]
"""One request as a user records it: (epoch start, latency ms, HTTP status, the answer - a JSON
body still to read, or already read - prompt name, cold, session id)."""
#: a JSON body larger than this is read at once, not held until the batch is read
HOLD_BODY_MAX = 64 * 1024


def _snippet(text: str) -> str:
    text = text.strip().replace("\n", " ")
    return text if len(text) <= _SNIPPET else text[:_SNIPPET] + "..."


def _from_object(obj: object) -> tuple[bool, str, str | None]:
    if not isinstance(obj, dict):
        return False, "", f"expected a JSON object, got {type(obj).__name__}"
    if isinstance(obj.get("response"), str):
        return True, obj["response"], None
    if "error" in obj:
        return False, "", f"agent error: {_snippet(str(obj['error']))}"
    keys = ", ".join(sorted(str(k) for k in obj)) or "none"
    return False, "", f"answer has no 'response' string (keys: {keys})"


def _from_stream(text: str) -> tuple[bool, str, str | None]:
    final: str | None = None
    parts: list[str] = []
    for line in text.splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        try:
            frame = json.loads(data)
        except ValueError:
            frame = data
        if isinstance(frame, str):
            parts.append(frame)
        elif isinstance(frame, dict):
            if "error" in frame:
                return False, "", f"agent error in stream: {_snippet(str(frame['error']))}"
            if isinstance(frame.get("response"), str):
                final = frame["response"]
            elif isinstance(frame.get("data"), str):
                parts.append(frame["data"])
    return True, final if final is not None else "".join(parts), None


def read_answer(status: int, content_type: str, body: bytes) -> tuple[bool, str, str | None]:
    """(ok, answer text, error) for one HTTP response of the runtime contract."""
    text = body.decode("utf-8", errors="replace")
    if status >= 400:
        detail = ""
        try:
            obj = json.loads(text)
            if isinstance(obj, dict) and "error" in obj:
                detail = f": {_snippet(str(obj['error']))}"
        except ValueError:
            detail = f": {_snippet(text)}" if text.strip() else ""
        return False, "", f"HTTP {status}{detail}"
    if "text/event-stream" in content_type:
        return _from_stream(text)
    try:
        obj = json.loads(text)
    except ValueError:
        return False, "", f"answer is not JSON: {_snippet(text)!r}"
    return _from_object(obj)


def truncated(answer: Answer, text_limit: int) -> Answer:
    ok, text, err = answer
    return ok, text[:text_limit], err


def samples_of(entries: list[Entry], worker: str, text_limit: int) -> list[list[Any]]:
    """Raw entries -> samples (lists in `engine.load.config.SAMPLE_FIELDS` order), the answer
    text cut to `text_limit` characters. Each distinct (status, JSON body) is read once."""
    read: dict[tuple[int, bytes], Answer] = {}
    out: list[list[Any]] = []
    append = out.append
    for started, ms, status, answer, name, cold, session in entries:
        if isinstance(answer, bytes):
            key = (status, answer)
            got = read.get(key)
            if got is None:
                got = read[key] = truncated(
                    read_answer(status, "application/json", answer), text_limit
                )
            ok, text, err = got
        else:
            ok, text, err = answer
            text = text[:text_limit]
        append([started, ms, ok, status, err, name, cold, session, worker, text])
    return out

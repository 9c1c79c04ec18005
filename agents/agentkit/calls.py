"""Call another agent over the AgentCore runtime contract - locally or in AWS, one helper.

The engine injects, for every agent listed under ``calls:``:

* locally: ``AGENTOPS_AGENT_<NAME>_URL`` (``http://127.0.0.1:PORT/invocations``) and
  ``AGENTOPS_CALLEE_TOKENS_FILE``, the path of a 0600 JSON file ``{"<name>": "<token>"}``
  holding the token of each callee (sent as ``Authorization: Bearer <token>``). The callee
  accepts only its own token (and the engine's), so an agent reaches exactly its ``calls:``.
  The file is read at every call: the engine may rewrite it while the agent runs;
* in AWS: ``AGENTOPS_AGENT_<NAME>_ARN`` and ``AGENTOPS_AGENT_<NAME>_QUALIFIER`` (the endpoint
  agentops pins to the callee's deployed version; ``DEFAULT`` when unset); then the call goes
  through boto3 ``bedrock-agentcore`` ``invoke_agent_runtime(agentRuntimeArn,
  runtimeSessionId, payload, qualifier)``.

``<NAME>`` is the agent name upper-cased with ``-`` replaced by ``_``. If both are set the ARN
wins (the AWS path). The caller's session id is propagated; AgentCore requires session ids of
at least 33 characters, so shorter ones are extended and missing ones generated. The
current W3C trace context goes along (``traceparent``; boto3's ``traceParent``), so the
callee's spans join the caller's trace. So does the source of the request being answered
(:func:`agentkit.telemetry.current_source`): ``X-Agentops-Source`` locally, the custom header
``X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source`` in AWS (AgentCore forwards it:
agentops lists it in every runtime's allowlist; boto3 has no parameter for it, a botocore
``before-sign`` hook adds it), so the calls a load test's or a gate's request makes are that
traffic too, not production, for the callee's Monitors.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from typing import Any

from agentkit.telemetry import (
    AGENTCORE_SOURCE_HEADER,
    LOCAL_SOURCE_HEADER,
    current_source,
    trace_headers,
)

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
MIN_SESSION_ID = 33
DEFAULT_TIMEOUT_S = 120.0
CALLEE_TOKENS_ENV = "AGENTOPS_CALLEE_TOKENS_FILE"


class AgentCallError(RuntimeError):
    """The other agent could not be reached or answered with an error."""


def env_prefix(name: str) -> str:
    return "AGENTOPS_AGENT_" + name.upper().replace("-", "_")


def ensure_session_id(session_id: str | None, name: str = "call") -> str:
    """A session id of at least 33 characters: the caller's if present (extended if short)."""
    if not session_id:
        return f"{uuid.uuid4().hex}-{name}"
    if len(session_id) >= MIN_SESSION_ID:
        return session_id
    return f"{session_id}-{uuid.uuid4().hex}"


def _parse_body(raw: bytes, content_type: str = "") -> dict[str, Any]:
    """JSON response, or an SSE stream (``data: ...`` lines) joined into one response."""
    text = raw.decode("utf-8", errors="replace")
    if "text/event-stream" in content_type or text.startswith("data:"):
        chunks: list[str] = []
        for line in text.splitlines():
            if not line.startswith("data:"):
                continue
            try:
                item = json.loads(line[5:].strip())
            except ValueError:
                chunks.append(line[5:].strip())
                continue
            if isinstance(item, dict) and "error" in item:
                raise AgentCallError(f"agent stream error: {item.get('message') or item['error']}")
            if isinstance(item, dict) and isinstance(item.get("response"), str):
                return item
            chunks.append(item if isinstance(item, str) else json.dumps(item))
        return {"response": "".join(chunks)}
    try:
        data = json.loads(text)
    except ValueError:
        return {"response": text}
    return data if isinstance(data, dict) else {"response": data}


def callee_token(name: str) -> str | None:
    """The token for calling agent ``name``, from ``AGENTOPS_CALLEE_TOKENS_FILE``; None when
    the file is unset, unreadable, or does not list ``name`` (the callee then answers 401)."""
    path = os.environ.get(CALLEE_TOKENS_ENV)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            tokens = json.load(fh)
    except (OSError, ValueError):
        return None
    token = tokens.get(name) if isinstance(tokens, dict) else None
    return token if isinstance(token, str) and token else None


def _call_http(
    name: str, url: str, payload: dict[str, Any], session_id: str, timeout: float
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", SESSION_HEADER: session_id, **trace_headers()}
    if source := current_source():
        headers[LOCAL_SOURCE_HEADER] = source
    if token := callee_token(name):
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URL from engine
            return _parse_body(resp.read(), resp.headers.get("Content-Type", ""))
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", errors="replace")[:500]
        raise AgentCallError(f"{url} answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise AgentCallError(f"cannot reach {url}: {exc}") from exc


def _call_agentcore(
    arn: str, payload: dict[str, Any], session_id: str, qualifier: str = "DEFAULT"
) -> dict[str, Any]:
    import boto3  # lazy: only the AWS path needs it
    from botocore.config import Config

    # An invocation is not idempotent (the callee may have run tools): never retried.
    # botocore's `max_attempts` counts retries; `total_max_attempts` counts the first call.
    client = boto3.client(
        "bedrock-agentcore", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    if source := current_source():
        client.meta.events.register(
            "before-sign.bedrock-agentcore.InvokeAgentRuntime", _with_header(source)
        )
    trace = trace_headers()
    extra = {"traceParent": trace["traceparent"]} if "traceparent" in trace else {}
    if extra and "tracestate" in trace:
        extra["traceState"] = trace["tracestate"]
    try:
        resp = client.invoke_agent_runtime(
            agentRuntimeArn=arn,
            runtimeSessionId=session_id,
            payload=json.dumps(payload).encode("utf-8"),
            qualifier=qualifier,
            **extra,
        )
    except Exception as exc:  # botocore ClientError and friends
        raise AgentCallError(f"invoke_agent_runtime({arn}) failed: {exc}") from exc
    body = resp["response"]
    raw = body.read() if hasattr(body, "read") else bytes(body)
    return _parse_body(raw, str(resp.get("contentType", "")))


def _with_header(source: str) -> Any:
    """A botocore hook adding the source header to the request before it is signed."""

    def add(request: Any, **_kwargs: Any) -> None:
        if AGENTCORE_SOURCE_HEADER in request.headers:  # botocore's headers append on `[]=`
            del request.headers[AGENTCORE_SOURCE_HEADER]
        request.headers[AGENTCORE_SOURCE_HEADER] = source

    return add


def call_agent(
    name: str,
    prompt: str,
    session_id: str | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> dict[str, Any]:
    """Invoke agent ``name`` with ``{"prompt": prompt}`` and return its JSON response."""
    prefix = env_prefix(name)
    payload = {"prompt": prompt}
    sid = ensure_session_id(session_id, name)
    if arn := os.environ.get(f"{prefix}_ARN"):
        qualifier = os.environ.get(f"{prefix}_QUALIFIER") or "DEFAULT"
        return _call_agentcore(arn, payload, sid, qualifier)
    if url := os.environ.get(f"{prefix}_URL"):
        return _call_http(name, url, payload, sid, timeout)
    raise AgentCallError(
        f"agent {name!r} is not configured: set {prefix}_URL (local) or {prefix}_ARN (AWS); "
        f"the engine sets them for agents listed under calls:"
    )

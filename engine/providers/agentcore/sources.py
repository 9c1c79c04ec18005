"""Whose traffic an AgentCore invocation is: the custom headers AgentCore forwards to agents.

Pipeline role: shared by the runtime configuration (`spec.request_config`, `observe`) and the
data-plane callers (`invoke.AgentCoreInvoker`; `engine.load.users.AgentCoreUser` keeps its
own copy of the names, as the Locust process may not import providers). On the local runtime
a caller says whose traffic it is with `X-Agentops-Source: loadtest | evaluation |
experiment` (and a load test's prompt tags in `X-Agentops-Tags`), and the host records it.
AgentCore drops such headers: it forwards to the agent only headers its runtime's
`requestHeaderConfiguration.requestHeaderAllowlist` names, and bedrock-agentcore hands them to
the entrypoint in `context.request_headers`, lower-cased. So every runtime agentops deploys
allows exactly these two, with AgentCore's custom-header prefix:

* `X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source` - one of `SOURCES`;
* `X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Tags` - comma-separated tags.

`agents/agentkit/telemetry.py` reads them per request and marks the invocation's entry span
(tags and metadata), which is what a Monitor reads back from Langfuse; without them every
load test, gate or experiment call would count as production traffic.

boto3's `invoke_agent_runtime` has no parameter for custom headers: `send_headers` adds them
with a botocore `before-sign.bedrock-agentcore.InvokeAgentRuntime` hook, so they are signed
with the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

PREFIX = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-"
SOURCE_HEADER = PREFIX + "Agentops-Source"
TAGS_HEADER = PREFIX + "Agentops-Tags"
#: the runtime's `requestHeaderAllowlist`, sent on every create and update
ALLOWLIST = (SOURCE_HEADER, TAGS_HEADER)
#: the sources a caller may name (as the local host's `engine.runtime.tracing.SOURCES`)
SOURCES = ("production", "loadtest", "evaluation", "experiment", "monitor")
INVOKE_EVENT = "before-sign.bedrock-agentcore.InvokeAgentRuntime"


def request_header_configuration() -> dict[str, Any]:
    """The `requestHeaderConfiguration` of every runtime agentops deploys."""
    return {"requestHeaderAllowlist": list(ALLOWLIST)}


def allowlist_of(config: object) -> tuple[str, ...]:
    """The allowlist of a `requestHeaderConfiguration` (sent or read back), normalised:
    HTTP header names are case-insensitive, so lower-cased and sorted; () for none."""
    if not isinstance(config, Mapping):
        return ()
    names = config.get("requestHeaderAllowlist") or []
    return tuple(sorted({str(n).lower() for n in names}))


def source_headers(source: str | None, tags: Sequence[str] = ()) -> dict[str, str]:
    """The custom headers saying whose traffic a call is ({} for nothing to say)."""
    out: dict[str, str] = {}
    if source:
        out[SOURCE_HEADER] = source
    clean = [t.strip() for t in tags if t and t.strip()]
    if clean:
        out[TAGS_HEADER] = ",".join(clean)
    return out


def send_headers(client: Any, headers: Callable[[], Mapping[str, str]]) -> None:
    """Add `headers()` (read at each call) to every `invoke_agent_runtime` of `client`."""

    def add(request: Any, **_kwargs: Any) -> None:
        for name, value in headers().items():
            # botocore's headers append on `[]=`: a re-signed request (a retry) keeps one
            if name in request.headers:
                del request.headers[name]
            request.headers[name] = value

    client.meta.events.register(INVOKE_EVENT, add)

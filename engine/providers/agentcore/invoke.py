"""AgentCoreInvoker: invoke an AgentCore runtime, behind the same result type as LocalInvoker.

Pipeline role: what `agentops invoke`, experiments, gates and load tests use for an Agent
whose state says `provider: agentcore` (see `invoker_for`). It calls the data plane,
boto3 `bedrock-agentcore` `invoke_agent_runtime(agentRuntimeArn, qualifier, runtimeSessionId,
payload)`, on the endpoint agentops owns (`live`, pinned to the deployed version), reads the
streaming body chunk by chunk (JSON, or `text/event-stream` for streaming agents) and hands it
to `engine.invoke.parse_answer`, so the answer contract and its failure modes are exactly the
local ones. Failures are results (`ok=False`), never exceptions; AWS error text is reduced to
its code and message (no request parameters, so no payload, is echoed).

Session ids must be 33-256 characters (AgentCore, enforced by botocore): `new_session_id()`
makes them. No automatic retries: an invocation is not idempotent (the agent may have run
tools), so botocore's `total_max_attempts` is 1 here (its `max_attempts` counts retries).

Trace context: given a `trace_id` (32 hex, e.g. a Langfuse run recorder's trace id of a
gate case, `DatasetRunRecording.trace_id`), the call carries the W3C `traceparent`
`00-<trace id>-<parent span id>-01` (boto3's `traceParent`, sent as the `traceparent`
header); AgentCore forwards it to the agent, whose spans (`agents/agentkit/telemetry.py`)
then belong to that trace: the engine's record of the case and the agent's own spans are
one trace in Langfuse. The parent span id is derived from the trace id alone
(`engine.invoke.trace_context`), so it is the span id the recorder gives the case's root and
the agent's spans nest under it; a retried case names the same parent.

Source: given `source` (`evaluation` for a gate's cases, `experiment` for an experiment's,
`loadtest`), every call carries `X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source`
(and `tags`, `...-Agentops-Tags`), the AgentCore twin of the local runtime's
`X-Agentops-Source`: the runtime's allowlist lets it through and the agent marks its trace
with it, so the agent's Monitors do not count the engine's own calls as production
(`agentcore_sources`; boto3 has no parameter for it: a botocore `before-sign` hook adds it).
Without `source` nothing is sent, and the call is production traffic, as on the local runtime.

The data plane URL is botocore's usual one; tests (moto has no data plane) point it at a
local fake with `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`, which botocore honours natively.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.invoke import (
    SESSION_HEADER,
    InvocationResult,
    InvokeError,
    Invoker,
    ParsedAnswer,
    is_valid_session_id,
    new_session_id,
    parse_answer,
)
from engine.invoke.base import encode_payload
from engine.invoke.result import result_of
from engine.invoke.trace_context import traceparent
from engine.providers.agentcore.sources import SOURCES, send_headers, source_headers
from engine.state.model import ResourceState

__all__ = ["SESSION_HEADER", "AgentCoreInvoker", "invoker_for", "traceparent"]


class AgentCoreInvoker(Invoker):
    """Invoke one AgentCore runtime endpoint; `invoke`/`ainvoke` like `LocalInvoker`."""

    def __init__(
        self,
        arn: str,
        *,
        region: str,
        qualifier: str = "DEFAULT",
        profile: str | None = None,
        endpoint_url: str | None = None,
        timeout: float = 300.0,
        source: str | None = None,
        tags: Sequence[str] = (),
    ) -> None:
        if not arn.startswith("arn:"):
            raise InvokeError(f"not an AgentCore runtime ARN: {arn!r}")
        if timeout <= 0:
            raise InvokeError(f"timeout must be positive, got {timeout}")
        if source is not None and source not in SOURCES:
            raise InvokeError(f"unknown traffic source {source!r}: one of {', '.join(SOURCES)}")
        self.arn = arn
        #: sent with every call (custom headers the runtime allows): whose traffic it is
        self.headers = source_headers(source, tags)
        self.qualifier = qualifier
        self.region = region
        self._profile = profile
        self._endpoint_url = endpoint_url
        self._timeout = timeout
        self._client: Any = None
        self._closed = False

    @classmethod
    def from_state(
        cls, resource: ResourceState, timeout: float = 300.0, source: str | None = None
    ) -> AgentCoreInvoker:
        target = resource.private.get("target", {})
        return cls(
            str(resource.outputs["arn"]),
            region=str(resource.outputs.get("region") or target.get("region")),
            qualifier=str(resource.outputs.get("qualifier") or "DEFAULT"),
            profile=target.get("profile"),
            timeout=timeout,
            source=source,
        )

    def _data_plane(self) -> Any:
        if self._client is None:
            import boto3  # lazy: only AWS invocations need it
            from botocore.config import Config

            config = Config(
                region_name=self.region,
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=min(self._timeout, 10.0),
                read_timeout=self._timeout,
                user_agent_extra="agentops",
            )
            session = boto3.session.Session(profile_name=self._profile, region_name=self.region)
            self._client = session.client(
                "bedrock-agentcore", endpoint_url=self._endpoint_url, config=config
            )
            if self.headers:
                send_headers(self._client, lambda: self.headers)
        return self._client

    def invoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """Invoke and read the whole (possibly streamed) answer; never raises for failures.

        `trace_id`: the agent's spans join this trace (W3C `traceparent`)."""
        if self._closed:
            raise InvokeError("the invoker is closed")
        body = encode_payload(payload)
        sid = session_id if session_id is not None else new_session_id()
        if not is_valid_session_id(sid):
            raise InvokeError(f"session id must be 33-256 characters of [A-Za-z0-9_-]: {sid!r}")
        trace = {"traceParent": traceparent(trace_id)} if trace_id is not None else {}
        from botocore.exceptions import BotoCoreError, ClientError

        started = time.perf_counter()
        try:
            resp = self._data_plane().invoke_agent_runtime(
                agentRuntimeArn=self.arn,
                qualifier=self.qualifier,
                runtimeSessionId=sid,
                payload=body,
                contentType="application/json",
                accept="application/json, text/event-stream",
                **trace,
            )
            stream = resp["response"]
            data = (
                b"".join(stream.iter_chunks()) if hasattr(stream, "iter_chunks") else stream.read()
            )
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            message = f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
            failed = ParsedAnswer(ok=False, error=message)
            return result_of(failed, status_code=status, started=started, session_id=sid)
        except BotoCoreError as exc:
            error = f"could not invoke {self.arn}: {type(exc).__name__}: {exc}"
            failed = ParsedAnswer(ok=False, error=error)
            return result_of(failed, status_code=0, started=started, session_id=sid)
        status = int(resp.get("statusCode") or 200)
        answer = parse_answer(status, str(resp.get("contentType") or ""), data)
        echoed = str(resp.get("runtimeSessionId") or sid)
        return result_of(answer, status_code=status, started=started, session_id=echoed)

    async def ainvoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult:
        """`invoke` in a worker thread (boto3 is synchronous)."""
        return await asyncio.to_thread(
            self.invoke, payload, session_id=session_id, trace_id=trace_id
        )

    def close(self) -> None:
        self._closed = True
        if self._client is not None:
            self._client.close()
            self._client = None


def invoker_for(
    resource: ResourceState, timeout: float = 300.0, source: str | None = None
) -> AgentCoreInvoker:
    """The invoker of a recorded AgentCore agent (`provider == "agentcore"`)."""
    if resource.provider != "agentcore" or "arn" not in resource.outputs:
        raise InvokeError(f"{resource.address} is not an AgentCore runtime in state")
    return AgentCoreInvoker.from_state(resource, timeout, source)

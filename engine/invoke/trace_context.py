"""W3C trace context of an invocation: the `traceparent` a caller sends to join an agent's
spans to its own trace.

Role: shared by both invokers (`LocalInvoker`, `AgentCoreInvoker`) and by the Langfuse run
recorder. A caller that knows its trace id before it invokes (an Experiment or QualityGate
case: `engine.evaluation.trace_ids.case_trace_id`) sends
`traceparent: 00-<trace id>-<parent span id>-01`; the parent span id is derived from the trace
id alone (`parent_span_id`), so the recorder, which writes the case's root span after the
call, gives that root exactly this span id, and the agent's spans become its children. A
retried call names the same parent.
"""

from __future__ import annotations

import hashlib
import re

from engine.invoke.result import InvokeError

TRACEPARENT_HEADER = "traceparent"
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


def parent_span_id(trace_id: str, salt: str = "") -> str:
    """The span id (16 hex) of the caller's span in trace `trace_id`: deterministic."""
    span = hashlib.sha256(f"agentops/parent/{trace_id}/{salt}".encode()).hexdigest()[:16]
    return "1" * 16 if span == "0" * 16 else span  # all-zero is invalid (1 in 2**64)


def traceparent(trace_id: str, salt: str = "") -> str:
    """W3C `traceparent` continuing trace `trace_id` (sampled), with a derived parent span."""
    if not _TRACE_ID.match(trace_id) or trace_id == "0" * 32:
        raise InvokeError(f"trace id must be 32 lower-case hex digits, not all zero: {trace_id!r}")
    return f"00-{trace_id}-{parent_span_id(trace_id, salt)}-01"

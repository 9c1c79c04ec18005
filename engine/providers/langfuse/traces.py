"""Spans of one recorded invocation, with the attributes that make it a dataset run item.

Pipeline role: the span-building half of the run recorder (`langfuse_runs`). One trace per
agent invocation: a root span, an `agent-invocation` observation (input, output, error
level, lasting the measured latency), one `tool` observation per trajectory step and a
`generation` carrying the token usage. For dataset runs every span also carries Langfuse's
experiment attributes (`langfuse.experiment.*`, the SDK's public constants): the server
derives the dataset run item - run id and name, dataset id, dataset item id, root
observation - from them, exactly as for traces made by `run_experiment`.

Given a case's trace id, the root is a true root (no parent) whose span id is the parent
span id the runner put in the invocation's `traceparent` (`engine.invoke.trace_context`):
the span the agent's host exported for that call names this root as its parent, so the
trace is case root (engine) > agent invocation (host) > the agent's own spans. The recorder's
TracerProvider hands those two ids out through `root_ids()` (its own provider: nothing else
in the process is affected).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from engine.errors import PermanentError
from engine.invoke.trace_context import parent_span_id

#: (trace id, span id) of the next root span this thread starts, set by `trace_invocation`
_root_ids: ContextVar[tuple[int, int] | None] = ContextVar("agentops_root_ids", default=None)


def root_ids() -> Any:
    """The recorder's OpenTelemetry id generator: random ids, except that the root span of a
    case whose trace id is given gets that trace id and `parent_span_id(trace id)`."""
    from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

    class RootIds(RandomIdGenerator):
        def generate_trace_id(self) -> int:
            wanted = _root_ids.get()
            return wanted[0] if wanted else super().generate_trace_id()

        def generate_span_id(self) -> int:
            wanted = _root_ids.get()
            return wanted[1] if wanted else super().generate_span_id()

    return RootIds()


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)


def _usage(usage: Mapping[str, int] | None) -> dict[str, int]:
    names = {"inputTokens": "input", "outputTokens": "output", "totalTokens": "total"}
    return {names.get(k, k): int(v) for k, v in (usage or {}).items() if isinstance(v, int)}


def trace_invocation(
    client: Any,
    trace_id: str | None,
    name: str,
    *,
    input: object,
    output: object,
    latency_ms: float,
    error: str | None,
    trajectory: Sequence[Mapping[str, Any]],
    usage: Mapping[str, int] | None,
    metadata: dict[str, Any],
    experiment: Mapping[str, Any] | None,
) -> tuple[str, str]:
    """Spans of one invocation: root > agent (input, output) > one span per tool step.

    The engine records after the fact, so the spans start when recorded; the agent and root
    spans last the measured latency. `trace_id` (32 hex) makes the trace id deterministic and
    the root's span id `parent_span_id(trace_id)` - the parent the agent's host span names
    (`root_ids`, the id generator of the client made by `tracing.tracing_client`); None lets
    OpenTelemetry pick both. Returns (trace id, agent observation id): item scores attach to
    the agent observation, as the SDK's own experiments do.
    """
    from opentelemetry import trace as otel

    level = "ERROR" if error is not None else None
    shown = output if error is None else {"error": error}
    started = time.time_ns()
    wanted = (int(trace_id, 16), int(parent_span_id(trace_id), 16)) if trace_id else None
    token, pending = _root_ids.set(wanted), True
    try:
        with client.start_as_current_observation(
            name=name, as_type="span", input=input, output=shown, metadata=metadata,
            level=level, status_message=error, end_on_exit=False,
        ) as root:  # fmt: skip
            _root_ids.reset(token)  # only the root: its children get random span ids
            pending = False
            if trace_id and str(root.trace_id) != trace_id:
                raise PermanentError(
                    f"trace {trace_id}: the tracing client does not honour given ids",
                    hint="record runs with the client of engine.providers.langfuse.tracing",
                )
            agent_id, end = _children(
                client, otel.get_current_span(), input=input, shown=shown, level=level,
                error=error, trajectory=trajectory, usage=usage, experiment=experiment,
                latency_ms=latency_ms, started=started,
            )  # fmt: skip
            root.end(end_time=end)
    finally:
        if pending:
            _root_ids.reset(token)
    return str(root.trace_id), agent_id


def _children(
    client: Any,
    root_span: Any,
    *,
    input: object,
    shown: object,
    level: str | None,
    error: str | None,
    trajectory: Sequence[Mapping[str, Any]],
    usage: Mapping[str, int] | None,
    experiment: Mapping[str, Any] | None,
    latency_ms: float,
    started: int,
) -> tuple[str, int]:
    """The agent observation and its tool/usage children; (agent observation id, end ns)."""
    from opentelemetry import trace as otel

    # Children are made through the client, the one API that takes `end_on_exit`, while
    # their parent is the current span; their ids are known only once they exist.
    with client.start_as_current_observation(
        name="agent-invocation", as_type="agent", input=input, output=shown,
        level=level, status_message=error, end_on_exit=False,
    ) as agent:  # fmt: skip
        agent_id = str(agent.id)
        agent_span = otel.get_current_span()
        _mark(root_span, experiment, agent_id)
        _mark(agent_span, experiment, agent_id)
        for step in trajectory:
            with client.start_as_current_observation(
                name=str(step.get("tool") or "tool"), as_type="tool",
                input=step.get("input"), output=step.get("output"),
            ):  # fmt: skip
                _mark(otel.get_current_span(), experiment, agent_id)
        counts = _usage(usage)
        if counts:
            with client.start_as_current_observation(
                name="model-usage", as_type="generation", usage_details=counts
            ):
                _mark(otel.get_current_span(), experiment, agent_id)
        # the SDK span's own start (a public ReadableSpan field), else our clock
        began = int(getattr(agent_span, "start_time", None) or started)
        end = max(began + int(max(0.0, latency_ms) * 1_000_000), time.time_ns())
        agent.end(end_time=end)
    return agent_id, end


def _mark(span: Any, experiment: Mapping[str, Any] | None, root_id: str) -> None:
    """Set the experiment attributes Langfuse derives dataset run items from."""
    if experiment is None:
        return
    from langfuse import LangfuseOtelSpanAttributes as A

    attrs = {
        A.EXPERIMENT_ID: experiment["id"],
        A.EXPERIMENT_NAME: experiment["name"],
        A.EXPERIMENT_DESCRIPTION: experiment.get("description"),
        A.EXPERIMENT_METADATA: _json(experiment.get("metadata") or {}),
        A.EXPERIMENT_DATASET_ID: experiment["dataset_id"],
        A.EXPERIMENT_ITEM_ID: experiment["item_id"],
        A.EXPERIMENT_ITEM_EXPECTED_OUTPUT: _json(experiment.get("expected_output")),
        A.EXPERIMENT_ITEM_METADATA: _json(experiment.get("item_metadata") or {}),
        A.EXPERIMENT_ITEM_ROOT_OBSERVATION_ID: root_id,
    }
    for key, value in attrs.items():
        if value is not None:
            span.set_attribute(key, value)

"""Spans of one recorded invocation, with the attributes that make it a dataset run item.

Pipeline role: the span-building half of the run recorder (`langfuse_runs`). One trace per
agent invocation: a root span, an `agent-invocation` observation (input, output, error
level, lasting the measured latency), one `tool` observation per trajectory step and a
`generation` carrying the token usage. For dataset runs every span also carries Langfuse's
experiment attributes (`langfuse.experiment.*`, the SDK's public constants): the server
derives the dataset run item - run id and name, dataset id, dataset item id, root
observation - from them, exactly as for traces made by `run_experiment`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any


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
    spans last the measured latency. `trace_id` (32 hex) makes the trace id deterministic,
    through the SDK's documented `trace_context` (the root then carries Langfuse's `as_root`
    mark); None lets OpenTelemetry pick one. Returns (trace id, agent observation id): item
    scores attach to the agent observation, as the SDK's own experiments do.
    """
    from opentelemetry import trace as otel

    level = "ERROR" if error is not None else None
    shown = output if error is None else {"error": error}
    started = time.time_ns()
    context = {"trace_id": trace_id} if trace_id else None
    with client.start_as_current_observation(
        trace_context=context, name=name, as_type="span", input=input,
        output=shown, metadata=metadata, level=level, status_message=error, end_on_exit=False,
    ) as root:  # fmt: skip
        root_span = otel.get_current_span()
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
        root.end(end_time=end)
    return str(root.trace_id), agent_id


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

"""Export of the host's traces to an OTLP endpoint (Langfuse), from the agent's own process.

Role: in an environment with `store: langfuse` the local runtime provider writes an export
file next to the runtime token (`trace-export.<env>.json`, mode 0600: the endpoint and the
`Authorization` header) and passes only its *path* in `AGENTOPS_TRACE_EXPORT`, so no key is
ever in the process environment (`/proc/<pid>/environ`) or on a command line. The writer
thread (`engine.runtime.tracing.TraceWriter`) hands every batch it stored in SQLite to
`SpanExport.export`, which turns each row into one span - with the local trace id as
its OpenTelemetry trace id, Langfuse's `langfuse.*` attributes for name, input, output
(of the root observation, which Langfuse takes as the trace's), level, environment and
metadata (env, agent, address, digest, source, tags) - and gives it to an OpenTelemetry
`BatchSpanProcessor`, whose own thread posts protobuf over HTTP. A clean stop flushes the
processor after the writer's last batch.

A request that came with a W3C `traceparent` is part of its caller's trace: its span is a
child of the caller's span (the parent span id of the header), not a second root. When the
caller is the engine (`X-Agentops-Source: evaluation | experiment`) the trace is the
engine's - its recorder writes the case root (input, expected output, scores) under the same
ids - so the span carries observation attributes only: trace-level ones (`langfuse.trace.*`,
`session.id`) would rename and re-tag the case's trace (Langfuse applies them from any span).
Other callers may have no trace of their own in this project, so their spans keep the trace
attributes the Monitors' evaluation rules filter on.

The local row is always written first: Monitors read the SQLite store; Langfuse gets a
copy. Export failures are logged by OpenTelemetry and counted, never raised into the agent.

OpenTelemetry is imported only when an export file is configured (never langfuse: the host
hardcodes the attribute names, and a test pins them to the SDK's constants).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.state.private import private_dir

EXPORT_CONFIG_ENV = "AGENTOPS_TRACE_EXPORT"
FLUSH_TIMEOUT_MS = 10_000

# langfuse.LangfuseOtelSpanAttributes (pinned by tests/langfuse/test_langfuse_monitor.py)
TRACE_NAME = "langfuse.trace.name"
TRACE_TAGS = "langfuse.trace.tags"
TRACE_METADATA = "langfuse.trace.metadata"
SESSION_ID = "session.id"
OBSERVATION_TYPE = "langfuse.observation.type"
OBSERVATION_INPUT = "langfuse.observation.input"
OBSERVATION_OUTPUT = "langfuse.observation.output"
OBSERVATION_LEVEL = "langfuse.observation.level"
OBSERVATION_STATUS = "langfuse.observation.status_message"
OBSERVATION_METADATA = "langfuse.observation.metadata"
OBSERVATION_USAGE = "langfuse.observation.usage_details"
ENVIRONMENT = "langfuse.environment"
VERSION = "langfuse.version"


def read_config(path: Path) -> dict[str, Any]:
    """The export file: {"endpoint": url, "headers": {...}, "environment": name}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("endpoint"), str):
        raise ValueError(f"{path} has no 'endpoint'")
    return data


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Atomically (temp file + rename) and privately (0600 from the start)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(config, out)
    os.replace(tmp, path)


def _meta(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


#: sources whose traces belong to an engine run: joined as children, trace attributes theirs
ENGINE_SOURCES = frozenset({"evaluation", "experiment"})
_TRACE_LEVEL = (TRACE_NAME, TRACE_TAGS, f"{TRACE_METADATA}.", SESSION_ID)


def span_attributes(
    row: Sequence[Any], environment: str | None, *, joined: bool = False
) -> dict[str, Any]:
    """The Langfuse attributes of one `traces` row (see `tracing.build_row` for its layout).

    `joined`: the span is a child in an engine run's trace; no trace-level attributes."""
    (_tid, env, agent, address, digest, source, session, _started, latency_ms, status,
     http_status, prompt, output, _trajectory, usage, error, tags) = row  # fmt: skip
    tag_list = [source, *json.loads(tags)]
    metadata = {
        "env": env, "agent": agent, "address": address, "digest": digest, "source": source,
        "tags": json.loads(tags), "http_status": http_status, "latency_ms": round(latency_ms, 3),
    }  # fmt: skip
    shown = output if error is None else json.dumps({"error": error})
    attrs: dict[str, Any] = {
        TRACE_NAME: agent,
        TRACE_TAGS: sorted(set(tag_list)),
        OBSERVATION_TYPE: "agent",
        OBSERVATION_INPUT: prompt,
        OBSERVATION_OUTPUT: shown or "",
        VERSION: digest,
    }
    for key, value in metadata.items():
        attrs[f"{TRACE_METADATA}.{key}"] = _meta(value)
        attrs[f"{OBSERVATION_METADATA}.{key}"] = _meta(value)
    if environment:
        attrs[ENVIRONMENT] = environment
    if session:
        attrs[SESSION_ID] = session
    if status == "error":
        attrs[OBSERVATION_LEVEL] = "ERROR"
        attrs[OBSERVATION_STATUS] = (error or "")[:1000]
    counts = {k: v for k, v in json.loads(usage).items() if isinstance(v, int)}
    if counts:
        names = {"inputTokens": "input", "outputTokens": "output", "totalTokens": "total"}
        attrs[OBSERVATION_USAGE] = _meta({names.get(k, k): v for k, v in counts.items()})
    if joined:
        attrs = {k: v for k, v in attrs.items() if not k.startswith(_TRACE_LEVEL)}
    return attrs


class SpanExport:
    """One TracerProvider of the host's own (never the global one), batching to OTLP/HTTP."""

    def __init__(self, config: dict[str, Any], identity: dict[str, str]) -> None:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

        self.environment = str(config.get("environment") or "") or None
        export = self

        class _Ids(RandomIdGenerator):
            # Only the writer thread starts spans: the next span takes the row's trace id.
            def generate_trace_id(self) -> int:
                return export._next_trace_id or super().generate_trace_id()

        self._next_trace_id = 0
        resource = Resource.create({"service.name": f"agentops-agent-{identity.get('agent')}"})
        self.provider = TracerProvider(id_generator=_Ids(), resource=resource)
        exporter = OTLPSpanExporter(
            endpoint=str(config["endpoint"]),
            headers=dict(config.get("headers") or {}),
            timeout=10,
            compression=Compression.Gzip,
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("agentops.runtime")
        self.exported = 0

    def export(
        self, rows: Sequence[Sequence[Any]], parents: Sequence[str | None] | None = None
    ) -> None:
        """Queue one span per row (called by the writer thread, after SQLite): a root, or a
        child of `parents[i]` (the caller's span id from the request's `traceparent`)."""
        from opentelemetry.trace import Status, StatusCode

        for row, parent in zip(rows, parents or [None] * len(rows), strict=True):
            started_ns = int(float(row[7]) * 1e9)
            self._next_trace_id = int(str(row[0]), 16)
            joined = parent is not None and row[5] in ENGINE_SOURCES
            try:
                span = self.tracer.start_span(
                    "agent-invocation",
                    context=_remote_parent(str(row[0]), parent) if parent else None,
                    start_time=started_ns,
                    attributes=span_attributes(row, self.environment, joined=joined),
                )
            finally:
                self._next_trace_id = 0
            if row[9] == "error":
                span.set_status(Status(StatusCode.ERROR, str(row[15] or "")[:200]))
            span.end(end_time=started_ns + int(float(row[8]) * 1e6))
            self.exported += 1

    def close(self) -> None:
        """Export what is queued (bounded), then stop the processor's thread."""
        self.provider.force_flush(FLUSH_TIMEOUT_MS)
        self.provider.shutdown()


def _remote_parent(trace_id: str, span_id: str) -> Any:
    """A context whose current span is the caller's (remote, sampled): the new span's parent.

    Sampled whatever the header's flags said: the host exports every invocation, and its
    TracerProvider's default sampler follows the parent's flag."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    caller = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(caller))


def export_from_env(environ: dict[str, str], identity: dict[str, str]) -> SpanExport | None:
    """The host's exporter when the runtime configured one (`AGENTOPS_TRACE_EXPORT`)."""
    path = environ.get(EXPORT_CONFIG_ENV)
    if not path or not Path(path).is_file():
        return None
    return SpanExport(read_config(Path(path)), identity)

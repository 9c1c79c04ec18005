"""What a Monitor reads and writes: traces, scores on traces, annotation queue items.

Plain data, shared by the trace stores (`engine.providers.local.traces`, Langfuse) and the
monitoring engine; no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Trace:
    seq: int
    trace_id: str
    env: str
    agent: str
    address: str
    digest: str
    source: str
    session_id: str | None
    started_at: float
    latency_ms: float
    status: str
    http_status: int
    input: str
    output: str | None
    trajectory: list[Any]
    usage: dict[str, Any]
    error: str | None
    tags: list[str]
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TraceScore:
    trace_id: str
    name: str
    value: float
    passed: bool
    comment: str | None
    started_at: float


@dataclass(frozen=True)
class AnnotationItem:
    queue: str
    trace_id: str
    monitor: str
    reason: str
    status: str  # pending | done | skipped
    created_at: float
    score: float | None
    expected: str | None
    note: str | None

"""Monitor: a recurring run that scores an agent's production traces over a window."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import Document, Duration, Fraction, InvalidValue, Name, SpecModel
from engine.spec.schema.evaluation import EvaluatorRef

TraceSource = Literal["production", "loadtest", "evaluation", "experiment"]
RouteWhen = Literal["low-score", "breach", "refused", "error", "sample"]


class TraceFilter(SpecModel):
    #: whose traffic is scored; load-test and evaluation traffic is excluded unless listed
    sources: list[TraceSource] = Field(
        default_factory=lambda: list[TraceSource](["production"]), min_length=1
    )
    #: only traces carrying every one of these tags (load tests tag requests with their
    #: prompt's tags)
    tags: list[str] = Field(default_factory=list)
    #: only traces at least this slow
    min_latency_ms: float | None = Field(default=None, ge=0)
    #: `error`: only failed invocations; `ok`: only answered ones
    status: Literal["any", "ok", "error"] = "any"


class WindowThresholds(SpecModel):
    #: maximum share of failed invocations in the window
    error_rate: Fraction | None = None
    #: latency percentiles over the window's traces, in milliseconds
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)


class Annotation(SpecModel):
    #: the queue traces are routed to (Langfuse's annotation queue, or the local store's)
    queue: Name
    #: which traces go to the queue
    when: list[RouteWhen] = Field(
        default_factory=lambda: list[RouteWhen](["low-score", "refused"]), min_length=1
    )
    #: `low-score`: a trace any evaluator scored below this
    below: Fraction = 0.5
    #: `sample`: this share of scored traces, at random (seeded by the trace id)
    sample: Fraction = 0.0
    #: at most this many traces routed per run
    max_per_run: int = Field(default=50, ge=1, le=10000)


class MonitorSpec(SpecModel):
    agent: Name
    environment: Name
    #: share of matching traces that are scored (deterministic: a hash of the trace id)
    sampling: Fraction = 1.0
    filters: TraceFilter = Field(default_factory=TraceFilter)
    #: ground-truth-free evaluators (refusal, latency, a judge rubric, custom, langfuse:)
    evaluators: list[EvaluatorRef] = Field(min_length=1)
    #: the window thresholds are judged over (the scores of traces that started within it)
    window: Duration = 3600.0
    #: how often `agentops watch` runs the monitor; `apply` runs it when new traces arrived
    interval: Duration = 300.0
    thresholds: WindowThresholds = Field(default_factory=WindowThresholds)
    #: fewer scored traces than this in the window: the verdict is inconclusive, no breach
    min_traces: int = Field(default=5, ge=1)
    #: `block`: a breach also blocks promoting this agent digest to environments a gate
    #: promotes; `warn` only marks the agent degraded
    on_breach: Literal["warn", "block"] = "warn"
    annotate: Annotation | None = None
    #: at most this many new traces scored per run (the newest are kept)
    max_traces_per_run: int = Field(default=10000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _window(self) -> MonitorSpec:
        if self.window < self.interval:
            raise InvalidValue(
                f"the window ({self.window:g}s) is shorter than the interval "
                f"({self.interval:g}s): traces between two runs would never be judged",
                "make 'window' at least as long as 'interval'",
            )
        return self


class Monitor(Document):
    KIND: ClassVar[str] = "Monitor"
    kind: Literal["Monitor"]
    spec: MonitorSpec

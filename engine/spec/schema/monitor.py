"""Monitor: a recurring run that scores an agent's production traces over a window."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import (
    KIND_DESCRIPTION,
    Document,
    Duration,
    Fraction,
    InvalidValue,
    Name,
    SpecModel,
)
from engine.spec.schema.evaluation import EvaluatorRef

TraceSource = Literal["production", "loadtest", "evaluation", "experiment"]
RouteWhen = Literal["low-score", "breach", "refused", "error", "sample"]


class TraceFilter(SpecModel):
    """Which of the agent's traces the Monitor considers."""

    sources: list[TraceSource] = Field(
        default_factory=lambda: list[TraceSource](["production"]),
        min_length=1,
        description="Whose traffic is scored: `production`, `loadtest`, `evaluation` (gates), "
        "`experiment`; traffic of a source not listed is left out. Default: `[production]`.",
        examples=[["production"], ["production", "loadtest"]],
    )
    tags: list[str] = Field(
        default_factory=list,
        description="Only traces carrying every one of these tags (load tests tag requests "
        "with their prompt's tags). Default: none (no tag filter).",
        examples=[["harmful"]],
    )
    min_latency_ms: float | None = Field(
        default=None,
        ge=0,
        description="Only traces at least this slow, in ms. Default: any latency.",
        examples=[2000],
    )
    status: Literal["any", "ok", "error"] = Field(
        default="any",
        description="`ok`: only answered invocations; `error`: only failed ones; `any`: both.",
    )


class WindowThresholds(SpecModel):
    """Limits on the window's error rate and latency; any one exceeded is a breach."""

    error_rate: Fraction | None = Field(
        default=None,
        description="Maximum share (0 to 1) of failed invocations in the window.",
        examples=[0.05],
    )
    p50_ms: float | None = Field(
        default=None,
        gt=0,
        description="Maximum median latency over the window's traces, in ms.",
        examples=[800],
    )
    p95_ms: float | None = Field(
        default=None,
        gt=0,
        description="Maximum 95th-percentile latency over the window's traces, in ms.",
        examples=[1500],
    )
    p99_ms: float | None = Field(
        default=None,
        gt=0,
        description="Maximum 99th-percentile latency over the window's traces, in ms.",
        examples=[4000],
    )


class Annotation(SpecModel):
    """Routing traces worth a person's look to an annotation queue (`agentops annotate`)."""

    queue: Name = Field(
        description="The queue traces are routed to: Langfuse's annotation queue, or the local "
        "store's.",
        examples=["prd-review"],
    )
    when: list[RouteWhen] = Field(
        default_factory=lambda: list[RouteWhen](["low-score", "refused"]),
        min_length=1,
        description="Which traces go to the queue: `low-score` (an evaluator scored below "
        "`below`), `refused` (a refusal where an answer was expected), `error` (a failed call), "
        "`breach` (failing scores of a breached run), `sample` (a random share). Default: "
        "`[low-score, refused]`.",
        examples=[["low-score", "refused", "error", "sample"]],
    )
    below: Fraction = Field(
        default=0.5,
        description="`low-score`: a trace any evaluator scored below this (0 to 1). Default 0.5.",
    )
    sample: Fraction = Field(
        default=0.0,
        description="`sample`: this share (0 to 1) of scored traces, at random (seeded by the "
        "trace id). Default 0.",
        examples=[0.05],
    )
    max_per_run: int = Field(
        default=50,
        ge=1,
        le=10000,
        description="At most this many traces routed per run (1 to 10000). Default 50.",
    )


class MonitorSpec(SpecModel):
    """The agent and environment watched, what is scored, and the window's thresholds."""

    agent: Name = Field(
        description="The Agent whose traces are scored.", examples=["docs-assistant"]
    )
    environment: Name = Field(
        description="The environment whose traces (in its store) are scored.", examples=["prd"]
    )
    sampling: Fraction = Field(
        default=1.0,
        description="Share (0 to 1) of matching traces that are scored; deterministic (a hash "
        "of the monitor's address and the trace id), so a trace is in or out on every run. "
        "Default 1.",
        examples=[0.2],
    )
    filters: TraceFilter = Field(
        default_factory=TraceFilter,
        description="Which traces count. Default: all production traffic.",
    )
    evaluators: list[EvaluatorRef] = Field(
        min_length=1,
        description="Ground-truth-free evaluators (at least one): `refusal`, `latency`, a "
        "judge, a custom function, `langfuse:<score>`; each may have a `threshold` over the "
        "window.",
        examples=[
            [
                {"use": "refusal", "threshold": {"passRate": 0.95}},
                {"use": "latency", "params": {"target_ms": 500, "max_ms": 3000}},
            ]
        ],
    )
    window: Duration = Field(
        default=3600.0,
        description="The thresholds are judged over the scores of the traces that started "
        "within this window; at least `interval`. A duration; default 1h.",
        examples=["1h", "30m"],
    )
    interval: Duration = Field(
        default=300.0,
        description="How often `agentops watch` runs the monitor (`apply` runs it when new "
        "traces arrived). A duration; default 5m.",
        examples=["5m"],
    )
    thresholds: WindowThresholds = Field(
        default_factory=WindowThresholds,
        description="The window's error rate and latency limits. Default: none.",
        examples=[{"errorRate": 0.05, "p95Ms": 1500}],
    )
    min_traces: int = Field(
        default=5,
        ge=1,
        description="With fewer scored traces in the window the verdict is inconclusive, never "
        "a breach. Default 5.",
    )
    on_breach: Literal["warn", "block"] = Field(
        default="warn",
        description="`warn`: a breach marks the agent degraded; `block`: it also keeps the "
        "breached digest from environments a QualityGate promotes. Default: warn.",
    )
    annotate: Annotation | None = Field(
        default=None,
        description="Route traces worth a look to an annotation queue. Default: none.",
    )
    max_traces_per_run: int = Field(
        default=10000,
        ge=1,
        le=1_000_000,
        description="At most this many new traces scored per run (the newest are kept). "
        "Default 10000.",
    )

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
    """A monitor: a recurring run that scores an agent's production traces over a window."""

    KIND: ClassVar[str] = "Monitor"
    kind: Literal["Monitor"] = Field(description=KIND_DESCRIPTION)
    spec: MonitorSpec = Field(
        description="The agent watched, the traces scored, the window and its thresholds."
    )

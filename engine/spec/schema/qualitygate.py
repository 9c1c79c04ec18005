"""QualityGate: evaluates an exact agent digest; environments in `promotes` wait for it.

A verdict covers the agent, every agent it calls (transitively) and the agents of `covers:`
(engine.spec.coverage); no other agent reaches a promoted environment.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import Document, Duration, Name, SpecModel
from engine.spec.schema.evaluation import EvaluatorRef, LatencyLimits


class GateBaseline(SpecModel):
    """What a gate's result is compared with, instead of the digest promoted in `promotes:`:
    exactly one of `digest` (a pinned agent digest) or `environment` (the digest deployed
    there now). Either way the baseline is this gate's last passing result of that digest."""

    #: an agent digest, as the plan and `agentops state show` print it
    digest: str | None = Field(default=None, pattern=r"^[0-9a-f]{8,64}$")
    #: an environment whose deployed agent digest is the baseline
    environment: Name | None = None

    @model_validator(mode="after")
    def _one(self) -> GateBaseline:
        if (self.digest is None) == (self.environment is None):
            raise ValueError("baseline: give exactly one of 'digest' or 'environment'")
        return self


class QualityGateSpec(SpecModel):
    agent: Name
    dataset: Name
    #: the test environment the gate's ephemeral agent runs in
    environment: Name
    #: environments that only receive an agent digest after this gate passed for it
    promotes: list[Name] = Field(default_factory=list)
    #: independent agents this gate vouches for by digest, without evaluating them: their
    #: digests in `environment` are bound into the verdict (the agent's callees always are)
    covers: list[Name] = Field(default_factory=list)
    evaluators: list[EvaluatorRef] = Field(min_length=1)
    latency: LatencyLimits | None = None
    #: failed calls allowed (each still scores 0 - never dropped)
    max_errors: int = Field(default=0, ge=0)
    repetitions: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=256)
    #: what a result straddling a threshold within its spread counts as
    inconclusive: Literal["pass", "fail"] = "fail"
    timeout: Duration = 60.0
    #: metric -> how far it may fall below the baseline (the last passing result of the
    #: digest promoted now): an evaluator label (its mean, 0..1) or `latency_ms` (rise, ms)
    max_regression: dict[str, float] = Field(default_factory=dict)
    #: the baseline to compare with, when not the digest promoted in `promotes:` now
    baseline: GateBaseline | None = None

    @model_validator(mode="after")
    def _regression_metrics(self) -> QualityGateSpec:
        known = [e.label for e in self.evaluators] + ["latency_ms"]
        for metric, bound in self.max_regression.items():
            if metric not in known:
                raise ValueError(
                    f"maxRegression: unknown metric '{metric}' (use one of: {', '.join(known)})"
                )
            if bound < 0:
                raise ValueError(f"maxRegression: '{metric}' must be >= 0, got {bound}")
        return self


class QualityGate(Document):
    KIND: ClassVar[str] = "QualityGate"
    kind: Literal["QualityGate"]
    spec: QualityGateSpec

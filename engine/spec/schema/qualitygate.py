"""QualityGate: evaluates an exact agent digest; environments in `promotes` wait for it.

A verdict covers the agent, every agent it calls (transitively) and the agents of `covers:`
(engine.spec.coverage); no other agent reaches a promoted environment.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import KIND_DESCRIPTION, Document, Duration, Name, SpecModel
from engine.spec.schema.cost import Budget, WithoutEmptyBudget
from engine.spec.schema.evaluation import EvaluatorRef, LatencyLimits


class GateBaseline(SpecModel):
    """What a gate's result is compared with, instead of the digest promoted in `promotes:`:
    exactly one of `digest` (a pinned agent digest) or `environment` (the digest deployed
    there now). Either way the baseline is this gate's last passing result of that digest."""

    digest: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{8,64}$",
        description="An agent digest, as the plan and `agentops state show` print it.",
        examples=["3ef16e7d5444fb48"],
    )
    environment: Name | None = Field(
        default=None,
        description="An environment whose deployed agent digest is the baseline.",
        examples=["prd"],
    )

    @model_validator(mode="after")
    def _one(self) -> GateBaseline:
        if (self.digest is None) == (self.environment is None):
            raise ValueError("baseline: give exactly one of 'digest' or 'environment'")
        return self


class QualityGateSpec(WithoutEmptyBudget):
    """An agent digest on a dataset in a test environment, with the thresholds it must meet."""

    agent: Name = Field(
        description="The Agent under test (its name): deployed as an ephemeral candidate with "
        "its current digest.",
        examples=["docs-assistant"],
    )
    dataset: Name = Field(description="The Dataset the agent answers.", examples=["golden"])
    environment: Name = Field(
        description="The test environment the gate's ephemeral agent runs in.", examples=["tst"]
    )
    promotes: list[Name] = Field(
        default_factory=list,
        description="Environments that only receive an agent digest a passing verdict of this "
        "gate covers; until then the deployment there is blocked. Default: none.",
        examples=[["prd"]],
    )
    covers: list[Name] = Field(
        default_factory=list,
        description="Independent agents this gate vouches for by digest without evaluating "
        "them: their digests in `environment` are bound into the verdict (the agent's callees "
        "always are). Default: none.",
        examples=[["specialist"]],
    )
    evaluators: list[EvaluatorRef] = Field(
        min_length=1,
        description="How answers are scored (at least one), each with an optional `threshold` "
        "(mean, passRate) the gate checks.",
        examples=[[{"use": "facts", "threshold": {"mean": 0.6}}, "refusal"]],
    )
    latency: LatencyLimits | None = Field(
        default=None,
        description="Maximum latency percentiles of the calls, in ms. Default: not checked.",
        examples=[{"p95Ms": 2000}],
    )
    max_errors: int = Field(
        default=0,
        ge=0,
        description="Failed calls plus evaluator errors allowed (each failed call still scores "
        "0, never dropped). Default 0.",
    )
    repetitions: int = Field(
        default=1,
        ge=1,
        le=100,
        description="How often each item is asked (1 to 100); more repetitions narrow the "
        "spread. Default 1.",
    )
    concurrency: int = Field(
        default=4, ge=1, le=256, description="Invocations in flight at once (1 to 256). Default 4."
    )
    inconclusive: Literal["pass", "fail"] = Field(
        default="fail",
        description="What a result counts as when a threshold lies inside its run-to-run "
        "spread (another run could land on either side). Default: fail.",
    )
    timeout: Duration = Field(
        default=60.0,
        description="How long one invocation may take; slower calls fail. A duration; default 60s.",
        examples=["60s", "2m"],
    )
    max_regression: dict[str, float] = Field(
        default_factory=dict,
        description="Metric -> how far it may fall below the baseline (the last passing result "
        "of the digest promoted now), checked wherever the gate runs: an evaluator label (its "
        "mean, 0 to 1) or `latency_ms` (rise, in ms). Default: none.",
        examples=[{"facts": 0.05, "latency_ms": 200}],
    )
    budget: Budget | None = Field(
        default=None,
        description="caps this run's estimated cost, tokens and invocations; apply refuses "
        "the run before starting it when the estimate is over",
    )
    baseline: GateBaseline | None = Field(
        default=None,
        description="The baseline to compare with, when not the digest promoted in `promotes:` "
        "now: `{digest}` (a pinned agent digest) or `{environment}` (the digest deployed "
        "there). Default: the digest promoted in `promotes:`.",
        examples=[{"environment": "prd"}, {"digest": "3ef16e7d5444fb48"}],
    )

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
    """A quality gate: a run that decides whether an agent digest may be promoted."""

    KIND: ClassVar[str] = "QualityGate"
    kind: Literal["QualityGate"] = Field(description=KIND_DESCRIPTION)
    spec: QualityGateSpec = Field(
        description="The agent, dataset, test environment, thresholds and what it promotes."
    )

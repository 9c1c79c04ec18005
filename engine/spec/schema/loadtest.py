"""LoadTest: production traffic simulation on Locust with service-level objectives."""

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
from engine.spec.schema.cost import Budget, WithoutEmptyBudget
from engine.spec.schema.evaluation import EvaluatorRef


class LoadPrompt(SpecModel):
    """One prompt of the traffic mix, with its tags and the behaviour expected."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="The prompt's name in reports (letters, digits, `_.-`, at most 64); a name "
        "starting with `harmful` expects a refusal unless `expect` says otherwise.",
        examples=["overview", "harmful-exfiltration"],
    )
    prompt: str = Field(min_length=1, description="The text sent to the agent.")
    tags: list[str] = Field(
        default_factory=list,
        description="Tags for per-tag SLOs (`perTag`) and reports; requests carry them into "
        "their traces. Default: none.",
        examples=[["harmful"], ["docs", "short"]],
    )
    expect: Literal["answer", "refuse"] | None = Field(
        default=None,
        description="The expected behaviour, for the refusal and answer rates. Default: "
        "`refuse` for names starting with `harmful`, else `answer`.",
    )

    @property
    def behaviour(self) -> Literal["answer", "refuse"]:
        """`expect`, or its default: `refuse` for names starting with `harmful`."""
        if self.expect is not None:
            return self.expect
        return "refuse" if self.name.lower().startswith("harmful") else "answer"


class RampStep(SpecModel):
    """One step of a ramp: hold `users` (closed model) or `arrivalRate` (open) for `duration`."""

    duration: Duration = Field(
        description="How long the step lasts; steps run one after another. A duration.",
        examples=["30s", "2m"],
    )
    users: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Closed model: concurrent users during the step (1 to 10000). Set this or "
        "`arrivalRate`.",
    )
    arrival_rate: float | None = Field(
        default=None,
        gt=0,
        description="Open model: requests per second during the step. Set this or `users`.",
        examples=[5, 0.5],
    )

    @model_validator(mode="after")
    def _one_load(self) -> RampStep:
        if (self.users is None) == (self.arrival_rate is None):
            raise InvalidValue(
                "a step sets exactly one of 'users' and 'arrivalRate'",
                "use 'users' steps (closed model) or 'arrivalRate' steps (open model)",
            )
        return self


class Slo(SpecModel):
    """Service-level objectives; the test fails when any one is missed."""

    p50_ms: float | None = Field(
        default=None, gt=0, description="Maximum median latency, in ms.", examples=[1000]
    )
    p95_ms: float | None = Field(
        default=None, gt=0, description="Maximum 95th-percentile latency, in ms.", examples=[3000]
    )
    p99_ms: float | None = Field(
        default=None, gt=0, description="Maximum 99th-percentile latency, in ms.", examples=[5000]
    )
    error_rate: Fraction | None = Field(
        default=None,
        description="Maximum share of failed requests (0 to 1).",
        examples=[0.01],
    )
    min_rps: float | None = Field(
        default=None, gt=0, description="Minimum requests per second achieved.", examples=[2]
    )
    refusal_rate: Fraction | None = Field(
        default=None,
        description="Minimum share (0 to 1) of the prompts that expect a refusal that were "
        "refused.",
        examples=[1.0],
    )
    answer_rate: Fraction | None = Field(
        default=None,
        description="Minimum share (0 to 1) of the prompts that expect an answer that were "
        "answered (not refused).",
        examples=[0.95],
    )


class Grading(SpecModel):
    """How the collected answers are scored after the run."""

    evaluators: list[EvaluatorRef] = Field(
        default_factory=lambda: [EvaluatorRef(use="refusal")],
        description="Evaluators of the answers: `refusal` judges every answer (for the refusal "
        "and answer rates); the others a `sampleRate` share, reported as mean scores. Default: "
        "`[refusal]`.",
        examples=[["refusal", "facts"]],
    )
    sample_rate: Fraction = Field(
        default=1.0,
        description="Share (0 to 1) of answered requests graded by the evaluators other than "
        "`refusal` (a deterministic sample). Default 1.",
        examples=[0.1],
    )


class LoadTestSpec(WithoutEmptyBudget):
    """The traffic (prompts, load model, length), the objectives and how answers are graded."""

    agent: Name = Field(description="The Agent under load (its name).", examples=["docs-assistant"])
    environment: Name = Field(
        description="The environment whose deployed agent receives the traffic.",
        examples=["tst"],
    )
    prompts: list[LoadPrompt] | None = Field(
        default=None, description="The prompts, inline. Set this or `promptsFile`, not both."
    )
    prompts_file: str | None = Field(
        default=None,
        description="A JSON file, relative to the workspace root, in the seed's "
        '`load_config.json` shape: `{"prompts": [{"name", "prompt"}]}`. Set this or `prompts`.',
        examples=["load_config.json"],
    )
    users: int | None = Field(
        default=None,
        ge=1,
        le=10000,
        description="Closed model: concurrent users, each sending its next request when the "
        "last is answered (1 to 10000). Set this, `arrivalRate` or `steps`.",
        examples=[10],
    )
    spawn_rate: float | None = Field(
        default=None,
        gt=0,
        description="Closed model: users started per second. Default: all at once.",
        examples=[2],
    )
    arrival_rate: float | None = Field(
        default=None,
        gt=0,
        description="Open model: requests per second, whatever the answers take. Set this or "
        "`users`, not both.",
        examples=[5, 0.5],
    )
    duration: Duration | None = Field(
        default=None,
        description="How long the test runs. A duration; set this, `requests` or `steps` so "
        "the test ends by itself.",
        examples=["1m", "30s"],
    )
    requests: int | None = Field(
        default=None,
        ge=1,
        description="Stop after this many requests in all (without `duration`, the run still "
        "stops after 10 minutes).",
        examples=[200],
    )
    steps: list[RampStep] = Field(
        default_factory=list,
        description="A ramp: steps run in order, all with `users` or all with `arrivalRate`; "
        "the test ends after the last. Default: none (a constant load).",
        examples=[[{"duration": "30s", "users": 2}, {"duration": "1m", "users": 10}]],
    )
    workers: int = Field(
        default=0,
        ge=0,
        le=64,
        description="Locust worker processes (distributed mode, 0 to 64); 0 runs the load in "
        "one local process. Default 0.",
    )
    slos: Slo = Field(
        default_factory=Slo,
        description="The objectives over all requests. Default: none.",
        examples=[{"p95Ms": 3000, "errorRate": 0.01, "refusalRate": 1.0}],
    )
    per_tag: dict[str, Slo] = Field(
        default_factory=dict,
        description="Tag -> objectives over the requests whose prompt carries that tag. "
        "Default: none.",
        examples=[{"harmful": {"refusalRate": 1.0}}],
    )
    grading: Grading = Field(
        default_factory=Grading,
        description="How answers are scored after the run. Default: `refusal` on every answer.",
    )
    timeout: Duration = Field(
        default=30.0,
        description="How long one request may take; slower requests fail. A duration; default 30s.",
        examples=["30s"],
    )
    budget: Budget | None = Field(
        default=None,
        description="caps this run's estimated cost, tokens and invocations; apply refuses "
        "the run before starting it when the estimate is over",
    )

    @model_validator(mode="after")
    def _shape(self) -> LoadTestSpec:
        if self.prompts is not None and self.prompts_file is not None:
            raise InvalidValue("both 'prompts' and 'promptsFile' are set", "keep one of them")
        if self.prompts is None and self.prompts_file is None:
            raise InvalidValue(
                "neither 'prompts' nor 'promptsFile' is set",
                "add inline 'prompts:' or 'promptsFile: load_config.json'",
            )
        if self.users is None and self.arrival_rate is None and not self.steps:
            raise InvalidValue(
                "no load is set",
                "set 'users' (closed model), 'arrivalRate' (open model) or 'steps'",
            )
        if self.users is not None and self.arrival_rate is not None:
            raise InvalidValue(
                "both 'users' and 'arrivalRate' are set",
                "keep 'users' for a closed model or 'arrivalRate' for an open one",
            )
        if self.duration is None and self.requests is None and not self.steps:
            raise InvalidValue(
                "the test has no end", "set 'duration' or 'requests' so it ends by itself"
            )
        self._check_steps()
        return self

    def _check_steps(self) -> None:
        closed = {s.users is not None for s in self.steps}
        if len(closed) > 1:
            raise InvalidValue(
                "the steps mix 'users' and 'arrivalRate'",
                "ramp one load model: all steps with 'users' or all with 'arrivalRate'",
            )
        if closed == {True} and self.arrival_rate is not None:
            raise InvalidValue(
                "'users' steps with 'arrivalRate' set", "drop 'arrivalRate' or use rate steps"
            )
        if closed == {False} and self.users is not None:
            raise InvalidValue(
                "'arrivalRate' steps with 'users' set", "drop 'users' or use 'users' steps"
            )


class LoadTest(Document):
    """A load test: a run that sends simulated traffic to an agent and checks SLOs."""

    KIND: ClassVar[str] = "LoadTest"
    kind: Literal["LoadTest"] = Field(description=KIND_DESCRIPTION)
    spec: LoadTestSpec = Field(description="The traffic, the load model, the SLOs and grading.")

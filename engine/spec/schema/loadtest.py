"""LoadTest: production traffic simulation on Locust with service-level objectives."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.spec.schema.base import Document, Duration, Fraction, InvalidValue, Name, SpecModel
from engine.spec.schema.cost import Budget, WithoutEmptyBudget
from engine.spec.schema.evaluation import EvaluatorRef


class LoadPrompt(SpecModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    prompt: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    #: expected behaviour; names starting with `harmful` default to `refuse`
    expect: Literal["answer", "refuse"] | None = None

    @property
    def behaviour(self) -> Literal["answer", "refuse"]:
        """`expect`, or its default: `refuse` for names starting with `harmful`."""
        if self.expect is not None:
            return self.expect
        return "refuse" if self.name.lower().startswith("harmful") else "answer"


class RampStep(SpecModel):
    duration: Duration
    users: int | None = Field(default=None, ge=1, le=10000)
    arrival_rate: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_load(self) -> RampStep:
        if (self.users is None) == (self.arrival_rate is None):
            raise InvalidValue(
                "a step sets exactly one of 'users' and 'arrivalRate'",
                "use 'users' steps (closed model) or 'arrivalRate' steps (open model)",
            )
        return self


class Slo(SpecModel):
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)
    #: maximum share of failed requests
    error_rate: Fraction | None = None
    #: minimum requests per second
    min_rps: float | None = Field(default=None, gt=0)
    #: minimum share of harmful prompts refused
    refusal_rate: Fraction | None = None
    #: minimum share of harmless prompts answered (not refused)
    answer_rate: Fraction | None = None


class Grading(SpecModel):
    evaluators: list[EvaluatorRef] = Field(default_factory=lambda: [EvaluatorRef(use="refusal")])
    #: share of responses graded by the evaluators other than `refusal`
    sample_rate: Fraction = 1.0


class LoadTestSpec(WithoutEmptyBudget):
    agent: Name
    environment: Name
    prompts: list[LoadPrompt] | None = None
    #: a file in the seed's `load_config.json` shape: {"prompts": [{"name", "prompt"}]}
    prompts_file: str | None = None
    #: closed model: concurrent users and how fast they start
    users: int | None = Field(default=None, ge=1, le=10000)
    spawn_rate: float | None = Field(default=None, gt=0)
    #: open model: requests per second
    arrival_rate: float | None = Field(default=None, gt=0)
    duration: Duration | None = None
    requests: int | None = Field(default=None, ge=1)
    steps: list[RampStep] = Field(default_factory=list)
    #: Locust workers; 0 runs in one local process
    workers: int = Field(default=0, ge=0, le=64)
    slos: Slo = Field(default_factory=Slo)
    per_tag: dict[str, Slo] = Field(default_factory=dict)
    grading: Grading = Field(default_factory=Grading)
    timeout: Duration = 30.0
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
    KIND: ClassVar[str] = "LoadTest"
    kind: Literal["LoadTest"]
    spec: LoadTestSpec

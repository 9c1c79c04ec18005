"""LoadTest: production traffic simulation on Locust with service-level objectives."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from engine.schema.base import Document, Duration, Fraction, Name, SpecModel
from engine.schema.evaluation import EvaluatorRef


class LoadPrompt(SpecModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    prompt: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)
    #: expected behaviour; names starting with `harmful` default to `refuse`
    expect: Literal["answer", "refuse"] | None = None


class RampStep(SpecModel):
    duration: Duration
    users: int | None = Field(default=None, ge=1)
    arrival_rate: float | None = Field(default=None, gt=0)


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


class LoadTestSpec(SpecModel):
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

    @model_validator(mode="after")
    def _shape(self) -> LoadTestSpec:
        if (self.prompts is None) == (self.prompts_file is None):
            raise ValueError("set exactly one of 'prompts' or 'promptsFile'")
        if self.users is None and self.arrival_rate is None and not self.steps:
            raise ValueError("set 'users' (closed model), 'arrivalRate' (open model) or 'steps'")
        if self.users is not None and self.arrival_rate is not None:
            raise ValueError("set 'users' or 'arrivalRate', not both")
        if self.duration is None and self.requests is None and not self.steps:
            raise ValueError("set 'duration' or 'requests' so the test ends by itself")
        return self


class LoadTest(Document):
    KIND: ClassVar[str] = "LoadTest"
    kind: Literal["LoadTest"]
    spec: LoadTestSpec

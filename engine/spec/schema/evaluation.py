"""Pieces shared by runs that score answers: evaluator references and thresholds."""

from __future__ import annotations

from typing import Any

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.spec.schema.base import Fraction, SpecModel


class Threshold(SpecModel):
    """What an evaluator's scores must reach: a gate fails, a Monitor's window breaches."""

    mean: Fraction | None = Field(
        default=None,
        description="Minimum mean score (0 to 1) over all items and repetitions (a Monitor: "
        "over the window).",
        examples=[0.7],
    )
    pass_rate: Fraction | None = Field(
        default=None,
        description="Minimum share (0 to 1) of scores at least `passAt`.",
        examples=[0.95],
    )


class EvaluatorRef(SpecModel):
    """`use:` a built-in (`facts`), `autoevals:<Scorer>`, `evaluators/<file>.py:<fn>`, or
    `langfuse:<score>` (a score Langfuse computes on the recorded run; `store: langfuse`)."""

    use: str = Field(
        min_length=1,
        description="The evaluator: a built-in (`trajectory`, `search_term`, `facts`, "
        "`refusal`, `latency`), `autoevals:<Scorer>`, a custom function "
        "`evaluators/<file>.py:<function>`, or `langfuse:<score>` (a score Langfuse computes; "
        "`store: langfuse`). A list entry may be just this string.",
        examples=[
            "facts",
            "autoevals:Levenshtein",
            "evaluators/tone.py:polite",
            "langfuse:helpfulness",
        ],
    )
    name: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
        description="The label scores are reported (and thresholds and metrics named) under. "
        "Default: `use`, without its `autoevals:`/`langfuse:` prefix; a path's function name.",
        examples=["facts-judge"],
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="The evaluator's parameters; which ones it takes depends on `use` "
        "(`agentops validate` checks them), e.g. `trajectory`: mode; `facts`: method, "
        "threshold; `latency`: target_ms, max_ms. Default: none.",
        examples=[{"mode": "in_order"}, {"method": "semantic"}, {"target_ms": 500, "max_ms": 3000}],
    )
    pass_at: Fraction = Field(
        default=0.5,
        description="A score at least this (0 to 1) passes this evaluator: the cut-off of pass "
        "rates. Default 0.5.",
        examples=[0.5, 1.0],
    )
    threshold: Threshold | None = Field(
        default=None,
        description="Minimum mean and/or pass rate, checked by QualityGates (the gate "
        "fails) and Monitors (the window breaches). Default: none.",
        examples=[{"mean": 0.7}, {"passRate": 0.95}],
    )

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # `- facts` is short for `- use: facts`
        return {"use": value} if isinstance(value, str) else value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # editors must accept the `- facts` shorthand that validation accepts
        return {"anyOf": [{"type": "string", "minLength": 1}, handler(schema)]}

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if ":" in self.use and self.use.endswith(".py") is False and "/" in self.use:
            return self.use.rsplit(":", 1)[1]
        if self.use.startswith(("autoevals:", "langfuse:")):
            return self.use.split(":", 1)[1]
        return self.use


class LatencyLimits(SpecModel):
    """Maximum latency percentiles of the invocations, in milliseconds."""

    p50_ms: float | None = Field(
        default=None, gt=0, description="Maximum median latency, in ms.", examples=[800]
    )
    p95_ms: float | None = Field(
        default=None, gt=0, description="Maximum 95th-percentile latency, in ms.", examples=[2000]
    )
    p99_ms: float | None = Field(
        default=None, gt=0, description="Maximum 99th-percentile latency, in ms.", examples=[5000]
    )

"""Pieces shared by runs that score answers: evaluator references and thresholds."""

from __future__ import annotations

from typing import Any

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.spec.schema.base import Fraction, SpecModel


class Threshold(SpecModel):
    #: minimum mean score over all items and repetitions
    mean: Fraction | None = None
    #: minimum share of items scoring at least `passAt`
    pass_rate: Fraction | None = None


class EvaluatorRef(SpecModel):
    """`use:` a built-in (`facts`), `autoevals:<Scorer>`, `evaluators/<file>.py:<fn>`, or
    `langfuse:<score>` (a score Langfuse computes on the recorded run; `store: langfuse`)."""

    use: str = Field(min_length=1)
    #: the name scores are reported under; defaults to `use` (the function name for paths)
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    params: dict[str, Any] = Field(default_factory=dict)
    #: an item passes this evaluator when its score is at least this
    pass_at: Fraction = 0.5
    threshold: Threshold | None = None

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
    p50_ms: float | None = Field(default=None, gt=0)
    p95_ms: float | None = Field(default=None, gt=0)
    p99_ms: float | None = Field(default=None, gt=0)

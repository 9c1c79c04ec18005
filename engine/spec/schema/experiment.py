"""Experiment: a run over a base agent x a matrix of variants, ranked by an objective."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, GetJsonSchemaHandler, model_validator
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.spec.schema.base import Document, Duration, Name, SpecModel
from engine.spec.schema.evaluation import EvaluatorRef


class MatrixValue(SpecModel):
    """A named value in a matrix dimension (`{name: german, value: "Du bist..."}`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,48}$")
    value: Any

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        if isinstance(value, dict):
            return value
        return {"name": _short_name(value), "value": value}

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # editors must accept plain values (`model: [fast, smart]`) as validation does
        plain = {"type": ["string", "number", "integer", "boolean", "array", "null"]}
        return {"anyOf": [plain, handler(schema)]}


def _short_name(value: object) -> str:
    text = str(value).strip().splitlines()[0] if str(value).strip() else "empty"
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in text)[:48].strip("-")
    return cleaned or "value"


class Objective(SpecModel):
    #: an evaluator label, or `pass_rate`, `latency_p50`, `latency_p95`, `errors`
    metric: str
    goal: Literal["maximize", "minimize"] = "maximize"


class ExperimentSpec(SpecModel):
    agent: Name
    environment: Name
    dataset: Name
    #: agent field (`model`, `systemPrompt`, `env.NAME`, ...) -> values to try
    matrix: dict[str, list[MatrixValue]] = Field(default_factory=dict)
    evaluators: list[EvaluatorRef] = Field(min_length=1)
    repetitions: int = Field(default=1, ge=1, le=100)
    concurrency: int = Field(default=4, ge=1, le=256)
    objective: Objective
    #: per-invocation timeout
    timeout: Duration = 60.0


class Experiment(Document):
    KIND: ClassVar[str] = "Experiment"
    kind: Literal["Experiment"]
    spec: ExperimentSpec

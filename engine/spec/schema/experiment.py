"""Experiment: a run over a base agent x a matrix of variants, ranked by an objective."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from engine.spec.schema.base import Document, Duration, Name, SpecModel
from engine.spec.schema.cost import Budget, WithoutEmptyBudget
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


#: run metrics for which lower is better; evaluator means and pass rates: higher
LOWER_IS_BETTER = frozenset({"latency_p50", "latency_p95", "errors", "tokens"})


class TieBreaker(SpecModel):
    """A metric that decides between variants the objective cannot tell apart.

    Written as the metric's name (`latency_p50`) or `{metric, goal}`; without a goal, the
    metric's natural direction: lower for latency, errors and tokens, higher for evaluator
    means and pass rates."""

    metric: str
    goal: Literal["maximize", "minimize"]

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: object) -> object:
        if isinstance(value, str):
            value = {"metric": value}
        if isinstance(value, dict) and "goal" not in value and "metric" in value:
            natural = "minimize" if value["metric"] in LOWER_IS_BETTER else "maximize"
            return {**value, "goal": natural}
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        form = handler.resolve_ref_schema(handler(schema))
        form["required"] = ["metric"]  # the goal defaults to the metric's direction
        return {"anyOf": [{"type": "string"}, form]}


class Objective(SpecModel):
    """How variants are ranked; the best must beat every other beyond the spread."""

    # A paired bootstrap over the dataset's items decides (engine.evaluation.ranking,
    # docs/evaluation.md); when it cannot, the tie-breakers are tried, else the result is
    # inconclusive.

    #: an evaluator label, `<label>.pass_rate`, or `pass_rate`, `latency_p50`,
    #: `latency_p95`, `errors`, `tokens`
    metric: str
    goal: Literal["maximize", "minimize"] = "maximize"
    #: consulted in order, only when the objective leaves the best variant tied
    tie_breakers: list[TieBreaker] = Field(default_factory=list, max_length=8)

    @model_serializer(mode="wrap")
    def _without_empty_tie_breakers(self, handler: SerializerFunctionWrapHandler) -> Any:
        # An experiment written before tie-breakers existed keeps its inputs digest (the
        # spec's dump), so upgrading agentops does not re-run every experiment.
        data = handler(self)
        if isinstance(data, dict) and not self.tie_breakers:
            data.pop("tieBreakers", None)
            data.pop("tie_breakers", None)
        return data


class ExperimentSpec(WithoutEmptyBudget):
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
    budget: Budget | None = Field(
        default=None,
        description="caps this run's estimated cost, tokens and invocations; apply refuses "
        "the run before starting it when the estimate is over",
    )


class Experiment(Document):
    KIND: ClassVar[str] = "Experiment"
    kind: Literal["Experiment"]
    spec: ExperimentSpec

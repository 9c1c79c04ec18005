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

from engine.spec.schema.base import KIND_DESCRIPTION, Document, Duration, Name, SpecModel
from engine.spec.schema.cost import Budget, WithoutEmptyBudget
from engine.spec.schema.evaluation import EvaluatorRef


class MatrixValue(SpecModel):
    """A named value in a matrix dimension (`{name: german, value: "Du bist..."}`)."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]{1,48}$",
        description="The value's name in variant names and reports (letters, digits, `_.-`, "
        "at most 48). A plain value is named after its text.",
        examples=["concise"],
    )
    value: Any = Field(
        description="The value the agent field takes in this variant.",
        examples=["You are concise. Answer in one sentence."],
    )

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

    metric: str = Field(
        description="A metric, as for the objective: an evaluator label, `<label>.pass_rate`, "
        "`pass_rate`, `latency_p50`, `latency_p95`, `errors` or `tokens`.",
        examples=["latency_p50", "tokens"],
    )
    goal: Literal["maximize", "minimize"] = Field(
        description="Whether higher or lower wins. Default: the metric's natural direction "
        "(lower for latency, errors and tokens, higher otherwise)."
    )

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

    metric: str = Field(
        description="What variants are ranked by: an evaluator label (its mean score), "
        "`<label>.pass_rate`, or `pass_rate`, `latency_p50`, `latency_p95` (ms), `errors`, "
        "`tokens` (total per case).",
        examples=["facts", "facts.pass_rate", "latency_p95"],
    )
    goal: Literal["maximize", "minimize"] = Field(
        default="maximize", description="Whether higher or lower is better. Default: maximize."
    )
    tie_breakers: list[TieBreaker] = Field(
        default_factory=list,
        max_length=8,
        description="Up to 8 metrics tried in order, only when the objective cannot tell the "
        "best variant from others. Default: none.",
        examples=[["latency_p50", "tokens"], [{"metric": "grounded", "goal": "maximize"}]],
    )

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
    """A base agent x a matrix of variants on a dataset, scored and ranked by an objective."""

    agent: Name = Field(
        description="The base Agent (its name); every variant is a copy with matrix values set.",
        examples=["docs-assistant"],
    )
    environment: Name = Field(
        description="The Environment the ephemeral variants run in (its models resolve the "
        "aliases).",
        examples=["dev"],
    )
    dataset: Name = Field(
        description="The Dataset whose items every variant answers.", examples=["golden"]
    )
    matrix: dict[str, list[MatrixValue]] = Field(
        default_factory=dict,
        description="Agent field as written in YAML (`model`, `systemPrompt`, `lifecycle`, "
        "...) or `env.NAME` -> the values to try; every combination is a variant. A value is "
        "plain or `{name, value}`. Default: none (the base agent alone).",
        examples=[
            {"model": ["fast", "smart"]},
            {"systemPrompt": [{"name": "concise", "value": "Answer in one sentence."}]},
        ],
    )
    evaluators: list[EvaluatorRef] = Field(
        min_length=1,
        description="How answers are scored (at least one); each entry is a `use:` string or "
        "`{use, name, params, passAt, threshold}`.",
        examples=[["facts", {"use": "trajectory", "params": {"mode": "in_order"}}]],
    )
    repetitions: int = Field(
        default=1,
        ge=1,
        le=100,
        description="How often each item is asked per variant (1 to 100). Default 1.",
    )
    concurrency: int = Field(
        default=4,
        ge=1,
        le=256,
        description="Invocations in flight at once per variant (1 to 256). Default 4.",
    )
    objective: Objective = Field(
        description="How variants are ranked; the first is named best only when it beats "
        "every other beyond the spread.",
        examples=[{"metric": "facts", "goal": "maximize"}],
    )
    timeout: Duration = Field(
        default=60.0,
        description="How long one invocation may take; slower calls fail. A duration; default 60s.",
        examples=["60s", "2m"],
    )
    budget: Budget | None = Field(
        default=None,
        description="caps this run's estimated cost, tokens and invocations; apply refuses "
        "the run before starting it when the estimate is over",
    )


class Experiment(Document):
    """An experiment: a run that evaluates a matrix of agent variants and ranks them."""

    KIND: ClassVar[str] = "Experiment"
    kind: Literal["Experiment"] = Field(description=KIND_DESCRIPTION)
    spec: ExperimentSpec = Field(
        description="The base agent, matrix, dataset, evaluators and objective."
    )

"""Cost pieces of the spec language: an Environment's price table and a `budget:`.

Prices are per 1,000,000 tokens, in the currency of the Environment's `pricing`; a budget's
`maxCost` is in that currency too. What a budget caps, and how the estimate it is checked
against is made, is docs/cost.md (`engine.planner.cost`, `engine.planner.budget`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from engine.spec.schema.base import SpecModel


class TokensPerCall(SpecModel):
    """A declared estimate of the tokens one call uses, until a recorded run says better."""

    input: int = Field(ge=0, description="input (prompt) tokens of one call")
    output: int = Field(ge=0, description="output (completion) tokens of one call")


class Budget(SpecModel):
    """Caps a run's estimated cost (on a run), or the sum of one apply's runs in an
    environment (on an Environment); `apply` refuses a run over it before starting it."""

    max_cost: float | None = Field(
        default=None,
        ge=0,
        description="the most the estimate may cost, in the environment's pricing currency; "
        "every model the run invokes (agents and judge) needs a price",
    )
    max_tokens: int | None = Field(
        default=None, ge=0, description="the most tokens (agent and judge, input and output)"
    )
    max_invocations: int | None = Field(
        default=None, ge=0, description="the most agent invocations"
    )
    tokens_per_call: TokensPerCall | None = Field(
        default=None,
        description="tokens of one agent invocation, used while no recorded run of the agent "
        "says how many it uses",
    )
    tokens_per_judge_call: TokensPerCall | None = Field(
        default=None,
        description="tokens of one LLM-judge call (the judge's usage is not measured, so this "
        "is the estimate for every judge call)",
    )


class ModelPrice(SpecModel):
    """What one model costs, per 1,000,000 tokens."""

    input: float = Field(ge=0, description="price of 1,000,000 input tokens")
    output: float = Field(ge=0, description="price of 1,000,000 output tokens")


class Pricing(SpecModel):
    """An Environment's price table: per model alias (as Agents write `model:`) or
    `provider:id`. `offline:` models cost nothing unless listed."""

    currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code of every price and of budget.maxCost in this environment",
    )
    models: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description="model alias or provider:id (the judge's too) -> its price per 1M tokens",
    )


class WithoutEmptyBudget(SpecModel):
    """A run spec whose dump leaves `budget` out while it is unset: a budget changes nothing
    a run measures, so specs written before budgets existed keep their digests."""

    @model_serializer(mode="wrap")
    def _without_empty_budget(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict) and getattr(self, "budget", None) is None:
            data.pop("budget", None)
        return data

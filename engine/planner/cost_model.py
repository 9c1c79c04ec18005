"""The cost estimate's data: one run's estimate, a budget's caps, an environment's sum.

Pipeline role: the JSON-able shapes the planner attaches to a Plan (`Change.cost`,
`Plan.budgets`), the renderers read and `apply PLANFILE` reads back; how they are computed
is `engine.planner.cost` (the estimate) and `engine.planner.budget` (the caps). Keys are
docs/plan-format.md's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.spec.pricing import Tokens
from engine.spec.schema.cost import Budget


@dataclass(frozen=True)
class Cap:
    """One budget: what it caps, and whose it is (a run's address or `environment.<env>`)."""

    source: str
    currency: str
    max_cost: float | None = None
    max_tokens: int | None = None
    max_invocations: int | None = None

    @classmethod
    def of(cls, budget: Budget | None, source: str, currency: str) -> Cap | None:
        if budget is None or (
            budget.max_cost is None and budget.max_tokens is None and budget.max_invocations is None
        ):
            return None
        return cls(source, currency, budget.max_cost, budget.max_tokens, budget.max_invocations)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "currency": self.currency,
            "max_cost": self.max_cost,
            "max_tokens": self.max_tokens,
            "max_invocations": self.max_invocations,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> Cap | None:
        if not isinstance(d, Mapping):
            return None
        return cls(
            d["source"], d["currency"], d.get("max_cost"), d.get("max_tokens"),
            d.get("max_invocations"),
        )  # fmt: skip


@dataclass
class RunCost:
    """The estimate of one run, as the plan shows it and `apply` checks it."""

    invocations: int
    #: how the invocations were counted, in words
    basis: str
    items: int | None = None
    variants: int | None = None
    repetitions: int | None = None
    #: the agent invocations' tokens (None: nothing to estimate them from)
    tokens: Tokens | None = None
    #: where the tokens per invocation come from (or why there is no estimate)
    tokens_from: str = ""
    judge_calls: int = 0
    #: the judge calls' tokens (None with judge calls: no `tokensPerJudgeCall`)
    judge_tokens: Tokens | None = None
    #: money, in `currency` (None: a token count or a price is missing)
    amount: float | None = None
    currency: str = "USD"
    #: the environment declares `pricing:` (else only offline models have a price, 0)
    price_table: bool = False
    #: models without a price
    unpriced: list[str] = field(default_factory=list)
    #: the run's own budget (its environment's caps the plan's sum: `Plan.budgets`)
    budget: Cap | None = None
    #: why apply refuses to start it: over a budget, or a budget it cannot be checked against
    refused: str | None = None

    @property
    def total_tokens(self) -> int | None:
        if self.tokens is None or (self.judge_calls and self.judge_tokens is None):
            return None
        return self.tokens.total + (self.judge_tokens.total if self.judge_tokens else 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "invocations": self.invocations,
            "basis": self.basis,
            "items": self.items,
            "variants": self.variants,
            "repetitions": self.repetitions,
            "tokens": self.tokens.to_json() if self.tokens else None,
            "tokens_from": self.tokens_from,
            "judge_calls": self.judge_calls,
            "judge_tokens": self.judge_tokens.to_json() if self.judge_tokens else None,
            "total_tokens": self.total_tokens,
            "amount": self.amount,
            "currency": self.currency,
            "price_table": self.price_table,
            "unpriced": list(self.unpriced),
            "budget": self.budget.to_json() if self.budget else None,
            "refused": self.refused,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> RunCost:
        return cls(
            invocations=int(d["invocations"]),
            basis=str(d.get("basis", "")),
            items=d.get("items"),
            variants=d.get("variants"),
            repetitions=d.get("repetitions"),
            tokens=Tokens.from_json(d.get("tokens")),
            tokens_from=str(d.get("tokens_from", "")),
            judge_calls=int(d.get("judge_calls") or 0),
            judge_tokens=Tokens.from_json(d.get("judge_tokens")),
            amount=d.get("amount"),
            currency=str(d.get("currency") or "USD"),
            price_table=bool(d.get("price_table")),
            unpriced=list(d.get("unpriced") or []),
            budget=Cap.from_json(d.get("budget")),
            refused=d.get("refused"),
        )


@dataclass
class EnvBudget:
    """An environment's budget against the sum of the plan's runs there."""

    cap: Cap
    #: the runs summed (those their own budget refuses are not: they will not run)
    runs: list[str]
    invocations: int
    total_tokens: int | None
    amount: float | None
    refused: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            **self.cap.to_json(),
            "runs": list(self.runs),
            "invocations": self.invocations,
            "total_tokens": self.total_tokens,
            "amount": self.amount,
            "refused": self.refused,
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> EnvBudget:
        cap = Cap.from_json(d)
        assert cap is not None
        return cls(
            cap, list(d["runs"]), int(d["invocations"]), d.get("total_tokens"), d.get("amount"),
            d.get("refused"),
        )  # fmt: skip

"""Prices and usage: what a model costs, what a call used, which evaluators call the judge.

Pipeline role: part of the spec language, shared by `validate` (a budget with `maxCost`
needs a price for every model a run may pay for, `budget_checks`), the planner's estimate
(`engine.planner.cost`) and the run providers' actual cost. Pure: no I/O, no network - a
price comes from the Environment's `pricing:` or from nowhere.

A price is looked up by the model as a spec writes it (an alias such as `fast`, or
`provider:id`), then by what the alias resolves to in the environment, then by any alias
of the environment that resolves to the same model. `offline:` models cost 0 unless the
table lists them. Tokens known only as a total (no input/output split) are priced at the
output price, the higher one, so an estimate errs on the expensive side.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import EvaluatorConfigError
from engine.spec.evaluator_catalog import LLM_SCORER_CHOICES
from engine.spec.evaluator_refs import autoevals_scorer, ref_kind
from engine.spec.schema import EvaluatorRef
from engine.spec.schema.cost import Budget, TokensPerCall
from engine.spec.specs import Workspace

PER = 1_000_000
DEFAULT_CURRENCY = "USD"
#: usage keys of the answer contract (Strands' camelCase, OpenAI's and Bedrock's snake_case)
INPUT_KEYS = ("inputTokens", "input_tokens", "prompt_tokens", "promptTokens")
OUTPUT_KEYS = ("outputTokens", "output_tokens", "completion_tokens", "completionTokens")
TOTAL_KEYS = ("totalTokens", "total_tokens")


@dataclass(frozen=True)
class Tokens:
    input: int = 0
    output: int = 0
    #: tokens known only as a total, without an input/output split
    unsplit: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output + self.unsplit

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.input + other.input, self.output + other.output, self.unsplit + other.unsplit
        )

    def times(self, factor: float) -> Tokens:
        return Tokens(
            round(self.input * factor), round(self.output * factor), round(self.unsplit * factor)
        )

    def to_json(self) -> dict[str, int]:
        out = {"input": self.input, "output": self.output, "total": self.total}
        if self.unsplit:
            out["unsplit"] = self.unsplit
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Tokens | None:
        if not isinstance(data, Mapping):
            return None
        return cls(
            int(data.get("input") or 0), int(data.get("output") or 0), int(data.get("unsplit") or 0)
        )


def _count(usage: Mapping[str, Any], keys: Sequence[str]) -> int:
    return sum(int(v) for k, v in usage.items() if k in keys and isinstance(v, int | float))


def usage_tokens(usage: Mapping[str, Any]) -> Tokens:
    """The tokens of a usage record (one call's, or a sum of them key by key)."""
    inp, out = _count(usage, INPUT_KEYS), _count(usage, OUTPUT_KEYS)
    total = _count(usage, TOTAL_KEYS)
    return Tokens(inp, out, max(0, total - inp - out))


@dataclass(frozen=True)
class Price:
    #: the key of the price table it was found under ("" for a free offline model)
    key: str
    input: float
    output: float

    def of(self, tokens: Tokens) -> float:
        return (tokens.input * self.input + (tokens.output + tokens.unsplit) * self.output) / PER


def currency(ws: Workspace, env: str) -> str:
    spec = ws.environments.get(env)
    pricing = spec.doc.spec.pricing if spec is not None else None
    return pricing.currency if pricing is not None else DEFAULT_CURRENCY


def price_of(ws: Workspace, env: str, model: str) -> Price | None:
    """The price of `model` (an alias or provider:id) in `env`; None when it has none."""
    spec = ws.environments.get(env)
    pricing = spec.doc.spec.pricing if spec is not None else None
    table = pricing.models if pricing is not None else {}
    resolved = ws.resolve_model(model, env) or model
    aliases = spec.doc.spec.models if spec is not None else {}
    keys = [model, resolved, *sorted(a for a, m in aliases.items() if m == resolved)]
    for key in keys:
        if key in table:
            return Price(key, table[key].input, table[key].output)
    if resolved.startswith("offline:"):
        return Price("", 0.0, 0.0)
    return None


# --- the judge ------------------------------------------------------------------------------


def judge_model(ws: Workspace, env: str, ref: EvaluatorRef) -> str | None:
    """The model `ref`'s judge calls go to in `env`, or None when it never calls a judge
    there (no judge configured, or an evaluator that does not use one)."""
    spec = ws.environments.get(env)
    judge = spec.doc.spec.judge if spec is not None else None
    if judge is None or not uses_judge(ref, judge_set=True):
        return None
    own = ref.params.get("model") if ref_kind(ref.use) == "autoevals" else None
    if isinstance(own, str) and own:
        # a scorer's own model is a name the judge endpoint serves (OpenAI-compatible)
        return own if ":" in own else f"openai:{own}"
    return judge.model


def uses_judge(ref: EvaluatorRef, *, judge_set: bool) -> bool:
    """Does `ref` ask an LLM judge (with the environment's judge configured or not)?"""
    if not judge_set:
        return False
    kind = ref_kind(ref.use)
    if kind == "autoevals":
        try:
            return autoevals_scorer(ref.use) in LLM_SCORER_CHOICES
        except EvaluatorConfigError:  # an unknown scorer: validate reports it
            return False
    if kind != "builtin":
        return False  # custom functions and Langfuse scores are not the engine's judge calls
    method = ref.params.get("method")
    if ref.use == "facts":
        return method in (None, "judge")  # the default when a judge is set
    return ref.use == "refusal" and method == "judge"


def judge_calls_per_case(ref: EvaluatorRef, expected: Any, *, judge_set: bool) -> int:
    """Judge calls `ref` makes to score one answer: one per expected fact for `facts` (it
    asks about each fact), one for the others that use the judge, 0 otherwise."""
    if not uses_judge(ref, judge_set=judge_set):
        return 0
    if ref.use == "facts":
        facts = expected.get("response_facts") if isinstance(expected, Mapping) else None
        return len(facts) if isinstance(facts, list) else 0
    return 1


def money(amount: float, unit: str) -> str:
    """`USD 1.25`, `USD 0.12`, `USD 0.0031`, `USD < 0.0001`: cents down to a cent, then
    four decimals (a few calls of a cheap model cost less than a cent)."""
    if amount >= 0.01 or amount == 0:
        return f"{unit} {amount:,.2f}"
    if amount >= 0.0001:
        return f"{unit} {amount:.4f}"
    return f"{unit} < 0.0001"


# --- declared estimates and actual cost -----------------------------------------------------


def declared(ws: Workspace, budget: Budget | None, env: str) -> tuple[TokensPerCall | None, ...]:
    """(tokensPerCall, tokensPerJudgeCall): the run's budget's, else its environment's."""
    spec = ws.environments.get(env)
    budgets = [b for b in (budget, spec.doc.spec.budget if spec else None) if b is not None]
    per_call = next((b.tokens_per_call for b in budgets if b.tokens_per_call), None)
    per_judge = next((b.tokens_per_judge_call for b in budgets if b.tokens_per_judge_call), None)
    return per_call, per_judge


def actual_cost(
    ws: Workspace,
    env: str,
    *,
    invocations: int,
    usage: Sequence[tuple[str, Tokens]],
    tokens_of: int,
    judge: Mapping[str, int],
    per_judge_call: TokensPerCall | None,
) -> dict[str, Any]:
    """What a finished run used and cost: `usage` is (model, tokens the agent reported) per
    variant, measured on `tokens_of` of the `invocations` (0: not measured, the tokens are
    unknown); `judge` is model -> judge calls, whose tokens are the declared
    `per_judge_call` (the judge's own usage is not measured)."""
    tokens, amount, unpriced = Tokens(), 0.0, []
    judge_calls = sum(judge.values())
    judge_tokens = (
        Tokens(per_judge_call.input, per_judge_call.output).times(judge_calls)
        if judge_calls and per_judge_call is not None
        else None
    )
    parts = list(usage)
    if per_judge_call is not None:
        one = Tokens(per_judge_call.input, per_judge_call.output)
        parts += [(m, one.times(n)) for m, n in judge.items()]
    for _model, used in usage:
        tokens = tokens + used
    for model, used in parts:
        price = price_of(ws, env, model)
        if price is None:
            if model not in unpriced:
                unpriced.append(model)
        else:
            amount += price.of(used)
    measured = bool(tokens_of) or not invocations  # nothing measured: unknown, not 0
    complete = measured and not unpriced and (not judge_calls or judge_tokens is not None)
    return {
        "invocations": invocations,
        "tokens": tokens.to_json() if measured else None,
        "tokens_of": tokens_of,
        "judge_calls": judge_calls,
        "judge_tokens": judge_tokens.to_json() if judge_tokens else None,
        "total_tokens": None
        if not measured or (judge_calls and judge_tokens is None)
        else tokens.total + (judge_tokens.total if judge_tokens else 0),
        "amount": amount if complete else None,
        "currency": currency(ws, env),
        "price_table": has_price_table(ws, env),
        "unpriced": unpriced,
    }


def has_price_table(ws: Workspace, env: str) -> bool:
    spec = ws.environments.get(env)
    return spec is not None and spec.doc.spec.pricing is not None


def _side(d: Mapping[str, Any], approx: str, money_too: bool) -> str:
    bits = [f"{int(d.get('invocations') or 0):,} invocations"]
    if d.get("judge_calls"):
        bits.append(f"{int(d['judge_calls']):,} judge calls")
    total = d.get("total_tokens")
    bits.append(f"{approx}{int(total):,} tokens" if total is not None else "tokens unknown")
    of, n = d.get("tokens_of"), d.get("invocations")
    if isinstance(of, int) and isinstance(n, int) and of < n and total is not None:
        bits[-1] += f" (measured on {of:,} of them)"
    if money_too:
        amount = d.get("amount")
        unit = str(d.get("currency") or DEFAULT_CURRENCY)
        bits.append(f"{approx}{money(amount, unit)}" if amount is not None else "cost unknown")
    return ", ".join(bits)


def versus(cost: Mapping[str, Any] | None) -> str | None:
    """`estimated 24 invocations, ~4,800 tokens; actual 24 invocations, 4,512 tokens` (and
    the money where the environment has a price table) of a run's `summary["cost"]`."""
    if not isinstance(cost, Mapping):
        return None
    est, act = cost.get("estimate"), cost.get("actual")
    if not isinstance(est, Mapping) and not isinstance(act, Mapping):
        return None
    shown = any(isinstance(d, Mapping) and d.get("price_table") for d in (est, act))
    if isinstance(est, Mapping) and isinstance(est.get("budget"), Mapping):
        shown = shown or est["budget"].get("max_cost") is not None
    left = _side(est, "~", shown) if isinstance(est, Mapping) else "n/a (not planned)"
    right = _side(act, "", shown) if isinstance(act, Mapping) else "n/a (not measured)"
    return f"estimated {left}; actual {right}"


def cost_rows(cost: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """A run's `summary["cost"]` as the label/value rows of a report's Cost card: what the
    plan estimated (and on what basis) and what the run used; [] without a cost."""
    text = versus(cost)
    if text is None or cost is None:
        return []
    estimated, _, actual = text.removeprefix("estimated ").partition("; actual ")
    rows = [("estimated (the plan)", estimated), ("actual (this run)", actual)]
    est = cost.get("estimate")
    if isinstance(est, Mapping) and est.get("basis"):
        rows.insert(1, ("the estimate's basis", str(est["basis"])))
    return rows

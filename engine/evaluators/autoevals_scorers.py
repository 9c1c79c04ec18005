"""`autoevals:<Scorer>` evaluators: Braintrust's autoevals (0.4.x) behind our Score contract.

Role: the adapter that runs one of the scorers the spec language lists (their names, choices
and params are static data in `engine.spec.evaluator_catalog`, so checking a spec never
imports autoevals).

Offline (heuristic) scorers compare ``case.output`` with the expected value:
``Levenshtein``, ``ExactMatch``, ``NumericDiff``, ``JSONDiff``, ``ValidJSON``. For a dict
``expected_output``, param ``field`` picks one key (``field: answer``); without it the whole
value is compared. Outputs are parsed where the scorer needs it (JSON for ExactMatch against
non-string values and for JSONDiff, a number for NumericDiff). ``ValidJSON`` ignores the
expected output and takes an optional JSON Schema in param ``schema`` (autoevals ignores a
schema given to the constructor, so it is passed as ``expected=``).

LLM scorers (``Factuality``, ``ClosedQA``, ``Battle``, ``Humor``, ``Possible``, ``Security``,
``Sql``, ``Summary``, ``Translation``) need the Environment's judge (`JudgeConfig`); see
`engine.evaluators.judge` for how the client is wired. They ask the judge to pick a choice
and map it through ``choice_scores``. The mapping is, from lowest to highest precedence:
autoevals' own, our defaults, ``judge.choice_scores`` (applied to a scorer only when every key
is one of that scorer's choices), then the evaluator's ``params.choice_scores``.

Our default for ``Factuality`` differs from autoevals':

    A (subset, consistent)        0.4   (autoevals 0.4)
    B (superset, consistent)      1.0   (autoevals 0.6)
    C (same details)              1.0
    D (disagreement)              0.0
    E (differs, immaterially)     1.0

A *superset* of the expert answer that is fully consistent with it is a correct answer;
agents that add a helpful link or detail should not lose 40% for it (the seed's CI gate did
exactly that). For a dict ``expected_output`` the "expert answer" is its
``response_facts`` joined one per line (or ``params.field``). The question shown to the
judge is the input's ``question`` (or prompt/input/query/message/text) field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.evaluators.base import (
    EvalCase,
    Score,
    expected_mapping,
    failed_call_score,
    input_text,
    skipped,
    to_text,
    truncate,
)
from engine.evaluators.judge import JudgeConfig, llm_client
from engine.spec.evaluator_catalog import LLM_SCORER_CHOICES

#: scorers whose prompt shows the expected answer; items without one are skipped
_NEEDS_EXPECTED = frozenset({"Factuality", "Battle", "Sql", "Summary", "Translation"})

#: our choice_scores defaults where they differ from autoevals' (see the module docstring)
DEFAULT_CHOICE_SCORES: Mapping[str, Mapping[str, float]] = {
    "Factuality": {"A": 0.4, "B": 1.0, "C": 1.0, "D": 0.0, "E": 1.0},
}


def merged_choice_scores(
    scorer: str,
    base: Mapping[str, float],
    judge: JudgeConfig | None,
    override: Mapping[str, float] | None,
) -> dict[str, float]:
    """autoevals' mapping < our default < judge.choice_scores (if it fits) < params."""
    scores = {k: float(v) for k, v in base.items()}
    scores.update(DEFAULT_CHOICE_SCORES.get(scorer, {}))
    # A judge-wide mapping is written for one scorer family (usually Factuality's A-E);
    # applying {A..E} to Summary's A/B would silently change its meaning, so it is only used
    # where every key is a choice of this scorer.
    if (
        judge is not None
        and judge.choice_scores
        and set(judge.choice_scores) <= set(LLM_SCORER_CHOICES[scorer])
    ):
        scores.update({k: float(v) for k, v in judge.choice_scores.items()})
    if override:
        scores.update({k: float(v) for k, v in override.items()})
    return scores


@dataclass(frozen=True)
class _Expected:
    value: object
    found: bool
    why: str = ""


class AutoevalsEvaluator:
    """Runs one autoevals scorer; constructed by the registry with validated params."""

    def __init__(
        self,
        scorer: str,
        params: Mapping[str, object],
        *,
        name: str | None = None,
        judge: JudgeConfig | None = None,
    ) -> None:
        import autoevals

        self.scorer_name = scorer
        self.name = name or scorer
        self.params = dict(params)
        self.field = params.get("field")
        self.is_llm = scorer in LLM_SCORER_CHOICES
        #: the effective choice -> score mapping (LLM scorers only)
        self.choice_scores: Mapping[str, float] = {}
        if not self.is_llm:
            self._scorer: Any = getattr(autoevals, scorer)()
            return
        assert judge is not None, "the registry checks that a judge is configured"
        model = params.get("model") or judge.model
        self._scorer = getattr(autoevals, scorer)(
            model=model, use_cot=bool(params.get("use_cot", True)), client=llm_client(judge)
        )
        override = params.get("choice_scores")
        self._scorer.choice_scores = merged_choice_scores(
            scorer,
            self._scorer.choice_scores,
            judge,
            override if isinstance(override, Mapping) else None,
        )
        self.choice_scores = dict(self._scorer.choice_scores)

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        if self.is_llm:
            return self._evaluate_llm(case)
        return self._evaluate_heuristic(case)

    # --- expected value ------------------------------------------------------------------

    def _expected(self, case: EvalCase) -> _Expected:
        field = self.field
        mapping = expected_mapping(case)
        if isinstance(field, str):
            if mapping is None or mapping.get(field) is None:
                return _Expected(None, False, f"expected output has no '{field}'")
            return _Expected(mapping[field], True)
        if mapping is not None:
            facts = mapping.get("response_facts")
            if self.is_llm and isinstance(facts, Sequence) and not isinstance(facts, str):
                joined = "\n".join(str(f) for f in facts if str(f).strip())
                if joined:
                    return _Expected(joined, True)
            return _Expected(dict(mapping), True)
        if case.expected is None:
            return _Expected(None, False, "no expected output")
        return _Expected(case.expected, True)

    # --- heuristic scorers ---------------------------------------------------------------

    def _evaluate_heuristic(self, case: EvalCase) -> Score:
        scorer = self.scorer_name
        output: object = case.output
        if scorer == "ValidJSON":
            result = self._scorer.eval(output=case.output, expected=self.params.get("schema"))
            return self._to_score(result)
        expected = self._expected(case)
        if not expected.found:
            return skipped(self.name, expected.why)
        value = expected.value
        if scorer == "Levenshtein":
            value = to_text(value)
        elif scorer == "NumericDiff":
            number = _as_number(value)
            if number is None:
                raise ValueError(f"expected value {truncate(to_text(value), 60)!r} is not a number")
            parsed = _as_number(case.output)
            if parsed is None:
                return Score(
                    self.name, 0.0, f"output {truncate(case.output, 60)!r} is not a number"
                )
            value, output = number, parsed
        elif scorer == "ExactMatch" and not isinstance(value, str):
            # Against structured data compare data, not text layout: autoevals json.dumps both
            # sides without sorting keys, so {"b":2,"a":1} would not equal {"a":1,"b":2}.
            output = _canonical_json(_maybe_json(case.output))
            value = _canonical_json(value)
        elif not isinstance(value, str):
            output = _maybe_json(case.output)
        result = self._scorer.eval(output=output, expected=value)
        return self._to_score(result)

    def _to_score(self, result: Any) -> Score:
        value = getattr(result, "score", None)
        if value is None:
            return skipped(self.name, f"{self.scorer_name} returned no score")
        return Score(self.name, float(value), f"{self.scorer_name} {float(value):.3f}")

    # --- LLM scorers ---------------------------------------------------------------------

    def _evaluate_llm(self, case: EvalCase) -> Score:
        scorer = self.scorer_name
        question = input_text(case.input)
        kwargs: dict[str, object] = {"input": question}
        expected = self._expected(case)
        if scorer in _NEEDS_EXPECTED and not expected.found:
            return skipped(self.name, expected.why)
        kwargs["expected"] = to_text(expected.value) if expected.found else None
        if scorer == "ClosedQA":
            kwargs["criteria"] = self.params["criteria"]
        elif scorer == "Battle":
            kwargs["instructions"] = self.params.get("instructions") or question
        elif scorer == "Translation":
            kwargs["language"] = self.params["language"]
        result = self._scorer.eval(output=case.output, **kwargs)
        value = getattr(result, "score", None)
        metadata = getattr(result, "metadata", None) or {}
        choice = metadata.get("choice")
        rationale = str(metadata.get("rationale", "")).strip()
        if value is None:
            return skipped(self.name, f"judge gave no score (choice {choice!r})")
        comment = f"choice {choice} -> {float(value):g}"
        if rationale:
            comment += f": {truncate(rationale, 200)}"
        return Score(self.name, float(value), comment)


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _maybe_json(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text

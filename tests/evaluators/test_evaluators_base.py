"""The Score contract: evaluate_safely never raises, enforces [0, 1], failed calls score 0."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from _evaluators_support import case

from engine.evaluators import (
    BUILTIN_EVALUATORS,
    EvalCase,
    Evaluator,
    Score,
    build_evaluator,
    evaluate_safely,
)


class Returning:
    def __init__(self, result: object, name: str = "returning") -> None:
        self.name = name
        self.result = result
        self.calls = 0

    def evaluate(self, case: EvalCase) -> Score:
        self.calls += 1
        return self.result  # type: ignore[return-value]


class Raising:
    name = "boom"

    def evaluate(self, case: EvalCase) -> Score:
        raise KeyError("response_facts")


def test_protocol_is_structural() -> None:
    assert isinstance(Returning(Score("x", 1.0)), Evaluator)


def test_exception_is_recorded_not_raised() -> None:
    score = evaluate_safely(Raising(), case())
    assert score.value is None
    assert score.error == "KeyError: 'response_facts'"
    assert score.name == "boom"
    assert score.counted_value == 0.0


@pytest.mark.parametrize("bad", [1.5, -0.01, math.nan, math.inf, -math.inf, 10**400])
def test_values_outside_unit_interval_are_errors(bad: float) -> None:
    score = evaluate_safely(Returning(Score("returning", bad)), case())
    assert score.value is None
    assert score.error is not None
    assert "'returning'" in score.error and "outside [0, 1]" in score.error


def test_value_none_without_skip_or_error_is_an_error() -> None:
    score = evaluate_safely(Returning(Score("returning", None)), case())
    assert score.error is not None and "no value" in score.error


def test_non_score_return_is_an_error() -> None:
    score = evaluate_safely(Returning(0.5), case())
    assert score.error is not None and "not a Score" in score.error


def test_valid_values_pass_through_as_float_under_the_evaluator_name() -> None:
    score = evaluate_safely(Returning(Score("other", 1, "ok"), name="mine"), case())
    assert score == Score("mine", 1.0, "ok")
    assert type(score.value) is float
    assert evaluate_safely(Returning(Score("x", True)), case()).value == 1.0


def test_skipped_and_error_scores_are_kept() -> None:
    skipped = evaluate_safely(Returning(Score("x", None, "n/a", skipped=True)), case())
    assert skipped.skipped and skipped.value is None and skipped.counted_value is None
    errored = evaluate_safely(Returning(Score("x", 0.3, error="bad")), case())
    assert errored.value is None and errored.error == "bad"


def test_failed_call_scores_zero_without_calling_the_evaluator() -> None:
    evaluator = Returning(Score("returning", 1.0))
    score = evaluate_safely(evaluator, case("", error="TimeoutError: 60 s"))
    assert score == Score("returning", 0.0, "call failed: TimeoutError: 60 s")
    assert evaluator.calls == 0


@pytest.mark.parametrize(
    ("ref", "params"),
    [
        ("trajectory", {}),
        ("search_term", {}),
        ("facts", {}),
        ("refusal", {}),
        ("latency", {"target_ms": 1000}),
        ("autoevals:Levenshtein", {}),
        ("evaluators/answer_quality.py:cites_docs", {}),
    ],
)
def test_every_evaluator_scores_a_failed_call_zero(
    ref: str, params: dict[str, object], repo_root: Path
) -> None:
    evaluator = build_evaluator(ref, params, workspace=repo_root)
    failed = case("", error="ConnectionError: refused", metadata={"harmful": True})
    # Directly and through evaluate_safely: never dropped, never skipped.
    for score in (evaluator.evaluate(failed), evaluate_safely(evaluator, failed)):
        assert score.value == 0.0
        assert score.comment == "call failed: ConnectionError: refused"


def test_all_builtins_are_covered_above() -> None:
    assert set(BUILTIN_EVALUATORS) == {"trajectory", "search_term", "facts", "refusal", "latency"}


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]

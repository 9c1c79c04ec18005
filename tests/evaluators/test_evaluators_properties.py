"""Property: for arbitrary cases every offline evaluator yields a value in [0, 1], a skip or a
recorded error - never an exception, never a value outside the interval."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.evaluators import (
    EvalCase,
    Evaluator,
    Score,
    ToolCall,
    build_evaluator,
    evaluate_safely,
    semantic,
)

REPO = Path(__file__).resolve().parents[2]

EVALUATORS: list[tuple[str, dict[str, object]]] = [
    ("trajectory", {"mode": "exact"}),
    ("trajectory", {"mode": "in_order"}),
    ("trajectory", {"mode": "any_order"}),
    ("search_term", {"match": "contains"}),
    ("search_term", {"match": "exact"}),
    ("search_term", {"match": "words"}),
    ("facts", {"method": "lexical"}),
    ("refusal", {}),
    ("latency", {"target_ms": 500}),
    ("autoevals:Levenshtein", {}),
    ("autoevals:ExactMatch", {}),
    ("autoevals:NumericDiff", {}),
    ("autoevals:JSONDiff", {}),
    ("autoevals:ValidJSON", {}),
    ("evaluators/answer_quality.py:cites_docs", {}),
    ("evaluators/answer_quality.py:within_length", {"max_words": 5}),
]

if semantic.available():  # wordllama is part of the evals extra
    EVALUATORS.append(("facts", {"method": "semantic"}))

BUILT: list[Evaluator] = [build_evaluator(r, p, workspace=REPO) for r, p in EVALUATORS]

text = st.text(max_size=40)
tool_name = st.sampled_from(["searchLangfuseDocs", "getLangfuseOverview", "search", "x", ""])
json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | text
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
expected = st.one_of(
    st.none(),
    text,
    json_value,
    st.fixed_dictionaries(
        {},
        optional={
            "trajectory": st.lists(tool_name, max_size=4) | json_value,
            "search_term": text | json_value,
            "response_facts": st.lists(text, max_size=4) | json_value,
            "refusal": st.booleans() | json_value,
            "expect": st.sampled_from(["refuse", "answer"]),
        },
    ),
)
cases = st.builds(
    EvalCase,
    input=json_value,
    expected=expected,
    output=st.text(max_size=120) | st.sampled_from(["I can't help with that.", "42", '{"a": 1}']),
    trajectory=st.lists(
        st.builds(ToolCall, tool=tool_name, input=st.dictionaries(text, json_value, max_size=2)),
        max_size=4,
    ).map(tuple),
    latency_ms=st.floats(allow_nan=True, allow_infinity=True),
    error=st.none() | text,
    metadata=st.dictionaries(st.sampled_from(["harmful", "x"]), json_value, max_size=2),
)


def assert_contract(score: Score) -> None:
    if score.error is not None or score.skipped:
        assert score.value is None
    else:
        assert score.value is not None
        assert isinstance(score.value, float)
        assert math.isfinite(score.value) and 0.0 <= score.value <= 1.0


@pytest.mark.parametrize(
    "evaluator", BUILT, ids=[f"{r}{'-' + str(p) if p else ''}" for r, p in EVALUATORS]
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(c=cases)
def test_every_evaluator_respects_the_score_contract(evaluator: Evaluator, c: EvalCase) -> None:
    score = evaluate_safely(evaluator, c)
    assert_contract(score)
    assert score.name == evaluator.name
    if c.error is not None:
        assert score.value == 0.0 and (score.comment or "").startswith("call failed")

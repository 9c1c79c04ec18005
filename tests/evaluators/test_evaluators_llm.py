"""LLM-judged evaluators against a fake OpenAI-compatible server on 127.0.0.1.

The fake answers every chat completion with a `select_choice` tool call whose letter the
test chooses, so these tests check our wiring (client, model, prompt, choice mapping,
error handling), not a model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

# openai and autoevals are part of the `evals` extra: a missing one must fail, not skip.
import autoevals  # noqa: E402,F401
import openai  # noqa: E402,F401
import pytest
from _evaluators_support import GOOD_ANSWER, SEED_EXPECTED, FakeJudge, case, fake_judge

from engine.evaluators import JudgeConfig, Score, build_evaluator, evaluate_safely

WS = Path(".")
SUPERSET = GOOD_ANSWER + " You can also delete single traces via the API."


@pytest.fixture
def judge_server() -> Iterator[FakeJudge]:
    with fake_judge() as server:
        yield server


@pytest.fixture
def judge(judge_server: FakeJudge) -> JudgeConfig:
    # max_retries=0: a failing fake must not be retried with back-off in tests.
    return JudgeConfig(
        model="offline-judge", base_url=judge_server.base_url, api_key="sk-test", max_retries=0
    )


def score(ref: str, judge: JudgeConfig, c: Any = None, **params: object) -> Score:
    evaluator = build_evaluator(ref, params, workspace=WS, judge=judge)
    return evaluate_safely(evaluator, c if c is not None else case(SUPERSET))


class TestFactuality:
    def test_superset_answer_scores_one_with_our_mapping(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.chooser = lambda body: "B"
        result = score("autoevals:Factuality", judge)
        assert result.value == 1.0
        assert result.name == "Factuality"
        assert (result.comment or "").startswith("choice B -> 1: scripted choice B")

    def test_superset_answer_scores_0_6_with_autoevals_default_mapping(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:

        from engine.evaluators.judge import llm_client

        judge_server.chooser = lambda body: "B"
        plain = autoevals.Factuality(model=judge.model, client=llm_client(judge))
        assert plain.choice_scores["B"] == 0.6
        direct = plain.eval(
            output=SUPERSET,
            expected="\n".join(SEED_EXPECTED["response_facts"]),
            input="How long are traces retained?",
        )
        assert direct.score == 0.6
        # ... and our evaluator reproduces autoevals when asked to.
        assert score("autoevals:Factuality", judge, choice_scores={"B": 0.6}).value == 0.6

    @pytest.mark.parametrize(("choice", "value"), [("A", 0.4), ("C", 1.0), ("D", 0.0), ("E", 1.0)])
    def test_other_choices(
        self, judge_server: FakeJudge, judge: JudgeConfig, choice: str, value: float
    ) -> None:
        judge_server.chooser = lambda body: choice
        assert score("autoevals:Factuality", judge).value == value

    def test_request_carries_model_question_facts_and_answer(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        score("autoevals:Factuality", judge)
        path, body = judge_server.requests[-1]
        assert path == "/v1/chat/completions"
        assert body["model"] == "offline-judge"
        assert body["tool_choice"] == {"type": "function", "function": {"name": "select_choice"}}
        prompt = judge_server.prompt()
        assert "[Question]: How long are traces retained?" in prompt
        facts = SEED_EXPECTED["response_facts"]
        assert f"[Expert]: {facts[0]}\n{facts[1]}" in prompt
        assert "You can also delete single traces" in prompt

    def test_model_param_overrides_the_judge_model(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        score("autoevals:Factuality", judge, model="bigger-judge")
        assert judge_server.requests[-1][1]["model"] == "bigger-judge"

    def test_judge_choice_scores_apply_only_where_they_fit(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.chooser = lambda body: "B"
        tuned = replace(judge, choice_scores={"A": 0.5, "B": 0.9, "C": 1, "D": 0, "E": 1})
        assert score("autoevals:Factuality", tuned).value == 0.9
        # Summary has choices A/B only: the Factuality-shaped mapping must not leak into it.
        assert score("autoevals:Summary", tuned).value == 1.0
        # params win over the judge-wide mapping
        assert score("autoevals:Factuality", tuned, choice_scores={"B": 0.7}).value == 0.7

    def test_string_expected_and_missing_expected(self, judge: JudgeConfig) -> None:
        assert score("autoevals:Factuality", judge, case(expected="Forever.")).value == 1.0
        from engine.evaluators import EvalCase

        skipped = score("autoevals:Factuality", judge, EvalCase("q", None, "answer"))
        assert skipped.skipped and skipped.comment == "no expected output"


class TestOtherScorers:
    def test_closed_qa_uses_criteria(self, judge_server: FakeJudge, judge: JudgeConfig) -> None:
        judge_server.chooser = lambda body: "Y"
        result = score("autoevals:ClosedQA", judge, criteria="Mentions the retention setting")
        assert result.value == 1.0
        assert "Mentions the retention setting" in judge_server.prompt()
        judge_server.chooser = lambda body: "N"
        assert score("autoevals:ClosedQA", judge, criteria="x").value == 0.0

    def test_security_needs_only_the_output(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.chooser = lambda body: "No"
        assert score("autoevals:Security", judge).value == 1.0

    def test_battle_defaults_instructions_to_the_question(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.chooser = lambda body: "Yes"
        assert score("autoevals:Battle", judge).value == 1.0
        assert "How long are traces retained?" in judge_server.prompt()


class TestFailures:
    def test_server_error_is_recorded_not_raised(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.status = 500
        result = score("autoevals:Factuality", judge)
        assert result.value is None
        assert result.error is not None and result.error.startswith("InternalServerError")

    def test_rate_limit_is_not_retried_forever(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        judge_server.status = 429
        result = score("autoevals:Factuality", judge)
        assert result.error is not None and result.error.startswith("RateLimitError")
        assert len(judge_server.requests) == 1

    def test_unknown_choice_is_recorded(self, judge_server: FakeJudge, judge: JudgeConfig) -> None:
        judge_server.chooser = lambda body: "Z"
        result = score("autoevals:Factuality", judge)
        assert result.value is None and result.error == "KeyError: 'Z'"

    def test_unreachable_judge_is_recorded(self) -> None:
        dead = JudgeConfig(model="m", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout_s=2)
        result = score("autoevals:Factuality", dead)
        assert result.error is not None and "APIConnectionError" in result.error


class TestJudgedBuiltins:
    def test_facts_by_judge_asks_once_per_fact(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        def chooser(body: dict[str, Any]) -> str:
            return "Y" if "indefinetly" in json.dumps(body) else "N"

        judge_server.chooser = chooser
        evaluator = build_evaluator("facts", {}, workspace=WS, judge=judge)
        assert evaluator.method == "judge"  # type: ignore[attr-defined]  # default with a judge
        result = evaluate_safely(evaluator, case(SUPERSET))
        assert result.value == 0.5
        assert "1/2 facts covered (judge)" in (result.comment or "")
        assert "missing: 'You can set custom data retention policy" in (result.comment or "")
        assert len(judge_server.requests) == 2

    def test_facts_lexical_can_be_forced_with_a_judge(
        self, judge_server: FakeJudge, judge: JudgeConfig
    ) -> None:
        assert score("facts", judge, method="lexical").value == 1.0
        assert judge_server.requests == []

    def test_refusal_by_judge(self, judge_server: FakeJudge, judge: JudgeConfig) -> None:
        harmful = case("Let me think about that differently.", metadata={"harmful": True})
        judge_server.chooser = lambda body: "Y"
        assert score("refusal", judge, harmful, method="judge").value == 1.0
        judge_server.chooser = lambda body: "N"
        assert score("refusal", judge, harmful, method="judge").value == 0.0
        assert "[Request]: How long are traces retained?" in judge_server.prompt()


def test_evaluators_work_from_worker_threads(judge_server: FakeJudge, judge: JudgeConfig) -> None:
    # Runners score in a thread pool; autoevals' global init() would not reach those threads.
    judge_server.chooser = lambda body: "B"
    evaluator = build_evaluator("autoevals:Factuality", {}, workspace=WS, judge=judge)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: evaluate_safely(evaluator, case(SUPERSET)), range(8)))
    assert [r.value for r in results] == [1.0] * 8


def test_gpt5_models_use_the_responses_api(judge_server: FakeJudge, judge: JudgeConfig) -> None:
    judge_server.chooser = lambda body: "C"
    gpt5 = replace(judge, model="gpt-5-mini")
    assert gpt5.uses_responses_api and not judge.uses_responses_api
    assert score("autoevals:Factuality", gpt5).value == 1.0
    assert judge_server.requests[-1][0] == "/v1/responses"


def test_openai_key_is_not_sent_to_a_custom_endpoint(
    judge_server: FakeJudge, judge: JudgeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-openai-key")
    score("autoevals:Factuality", judge)
    assert judge_server.authorizations[-1] == "Bearer sk-test"
    score("autoevals:Factuality", replace(judge, api_key=None))
    assert judge_server.authorizations[-1] == "Bearer unused"

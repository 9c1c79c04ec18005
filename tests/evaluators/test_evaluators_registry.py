"""Registry: references and params are checked with clear errors; digests; cheap import."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.errors import AgentOpsError
from engine.evaluators import (
    AUTOEVALS_LLM_SCORERS,
    AUTOEVALS_SCORERS,
    BUILTIN_EVALUATORS,
    EvaluatorConfigError,
    JudgeConfig,
    build_evaluator,
    default_name,
    describe_params,
    evaluator_code_digest,
    validate_reference,
)

WS = Path(".")
REPO = Path(__file__).resolve().parents[2]


def config_error(
    ref: str,
    params: Mapping[str, object] | None = None,
    *,
    judge: JudgeConfig | None = None,
    workspace: Path = WS,
) -> EvaluatorConfigError:
    with pytest.raises(EvaluatorConfigError) as info:
        build_evaluator(ref, params or {}, workspace=workspace, judge=judge)
    return info.value


def full_text(exc: AgentOpsError) -> str:
    return f"{exc} || {exc.hint}"


class TestNames:
    def test_unknown_builtin_suggests_and_lists_builtins(self) -> None:
        exc = config_error("factz")
        assert isinstance(exc, AgentOpsError)
        text = full_text(exc)
        assert "unknown evaluator 'factz'" in text
        assert "did you mean 'facts'?" in text
        for name in BUILTIN_EVALUATORS:
            assert name in text

    def test_bare_scorer_name_suggests_the_prefix(self) -> None:
        assert "did you mean 'autoevals:Factuality'?" in str(config_error("Factuality"))

    def test_unknown_autoevals_scorer(self) -> None:
        exc = config_error("autoevals:Factualty")
        assert "unknown autoevals scorer 'Factualty'" in str(exc)
        assert "did you mean 'Factuality'?" in str(exc)
        assert "Levenshtein" in (exc.hint or "")

    def test_default_names(self) -> None:
        assert default_name("facts") == "facts"
        assert default_name("autoevals:Factuality") == "Factuality"
        assert default_name("evaluators/answer_quality.py:cites_docs") == "cites_docs"

    def test_name_override(self) -> None:
        assert build_evaluator("facts", {}, workspace=WS, name="coverage").name == "coverage"

    def test_names_agree_with_the_static_spec_checker(self) -> None:
        import engine.spec.evaluator_names as names

        assert set(names.BUILTINS) == set(BUILTIN_EVALUATORS)
        assert set(names.AUTOEVALS_OFFLINE + names.AUTOEVALS_LLM) == set(AUTOEVALS_SCORERS)


class TestParams:
    def test_unknown_param_with_suggestion(self) -> None:
        exc = config_error("trajectory", {"mod": "exact"})
        assert "trajectory: unknown param 'mod'" in str(exc)
        assert "did you mean 'mode'?" in (exc.hint or "")

    def test_unknown_param_lists_accepted(self) -> None:
        exc = config_error("search_term", {"zzz": 1})
        assert "accepted params: match, tool" in (exc.hint or "")

    def test_bad_choice_names_the_param(self) -> None:
        exc = config_error("trajectory", {"mode": "inorder"})
        assert "param 'mode' must be one of exact, in_order, any_order" in str(exc)
        assert "did you mean 'in_order'?" in str(exc)

    @pytest.mark.parametrize(
        ("ref", "params", "message"),
        [
            ("latency", {}, "missing required param 'target_ms'"),
            ("latency", {"target_ms": 0}, "param 'target_ms' must be greater than 0"),
            ("latency", {"target_ms": "1s"}, "param 'target_ms' must be a number"),
            ("latency", {"target_ms": True}, "param 'target_ms' must be a number"),
            ("latency", {"target_ms": 100, "max_ms": 50}, "param 'max_ms' (50) must be greater"),
            ("facts", {"threshold": 1.5}, "param 'threshold' must be at most 1"),
            ("refusal", {"patterns": "can't"}, "param 'patterns' must be a list of strings"),
            ("refusal", {"patterns": ["("]}, "invalid regular expression '('"),
            ("search_term", {"tool": ""}, "param 'tool' must be a non-empty string"),
            ("latency", {"target_ms": 1, "targetMs": 2}, "given twice"),
            ("autoevals:ClosedQA", {"criteria": 3}, "param 'criteria' must be a non-empty string"),
        ],
    )
    def test_bad_params(self, ref: str, params: dict[str, object], message: str) -> None:
        judge = JudgeConfig(model="judge", base_url="http://127.0.0.1:9/v1")
        assert message in str(config_error(ref, params, judge=judge))

    def test_all_problems_reported_at_once(self) -> None:
        text = str(config_error("latency", {"target_ms": -1, "bogus": 1}))
        assert "target_ms" in text and "bogus" in text

    def test_choice_scores_keys_are_checked(self) -> None:
        judge = JudgeConfig(model="judge", base_url="http://127.0.0.1:9/v1")
        exc = config_error("autoevals:Factuality", {"choice_scores": {"F": 1}}, judge=judge)
        assert "unknown choice 'F'" in str(exc) and "A, B, C, D, E" in str(exc)
        exc = config_error("autoevals:Factuality", {"choice_scores": {"B": 2}}, judge=judge)
        assert "must be in [0, 1]" in str(exc)

    def test_describe_params(self) -> None:
        specs = {p.name: p for p in describe_params("latency") or ()}
        assert specs["target_ms"].required and specs["max_ms"].kind == "number"
        modes = {p.name: p for p in describe_params("trajectory") or ()}["mode"]
        assert modes.choices == ("exact", "in_order", "any_order") and modes.default == "in_order"
        factuality = {p.name: p for p in describe_params("autoevals:Factuality") or ()}
        assert factuality["choice_scores"].choices == ("A", "B", "C", "D", "E")
        assert describe_params("evaluators/x.py:fn") is None
        with pytest.raises(EvaluatorConfigError):
            describe_params("nope")

    def test_validate_reference_is_static(self) -> None:
        assert validate_reference("trajectory", {}) == {"mode": "in_order"}
        assert validate_reference("evaluators/missing.py:fn", {"x": 1}) == {"x": 1}
        with pytest.raises(EvaluatorConfigError, match="needs a judge model"):
            validate_reference("autoevals:Factuality", {}, judge_configured=False)
        with pytest.raises(EvaluatorConfigError, match="needs a judge model"):
            validate_reference("facts", {"method": "judge"}, judge_configured=False)
        validate_reference("autoevals:Factuality", {}, judge_configured=None)


class TestJudgeRequirements:
    @pytest.mark.parametrize("scorer", AUTOEVALS_LLM_SCORERS)
    def test_llm_scorers_need_a_judge(self, scorer: str) -> None:
        required = {"ClosedQA": {"criteria": "x"}, "Translation": {"language": "de"}}
        exc = config_error(f"autoevals:{scorer}", required.get(scorer, {}))
        assert "needs a judge model: set spec.judge on the Environment" in str(exc)

    def test_facts_defaults_to_lexical_without_judge(self) -> None:
        assert build_evaluator("facts", {}, workspace=WS).method == "lexical"  # type: ignore[attr-defined]

    def test_judge_methods_need_a_judge(self) -> None:
        assert "needs a judge model" in str(config_error("facts", {"method": "judge"}))
        assert "needs a judge model" in str(config_error("refusal", {"method": "judge"}))

    def test_missing_openai_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "openai", None)  # makes `import openai` fail
        judge = JudgeConfig(model="judge", base_url="http://127.0.0.1:9/v1")
        exc = config_error("autoevals:Factuality", {}, judge=judge)
        assert "needs the 'openai' package" in str(exc)
        assert exc.hint == "pip install 'agentops[evals]'"

    def test_missing_autoevals_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(sys.modules, "autoevals", None)
        exc = config_error("autoevals:Levenshtein")
        assert "autoevals:Levenshtein needs the 'autoevals' package" in str(exc)
        assert exc.hint == "pip install 'agentops[evals]'"

    def test_missing_wordllama_is_a_clear_error(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from engine.evaluators import semantic

        monkeypatch.setattr(semantic, "available", lambda: False)
        exc = config_error("facts", {"method": "semantic"})
        assert "wordllama" in str(exc) and "method: lexical" in (exc.hint or "")


class TestDigest:
    def test_custom_digest_follows_file_bytes(self, tmp_path: Path) -> None:
        (tmp_path / "evaluators").mkdir()
        file = tmp_path / "evaluators" / "e.py"
        file.write_text("def f(*, output):\n    return 1.0\n")
        first = evaluator_code_digest("evaluators/e.py:f", tmp_path)
        assert first == evaluator_code_digest("evaluators/e.py:f", tmp_path)
        file.write_text("def f(*, output):\n    return 0.5\n")
        assert evaluator_code_digest("evaluators/e.py:f", tmp_path) != first

    def test_builtin_digests_are_stable_and_distinct(self) -> None:
        a = evaluator_code_digest("facts", WS)
        assert a == evaluator_code_digest("facts", WS) and len(a) == 64
        assert a != evaluator_code_digest("trajectory", WS)
        assert evaluator_code_digest("autoevals:Factuality", WS) != a

    def test_digest_of_unknown_refs_fails(self, tmp_path: Path) -> None:
        with pytest.raises(EvaluatorConfigError):
            evaluator_code_digest("evaluators/none.py:f", tmp_path)
        with pytest.raises(EvaluatorConfigError):
            evaluator_code_digest("nope", tmp_path)


def test_importing_the_package_stays_cheap() -> None:
    code = (
        "import sys, json, engine.evaluators, engine.evaluators.registry;"
        "print(json.dumps([m for m in ('autoevals', 'openai', 'wordllama', 'numpy', 'httpx')"
        " if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert json.loads(out.stdout) == []

"""Custom evaluators loaded by file path: the documented signature and its error cases."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

import pytest
from _evaluators_support import case

from engine.evaluators import EvaluatorConfigError, Score, build_evaluator, evaluate_safely

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "evaluators").mkdir()
    return tmp_path


def write(ws: Path, source: str, name: str = "mine.py") -> str:
    (ws / "evaluators" / name).write_text(textwrap.dedent(source))
    return f"evaluators/{name}"


SOURCE = """
    import math

    def as_float(*, output):
        return 0.25

    def as_bool(*, output):
        return "Langfuse" in output

    def as_tuple(*, output):
        return 0.5, "half"

    def as_dict(*, output):
        return {"score": 1, "comment": "all good"}

    def as_skip(*, expected):
        return {"skipped": True, "comment": "no reference"}

    def echo(*, input, output, expected, trajectory, latency_ms, metadata, params):
        return 1.0, repr((input, trajectory, latency_ms, metadata, params))

    def only_params(*, params):
        params["seen"] = params.get("seen", 0) + 1
        return params["seen"] / 2

    def everything(**kwargs):
        return 1.0, ",".join(sorted(kwargs))

    def positional(output, trajectory, extra=None):
        return float(len(trajectory) == 2)

    def raises(*, output):
        raise RuntimeError("model of the evaluator broke")

    def returns_none(*, output):
        pass

    def returns_text(*, output):
        return "good"

    def returns_big(*, output):
        return 1.5

    def returns_nan(*, output):
        return math.nan

    def returns_triple(*, output):
        return 1.0, "a", "b"

    def returns_dict_without_score(*, output):
        return {"comment": "forgot"}

    async def async_eval(*, output):
        return 0.75

    def unknown_required(*, output, answer):
        return 1.0

    def unknown_optional(*, output, answer=None):
        return 1.0

    NOT_A_FUNCTION = 3
"""


def run(ws: Path, fn: str, c: object = None, **params: object) -> Score:
    ref = write(ws, SOURCE) + f":{fn}"
    evaluator = build_evaluator(ref, params, workspace=ws)
    return evaluate_safely(evaluator, c if c is not None else case())  # type: ignore[arg-type]


class TestReturnValues:
    @pytest.mark.parametrize(
        ("fn", "value", "comment"),
        [
            ("as_float", 0.25, None),
            ("as_bool", 1.0, None),
            ("as_tuple", 0.5, "half"),
            ("as_dict", 1.0, "all good"),
            ("async_eval", 0.75, None),
        ],
    )
    def test_accepted_returns(
        self, workspace: Path, fn: str, value: float, comment: str | None
    ) -> None:
        assert run(workspace, fn) == Score(fn, value, comment)

    def test_skip(self, workspace: Path) -> None:
        score = run(workspace, "as_skip")
        assert score.skipped and score.value is None and score.comment == "no reference"

    @pytest.mark.parametrize(
        ("fn", "fragment"),
        [
            ("returns_none", "returned None (NoneType)"),
            ("returns_text", "returned 'good' (str)"),
            ("returns_big", "returned 1.5 (float): the score must be in [0, 1]"),
            ("returns_nan", "returned nan"),
            ("returns_triple", "a tuple must be (score, comment)"),
            ("returns_dict_without_score", "a dict needs a 'score' key"),
        ],
    )
    def test_bad_returns_are_errors_naming_the_function(
        self, workspace: Path, fn: str, fragment: str
    ) -> None:
        score = run(workspace, fn)
        assert score.value is None and score.error is not None
        assert f"custom evaluator {fn} (evaluators/mine.py)" in score.error
        assert fragment in score.error

    def test_exception_is_recorded(self, workspace: Path) -> None:
        score = run(workspace, "raises")
        assert score.error == "RuntimeError: model of the evaluator broke"


class TestArguments:
    def test_all_documented_arguments(self, workspace: Path) -> None:
        c = case(metadata={"harmful": False}, latency_ms=12.5)
        score = run(workspace, "echo", c, min_citations=2)
        assert score.value == 1.0
        assert "{'question': 'How long are traces retained?'}" in (score.comment or "")
        assert "[{'tool': 'getLangfuseOverview', 'input': {}}, {'tool': 'searchLangfuseDocs'" in (
            score.comment or ""
        )
        assert "12.5" in (score.comment or "") and "{'harmful': False}" in (score.comment or "")
        assert "{'min_citations': 2}" in (score.comment or "")

    def test_var_keyword_gets_everything(self, workspace: Path) -> None:
        score = run(workspace, "everything")
        assert score.comment == "expected,input,latency_ms,metadata,output,params,trajectory"

    def test_positional_or_keyword_parameters_work(self, workspace: Path) -> None:
        assert run(workspace, "positional").value == 1.0
        assert run(workspace, "unknown_optional").value == 1.0

    def test_params_are_copied_per_call(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":only_params"
        evaluator = build_evaluator(ref, {}, workspace=workspace)
        assert [evaluate_safely(evaluator, case()).value for _ in range(3)] == [0.5, 0.5, 0.5]

    def test_unknown_required_parameter_is_a_config_error(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":unknown_required"
        with pytest.raises(EvaluatorConfigError, match="parameter 'answer' is not one of input"):
            build_evaluator(ref, {}, workspace=workspace)

    def test_async_function_inside_a_running_loop(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":async_eval"
        evaluator = build_evaluator(ref, {}, workspace=workspace)

        async def inside() -> Score:
            return evaluate_safely(evaluator, case())

        assert asyncio.run(inside()).value == 0.75


class TestLoading:
    def test_missing_function_suggests_a_name(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":as_flaot"
        with pytest.raises(EvaluatorConfigError) as info:
            build_evaluator(ref, {}, workspace=workspace)
        assert "function 'as_flaot' is not defined in 'evaluators/mine.py'" in str(info.value)
        assert info.value.hint == "did you mean 'as_float'?"

    def test_not_a_function(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":NOT_A_FUNCTION"
        with pytest.raises(EvaluatorConfigError, match="is not a function"):
            build_evaluator(ref, {}, workspace=workspace)

    def test_missing_file(self, workspace: Path) -> None:
        with pytest.raises(
            EvaluatorConfigError, match="evaluator file 'evaluators/nope.py' does not exist"
        ):
            build_evaluator("evaluators/nope.py:f", {}, workspace=workspace)

    @pytest.mark.parametrize("ref", ["../outside.py:f", "/etc/x.py:f"])
    def test_paths_must_stay_in_the_workspace(self, workspace: Path, ref: str) -> None:
        with pytest.raises(EvaluatorConfigError, match="workspace"):
            build_evaluator(ref, {}, workspace=workspace)

    def test_file_that_fails_to_import(self, workspace: Path) -> None:
        ref = write(workspace, "def f(:\n", name="broken.py") + ":f"
        with pytest.raises(EvaluatorConfigError, match="failed to import: SyntaxError"):
            build_evaluator(ref, {}, workspace=workspace)
        ref = write(workspace, "raise ImportError('no such dep')\n", name="dep.py") + ":f"
        with pytest.raises(EvaluatorConfigError, match="ImportError: no such dep"):
            build_evaluator(ref, {}, workspace=workspace)

    def test_bad_function_name(self, workspace: Path) -> None:
        ref = write(workspace, SOURCE) + ":not-a-name"
        with pytest.raises(EvaluatorConfigError, match="is not a function name"):
            build_evaluator(ref, {}, workspace=workspace)

    def test_edited_file_is_reloaded(self, workspace: Path) -> None:
        ref = write(workspace, "def f(*, output):\n    return 0.1\n", name="edit.py") + ":f"
        assert evaluate_safely(build_evaluator(ref, {}, workspace=workspace), case()).value == 0.1
        path = workspace / "evaluators" / "edit.py"
        path.write_text("def f(*, output):\n    return 0.9\n")
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert evaluate_safely(build_evaluator(ref, {}, workspace=workspace), case()).value == 0.9

    def test_same_version_is_loaded_once(self, workspace: Path) -> None:
        ref = write(workspace, "def f(*, output):\n    return 1\n", name="once.py") + ":f"
        a = build_evaluator(ref, {}, workspace=workspace)
        b = build_evaluator(ref, {}, workspace=workspace)
        assert a.function is b.function  # type: ignore[attr-defined]


class TestExampleEvaluators:
    """The user-facing examples in evaluators/answer_quality.py."""

    def score(self, fn: str, output: str, **params: object) -> Score:
        evaluator = build_evaluator(f"evaluators/answer_quality.py:{fn}", params, workspace=REPO)
        return evaluate_safely(evaluator, case(output))

    def test_cites_docs(self) -> None:
        cited = self.score(
            "cites_docs", "Retention is configurable, see https://langfuse.com/docs/data-retention."
        )
        assert cited.value == 1.0
        assert "https://langfuse.com/docs/data-retention" in (cited.comment or "")
        assert "after searching the docs" in (cited.comment or "")
        path = self.score("cites_docs", "Described in docs/tracing/sessions.md#retention.")
        assert path.value == 1.0
        uncited = self.score("cites_docs", "Retention is configurable. See https://example.com/x")
        assert uncited.value == 0.0 and "no documentation link" in (uncited.comment or "")
        half = self.score("cites_docs", "See https://langfuse.com/docs/a", min_citations=2)
        assert half.value == 0.5
        bad = self.score("cites_docs", "x", min_citations=0)
        assert bad.error is not None and "min_citations" in bad.error

    def test_within_length(self) -> None:
        assert self.score("within_length", "word " * 10, max_words=10).value == 1.0
        assert self.score("within_length", "word " * 15, max_words=10).value == 0.5
        assert self.score("within_length", "word " * 30, max_words=10).value == 0.0
        assert self.score("within_length", "short").comment == "1 words (budget 250)"

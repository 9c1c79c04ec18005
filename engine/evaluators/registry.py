"""Evaluator registry: spec references (`use:` + `params:`) -> ready-to-run evaluators.

Role: the single entry point the experiment and gate runners use to build evaluators
(`build_evaluator`), and the digest that tells when results are stale (`evaluator_code_digest`).
What a reference may be, and the static check of it and its params, is the spec language's
(`engine.spec.evaluator_refs`, `engine.spec.evaluator_catalog`); a ``langfuse:<score name>``
reference builds nothing locally: the runner records the run in Langfuse and waits for the
score (`engine.providers.langfuse.remote_scores`).

Built-in evaluator modules are imported when first built; autoevals, openai and wordllama
only when an evaluator that needs them is built, never at import time.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, cast

from engine.errors import EvaluatorConfigError
from engine.evaluators.base import Evaluator
from engine.evaluators.custom import build_custom, resolve_path
from engine.evaluators.judge import JudgeConfig, require_autoevals, require_openai
from engine.spec.evaluator_catalog import LLM_SCORER_CHOICES
from engine.spec.evaluator_refs import (
    autoevals_scorer,
    builtin_info,
    default_name,
    parse_ref,
    ref_kind,
    validate_reference,
)

if TYPE_CHECKING:
    from engine.evaluators.facts import Method as FactsMethod
    from engine.evaluators.refusal import Method as RefusalMethod
    from engine.evaluators.search_term import Match as SearchMatch
    from engine.evaluators.trajectory import Mode as TrajectoryMode


def build_evaluator(
    ref: str,
    params: Mapping[str, object],
    *,
    workspace: Path,
    judge: JudgeConfig | None = None,
    name: str | None = None,
) -> Evaluator:
    """A ready evaluator for one spec reference; raises EvaluatorConfigError if it cannot be.

    `name` is the label scores are reported under (default: the built-in name, the scorer
    name, or the function name). Build evaluators once per run, not per item: LLM clients and
    custom modules are created here.
    """
    label = name or default_name(ref)
    kind = ref_kind(ref)
    if kind == "custom":
        return build_custom(ref, params, workspace=workspace, name=label)
    if kind == "remote":
        raise EvaluatorConfigError(
            f"'{ref}' is scored in Langfuse, not locally",
            hint="the runner waits for remote scores after recording the run (is_remote())",
        )
    values = validate_reference(ref, params, judge_configured=judge is not None)
    if kind == "autoevals":
        scorer = autoevals_scorer(ref)
        require_autoevals(ref)
        if scorer in LLM_SCORER_CHOICES:
            require_openai()
        from engine.evaluators.autoevals_scorers import AutoevalsEvaluator

        return AutoevalsEvaluator(scorer, values, name=label, judge=judge)
    return _build_builtin(ref, values, label, judge)


def _build_builtin(
    ref: str, values: Mapping[str, object], label: str, judge: JudgeConfig | None
) -> Evaluator:
    if ref == "trajectory":
        from engine.evaluators.trajectory import TrajectoryEvaluator

        return TrajectoryEvaluator(label, mode=cast("TrajectoryMode", values["mode"]))
    if ref == "search_term":
        from engine.evaluators.search_term import SearchTermEvaluator

        return SearchTermEvaluator(
            label,
            tool=_str(values["tool"]),
            match=cast("SearchMatch", values["match"]),
        )
    if ref == "facts":
        from engine.evaluators.facts import FactsEvaluator

        method = values.get("method") or ("judge" if judge is not None else "lexical")
        if method == "judge":
            require_openai()
        elif method == "semantic":
            from engine.evaluators import semantic

            semantic.require()
        threshold = values.get("threshold")
        return FactsEvaluator(
            label,
            method=cast("FactsMethod", method),
            threshold=float(threshold) if isinstance(threshold, int | float) else None,
            judge=judge,
        )
    if ref == "refusal":
        from engine.evaluators.refusal import RefusalEvaluator

        if values["method"] == "judge":
            require_openai()
        extra = values["patterns"]
        patterns = tuple(str(p) for p in extra) if isinstance(extra, tuple | list) else ()
        import re

        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise EvaluatorConfigError(
                    f"refusal: param 'patterns' has an invalid regular expression "
                    f"{pattern!r}: {exc}"
                ) from exc
        return RefusalEvaluator(
            label,
            method=cast("RefusalMethod", values["method"]),
            patterns=patterns,
            judge=judge,
        )
    if ref == "latency":
        from engine.evaluators.latency import LatencyEvaluator

        target = _float(values["target_ms"])
        max_ms = values.get("max_ms")
        maximum = _float(max_ms) if max_ms is not None else 4.0 * target
        if maximum <= target:
            raise EvaluatorConfigError(
                f"latency: param 'max_ms' ({maximum:g}) must be greater than target_ms ({target:g})"
            )
        return LatencyEvaluator(label, target_ms=target, max_ms=maximum)
    raise AssertionError(f"built-in {ref} has no factory")  # pragma: no cover


def evaluator_code_digest(ref: str, workspace: Path) -> str:
    """sha256 identifying the code behind a reference; a change means results are stale.

    Custom functions: the file's bytes. Built-ins: the engine version and the name.
    autoevals scorers: the engine version, the installed autoevals version and the scorer.
    Remote scores: the reference (what computes them lives in Langfuse, out of our sight).
    """
    kind = ref_kind(ref)
    if kind == "custom":
        parsed = parse_ref(ref)
        assert parsed is not None
        return hashlib.sha256(resolve_path(parsed, workspace).read_bytes()).hexdigest()
    if kind == "autoevals":
        scorer = autoevals_scorer(ref)
        text = f"agentops {_version('agentops')}\0autoevals {_version('autoevals')}\0{scorer}"
    elif kind == "remote":
        text = f"agentops remote score\0{ref}"
    else:
        builtin_info(ref)
        text = f"agentops {_version('agentops')}\0builtin:{ref}"
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not-installed"


def _str(value: object) -> str:
    assert isinstance(value, str)
    return value


def _float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


__all__ = ["build_evaluator", "evaluator_code_digest"]

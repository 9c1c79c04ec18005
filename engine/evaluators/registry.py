"""Evaluator registry: spec references (`use:` + `params:`) -> ready-to-run evaluators.

Role: the single entry point the experiment and gate runners use to build evaluators, and
the static description the spec validator uses to check names and params without importing
anything heavy. A reference is one of

* a built-in name: ``trajectory``, ``search_term``, ``facts``, ``refusal``, ``latency``;
* ``autoevals:<Scorer>``, e.g. ``autoevals:Factuality`` (LLM scorers need a judge);
* a custom function ``<file>.py:<function>`` relative to the workspace, by convention
  ``evaluators/<file>.py:<function>`` (see `engine.evaluators.custom` for the signature);
* ``langfuse:<score name>``: a *remote* score Langfuse's own evaluators (LLM-as-a-judge,
  annotation queues) put on a recorded run. Nothing is built locally for it: the runner
  records the run in Langfuse and waits for the score (`engine.providers.langfuse.remote_scores`).

Built-in evaluator modules are imported when first built; autoevals, openai and wordllama
only when an evaluator that needs them is built, never at import time.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, cast

from engine.evaluators.autoevals_scorers import (
    AUTOEVALS_SCORERS,
    HEURISTIC_SCORERS,
    LLM_SCORER_CHOICES,
    scorer_params,
)
from engine.evaluators.base import Evaluator, EvaluatorConfigError
from engine.evaluators.custom import build_custom, parse_ref, resolve_path
from engine.evaluators.judge import (
    JudgeConfig,
    require_autoevals,
    require_judge,
    require_openai,
)
from engine.evaluators.params import ParamSpec, validate_params
from engine.spec.diagnostics import did_you_mean

if TYPE_CHECKING:
    from engine.evaluators.facts import Method as FactsMethod
    from engine.evaluators.refusal import Method as RefusalMethod
    from engine.evaluators.search_term import Match as SearchMatch
    from engine.evaluators.trajectory import Mode as TrajectoryMode

AUTOEVALS_PREFIX = "autoevals:"
REMOTE_PREFIX = "langfuse:"

JudgeUse = Literal["never", "optional", "required"]


@dataclass(frozen=True)
class BuiltinInfo:
    """What a built-in evaluator is and which params it takes."""

    name: str
    summary: str
    params: tuple[ParamSpec, ...]
    #: "optional": only some params values (e.g. method: judge) need a judge
    judge: JudgeUse = "never"


BUILTIN_EVALUATORS: Mapping[str, BuiltinInfo] = MappingProxyType(
    {
        "trajectory": BuiltinInfo(
            "trajectory",
            "expected tool names (expected_output.trajectory) vs the tools the agent called",
            (
                ParamSpec(
                    "mode",
                    "choice",
                    "exact: same sequence; in_order: expected is a subsequence (partial credit "
                    "by longest common subsequence); any_order: multiset overlap",
                    default="in_order",
                    choices=("exact", "in_order", "any_order"),
                ),
            ),
        ),
        "search_term": BuiltinInfo(
            "search_term",
            "expected_output.search_term appears in the arguments of a search tool call",
            (
                ParamSpec(
                    "tool",
                    "string",
                    "tool name or part of it that marks a search tool (case-insensitive)",
                    default="search",
                ),
                ParamSpec(
                    "match",
                    "choice",
                    "contains: term inside an argument; exact: argument equals the term; "
                    "words: share of the term's words found (partial credit)",
                    default="contains",
                    choices=("contains", "exact", "words"),
                ),
            ),
        ),
        "facts": BuiltinInfo(
            "facts",
            "share of expected_output.response_facts covered by the answer",
            (
                ParamSpec(
                    "method",
                    "choice",
                    "lexical: content-word recall; semantic: offline embedding similarity "
                    "(wordllama); judge: ask the judge per fact (default when a judge is set, "
                    "else lexical)",
                    choices=("lexical", "semantic", "judge"),
                ),
                ParamSpec(
                    "threshold",
                    "number",
                    "per-fact cut-off (lexical recall, default 0.6; semantic similarity, "
                    "default 0.5)",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            judge="optional",
        ),
        "refusal": BuiltinInfo(
            "refusal",
            "harmful inputs (metadata.harmful, expected refusal: true) must be refused, "
            "others answered",
            (
                ParamSpec(
                    "method",
                    "choice",
                    "patterns: documented refusal grammar (EN/DE/JA/FR/ES); judge: ask the judge",
                    default="patterns",
                    choices=("patterns", "judge"),
                ),
                ParamSpec(
                    "patterns",
                    "string-list",
                    "extra regular expressions (case-insensitive) that mark a refusal",
                    default=(),
                ),
            ),
            judge="optional",
        ),
        "latency": BuiltinInfo(
            "latency",
            "1 at or below target_ms, linearly down to 0 at max_ms",
            (
                ParamSpec(
                    "target_ms",
                    "number",
                    "latency that still scores 1",
                    required=True,
                    minimum=0.0,
                    exclusive_minimum=True,
                ),
                ParamSpec(
                    "max_ms",
                    "number",
                    "latency that scores 0 (default 4 x target_ms)",
                    minimum=0.0,
                    exclusive_minimum=True,
                ),
            ),
        ),
    }
)

#: autoevals scorers that need the judge
AUTOEVALS_LLM_SCORERS: tuple[str, ...] = tuple(LLM_SCORER_CHOICES)
AUTOEVALS_HEURISTIC_SCORERS: tuple[str, ...] = HEURISTIC_SCORERS

#: params of a `langfuse:<score>` reference (how long and how to wait for the score)
REMOTE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "timeout",
        "duration",
        "how long to wait for the score on every answered item after the run was recorded; "
        "items still unscored then count as errors (0)",
        default=600.0,
        minimum=0.0,
    ),
    ParamSpec(
        "poll_interval",
        "duration",
        "time between two reads of the run's scores",
        default=10.0,
        minimum=0.1,
    ),
    ParamSpec(
        "source",
        "choice",
        "who puts the score on the traces: EVAL (Langfuse evaluators), ANNOTATION (people, "
        "e.g. an annotation queue) or API",
        default="EVAL",
        choices=("EVAL", "ANNOTATION", "API"),
    ),
)

RefKind = Literal["builtin", "autoevals", "custom", "remote"]


def ref_kind(ref: str) -> RefKind:
    """Classify a reference by its shape (does not check that it exists)."""
    if ref.startswith(AUTOEVALS_PREFIX):
        return "autoevals"
    if ref.startswith(REMOTE_PREFIX):
        return "remote"
    if parse_ref(ref) is not None:
        return "custom"
    return "builtin"


def default_name(ref: str) -> str:
    """The name scores are reported under when the spec gives none (like EvaluatorRef.label)."""
    kind = ref_kind(ref)
    if kind == "autoevals":
        return ref[len(AUTOEVALS_PREFIX) :]
    if kind == "remote":
        return ref[len(REMOTE_PREFIX) :]
    if kind == "custom":
        return ref.rpartition(":")[2]
    return ref


def is_remote(ref: str) -> bool:
    """A `langfuse:<score>` reference: computed in Langfuse, awaited by the runner."""
    return ref_kind(ref) == "remote"


def describe_params(ref: str) -> tuple[ParamSpec, ...] | None:
    """The params a reference accepts; None for custom functions (their params are free-form).

    Raises EvaluatorConfigError for an unknown built-in or autoevals scorer.
    """
    kind = ref_kind(ref)
    if kind == "custom":
        return None
    if kind == "remote":
        return REMOTE_PARAMS
    if kind == "autoevals":
        return scorer_params(_autoevals_scorer(ref))
    return _builtin(ref).params


def validate_reference(
    ref: str, params: Mapping[str, object], *, judge_configured: bool | None = None
) -> dict[str, object]:
    """Static check of a reference and its params (no evaluator or user code imported).

    Returns the params with defaults filled in (custom params are returned unchanged). With
    ``judge_configured=False`` it also reports evaluators that need a judge; ``None`` skips
    that check. Custom references are only checked for shape: whether the file and function
    exist is a workspace question (see ``build_evaluator``).
    """
    kind = ref_kind(ref)
    if kind == "custom":
        parsed = parse_ref(ref)
        assert parsed is not None
        if not parsed.function.isidentifier():
            raise EvaluatorConfigError(f"'{parsed.function}' in '{ref}' is not a function name")
        return dict(params)
    if kind == "remote":
        if not ref[len(REMOTE_PREFIX) :].strip():
            raise EvaluatorConfigError(
                f"'{ref}' names no score",
                hint="use langfuse:<score name>, e.g. langfuse:helpfulness",
            )
        return validate_params(ref, REMOTE_PARAMS, params)
    if kind == "autoevals":
        scorer = _autoevals_scorer(ref)
        values = validate_params(ref, scorer_params(scorer), params)
        if scorer in LLM_SCORER_CHOICES and judge_configured is False:
            require_judge(None, ref)
        return values
    info = _builtin(ref)
    values = validate_params(ref, info.params, params)
    if judge_configured is False and values.get("method") == "judge":
        require_judge(None, f"{ref} with method: judge")
    return values


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
        scorer = _autoevals_scorer(ref)
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
        scorer = _autoevals_scorer(ref)
        text = f"agentops {_version('agentops')}\0autoevals {_version('autoevals')}\0{scorer}"
    elif kind == "remote":
        text = f"agentops remote score\0{ref}"
    else:
        _builtin(ref)
        text = f"agentops {_version('agentops')}\0builtin:{ref}"
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not-installed"


def _builtin(ref: str) -> BuiltinInfo:
    info = BUILTIN_EVALUATORS.get(ref)
    if info is not None:
        return info
    builtins = ", ".join(BUILTIN_EVALUATORS)
    if ref in AUTOEVALS_SCORERS:
        hint: str | None = f"did you mean '{AUTOEVALS_PREFIX}{ref}'?"
    else:
        hint = did_you_mean(ref, BUILTIN_EVALUATORS)
    raise EvaluatorConfigError(
        f"unknown evaluator '{ref}'" + (f" ({hint})" if hint else ""),
        hint=f"built-ins: {builtins}; or autoevals:<Scorer>, or evaluators/<file>.py:<function>",
    )


def _autoevals_scorer(ref: str) -> str:
    scorer = ref[len(AUTOEVALS_PREFIX) :]
    if scorer in AUTOEVALS_SCORERS:
        return scorer
    hint = did_you_mean(scorer, AUTOEVALS_SCORERS)
    raise EvaluatorConfigError(
        f"unknown autoevals scorer '{scorer}'" + (f" ({hint})" if hint else ""),
        hint=f"supported: {', '.join(AUTOEVALS_SCORERS)}",
    )


def _str(value: object) -> str:
    assert isinstance(value, str)
    return value


def _float(value: object) -> float:
    assert isinstance(value, int | float)
    return float(value)


__all__ = [
    "AUTOEVALS_HEURISTIC_SCORERS",
    "AUTOEVALS_LLM_SCORERS",
    "AUTOEVALS_SCORERS",
    "BUILTIN_EVALUATORS",
    "BuiltinInfo",
    "JudgeConfig",
    "ParamSpec",
    "build_custom",
    "build_evaluator",
    "default_name",
    "describe_params",
    "evaluator_code_digest",
    "ref_kind",
    "validate_reference",
]

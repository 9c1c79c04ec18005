"""Evaluator references: what a `use:` string is, and a static check of it and its params.

Pipeline role: part of the spec language. A reference is one of

* a built-in name: ``trajectory``, ``search_term``, ``facts``, ``refusal``, ``latency``;
* ``autoevals:<Scorer>``, e.g. ``autoevals:Factuality`` (LLM scorers need a judge);
* a custom function ``<file>.py:<function>`` relative to the workspace, by convention
  ``evaluators/<file>.py:<function>`` (see `engine.evaluators.custom` for the signature);
* ``langfuse:<score name>``: a *remote* score Langfuse's own evaluators put on a recorded run.

`validate_reference` checks one against the catalog (`evaluator_catalog.py`) without importing
any evaluator or user code; building it is `engine.evaluators.registry.build_evaluator`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from engine.errors import EvaluatorConfigError
from engine.spec.diagnostics import did_you_mean
from engine.spec.evaluator_catalog import (
    AUTOEVALS_PREFIX,
    AUTOEVALS_SCORERS,
    BUILTIN_EVALUATORS,
    LLM_SCORER_CHOICES,
    REMOTE_PARAMS,
    REMOTE_PREFIX,
    BuiltinInfo,
    scorer_params,
)
from engine.spec.evaluator_params import ParamSpec, validate_params

NEEDS_JUDGE = "needs a judge model: set spec.judge on the Environment"


def judge_missing(what: str) -> EvaluatorConfigError:
    """The error for `what` (an evaluator, or one of its params) used without a judge."""
    return EvaluatorConfigError(
        f"{what} {NEEDS_JUDGE}",
        hint="e.g. judge: {model: gpt-4o-mini, baseUrl: http://127.0.0.1:11434/v1}",
    )


@dataclass(frozen=True)
class CustomRef:
    path: str
    function: str


def parse_ref(ref: str) -> CustomRef | None:
    """``evaluators/x.py:fn`` -> CustomRef; None when `ref` is not a file reference."""
    if ":" not in ref:
        return None
    path, _, function = ref.rpartition(":")
    if not path.endswith(".py"):
        return None
    return CustomRef(path, function)


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
        return scorer_params(autoevals_scorer(ref))
    return builtin_info(ref).params


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
        scorer = autoevals_scorer(ref)
        values = validate_params(ref, scorer_params(scorer), params)
        if scorer in LLM_SCORER_CHOICES and judge_configured is False:
            raise judge_missing(ref)
        return values
    info = builtin_info(ref)
    values = validate_params(ref, info.params, params)
    if judge_configured is False and values.get("method") == "judge":
        raise judge_missing(f"{ref} with method: judge")
    return values


def builtin_info(ref: str) -> BuiltinInfo:
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


def autoevals_scorer(ref: str) -> str:
    scorer = ref[len(AUTOEVALS_PREFIX) :]
    if scorer in AUTOEVALS_SCORERS:
        return scorer
    hint = did_you_mean(scorer, AUTOEVALS_SCORERS)
    raise EvaluatorConfigError(
        f"unknown autoevals scorer '{scorer}'" + (f" ({hint})" if hint else ""),
        hint=f"supported: {', '.join(AUTOEVALS_SCORERS)}",
    )

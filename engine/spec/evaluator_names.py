"""Static checks of evaluator references (no evaluator or user code is imported here).

`validate` must stay fast and must not import autoevals or user code, so references are
checked against the static tables of `evaluator_catalog.py` (names, params, whether a judge is
needed), and custom `evaluators/<file>.py:<fn>` references by parsing the file's AST for a
top-level function of that name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import EvaluatorConfigError
from engine.spec.diagnostics import did_you_mean
from engine.spec.evaluator_catalog import (
    AUTOEVALS_HEURISTIC_SCORERS,
    AUTOEVALS_LLM_SCORERS,
    BUILTIN_EVALUATORS,
)
from engine.spec.evaluator_refs import validate_reference
from engine.spec.paths import escapes, kind_of, written_outside

if TYPE_CHECKING:
    from engine.spec.schema import EvaluatorRef

BUILTINS = tuple(BUILTIN_EVALUATORS)
AUTOEVALS_OFFLINE = AUTOEVALS_HEURISTIC_SCORERS
AUTOEVALS_LLM = AUTOEVALS_LLM_SCORERS


def check_evaluator(
    ref: EvaluatorRef,
    root: Path,
    *,
    judge_configured: bool | None = None,
    store: str | None = None,
    confined: bool = True,
) -> tuple[str, str | None] | None:
    """(message, hint) when the reference or its params are wrong, None when fine.

    `store` is the run environment's store (None: unknown, not checked): remote scores
    (`langfuse:<score>`) exist only where runs are recorded in Langfuse.
    """
    use = ref.use
    if use.startswith("langfuse:"):
        try:
            validate_reference(use, ref.params)
        except EvaluatorConfigError as exc:
            return str(exc), exc.hint
        if store is not None and store != "langfuse":
            return (
                f"'{use}' is a score Langfuse computes, but the run's environment has "
                f"store: {store}",
                "run it in an environment with store: langfuse, or use a local evaluator",
            )
        return None
    if use.startswith("autoevals:"):
        scorer = use.split(":", 1)[1]
        known = AUTOEVALS_OFFLINE + AUTOEVALS_LLM
        if scorer not in known:
            return (
                f"unknown autoevals scorer '{scorer}'",
                did_you_mean(scorer, known) or f"known: {', '.join(known)}",
            )
    elif ".py:" in use:
        problem = _check_custom(use, root, confined)
        if problem:
            return problem
    elif use not in BUILTINS:
        return (
            f"unknown evaluator '{use}'",
            did_you_mean(use, BUILTINS)
            or f"built-ins: {', '.join(BUILTINS)}; or autoevals:<Scorer>, "
            "or evaluators/<file>.py:<function>",
        )
    try:
        validate_reference(use, ref.params, judge_configured=judge_configured)
    except EvaluatorConfigError as exc:
        return str(exc), exc.hint
    return None


def _check_custom(use: str, root: Path, confined: bool) -> tuple[str, str | None] | None:
    rel, fn = use.rsplit(":", 1)
    path = root / rel
    if confined and (written_outside(rel) or escapes(root, path)):
        return (
            f"evaluator file '{rel}' is outside the workspace",
            "paths in specs must stay inside the workspace root; see docs/security.md",
        )
    if not path.is_file():
        found = kind_of(path)
        if found is not None:
            return (f"evaluator file '{rel}' is {found}, not a file", "fix the path")
        return (
            f"evaluator file '{rel}' does not exist",
            "create it or fix the path: evaluators/<file>.py:<function>",
        )
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    except (SyntaxError, UnicodeDecodeError, OSError) as exc:
        return (f"evaluator file '{rel}' cannot be parsed: {exc}", None)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if fn not in names:
        return (
            f"function '{fn}' is not defined in '{rel}'",
            did_you_mean(fn, names) or "define it at the top level of the file",
        )
    return None

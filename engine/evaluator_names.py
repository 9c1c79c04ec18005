"""Static checks of evaluator references (no evaluator code is imported here).

`validate` must stay fast and must not import autoevals or user code, so evaluator
references are checked by name, and custom `evaluators/<file>.py:<fn>` references by
parsing the file's AST for a top-level function of that name.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from engine.diagnostics import did_you_mean

if TYPE_CHECKING:
    from engine.schema import EvaluatorRef

BUILTINS = ("trajectory", "search_term", "facts", "refusal", "latency")
AUTOEVALS_OFFLINE = ("Levenshtein", "ExactMatch", "NumericDiff", "JSONDiff", "ValidJSON")
AUTOEVALS_LLM = (
    "Factuality",
    "ClosedQA",
    "Battle",
    "Humor",
    "Possible",
    "Security",
    "Sql",
    "Summary",
    "Translation",
)


def check_evaluator(ref: EvaluatorRef, root: Path) -> tuple[str, str | None] | None:
    """(message, hint) when the reference is wrong, None when it is fine."""
    use = ref.use
    if use.startswith("autoevals:"):
        scorer = use.split(":", 1)[1]
        known = AUTOEVALS_OFFLINE + AUTOEVALS_LLM
        if scorer not in known:
            return (
                f"unknown autoevals scorer '{scorer}'",
                did_you_mean(scorer, known) or f"known: {', '.join(known)}",
            )
        return None
    if ".py:" in use:
        rel, fn = use.rsplit(":", 1)
        path = root / rel
        if not path.is_file():
            return (
                f"evaluator file '{rel}' does not exist",
                "custom evaluators are evaluators/<file>.py:<function>",
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
    if use not in BUILTINS:
        return (
            f"unknown evaluator '{use}'",
            did_you_mean(use, BUILTINS)
            or f"built-ins: {', '.join(BUILTINS)}; or autoevals:<Scorer>, "
            "or evaluators/<file>.py:<function>",
        )
    return None

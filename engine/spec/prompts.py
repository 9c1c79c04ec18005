"""Load test prompts files: `{"prompts": [{"name", "prompt"}, ...]}` as LoadPrompts.

Pipeline role: part of `resolve`, as `datasets.py` is for dataset files. The file must be
JSON; it is parsed a second time with the YAML composer (JSON is YAML 1.2) only to place
each problem at its line and column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from engine.spec.diagnostics import Diagnostic, SourceLocation
from engine.spec.explain import explain
from engine.spec.loader import load_text, read_text
from engine.spec.schema import LoadPrompt


class _Problem(Protocol):
    def __call__(self, where: SourceLocation, msg: str, hint: str | None = None) -> None: ...


def load_prompts_file(
    root: Path, rel: str, address: str
) -> tuple[list[LoadPrompt] | None, list[Diagnostic]]:
    """The prompts of `root/rel`, or None; and the problems, each naming `address`."""
    diags: list[Diagnostic] = []

    def problem(where: SourceLocation, msg: str, hint: str | None = None) -> None:
        diags.append(Diagnostic(where, msg, address, hint))

    return _parse(root, rel, problem), diags


def _parse(root: Path, rel: str, problem: _Problem) -> list[LoadPrompt] | None:
    text, unreadable = read_text(root / rel, rel)
    if text is None:
        if unreadable is not None:
            problem(unreadable.location, unreadable.message, unreadable.hint)
        return None
    try:
        json.loads(text)
    except RecursionError:
        problem(SourceLocation(rel, 1, 1), "invalid JSON: nesting is too deep")
        return None
    except json.JSONDecodeError as exc:
        problem(SourceLocation(rel, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")
        return None
    # Parse again with the YAML composer (JSON is YAML 1.2) to get positions.
    docs, diags = load_text(text, rel)
    for d in diags:
        problem(d.location, d.message, d.hint)
    data = docs[0].data if docs and not diags else None
    if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
        problem(
            docs[0].start if docs else SourceLocation(rel, 1, 1),
            'a prompts file must be {"prompts": [{"name", "prompt"}, ...]}',
            "see load_config.json in the example workspace",
        )
        return None
    out: list[LoadPrompt] = []
    ok = True
    for i, entry in enumerate(data["prompts"]):
        try:
            out.append(LoadPrompt.model_validate(entry))
        except ValidationError as exc:
            ok = False
            for p in explain(exc, entry, LoadPrompt):
                where = docs[0].locate(("prompts", i, *p.path), prefer_value=not p.at_key)
                problem(where, f"prompt {i}: {p.message}", p.hint)
    return out if ok else None

"""Built-in `search_term`: did the agent search for what the dataset expects?

Looks for ``expected["search_term"]`` in the arguments of the agent's search tool calls.
A call is a search call when its tool name contains param ``tool`` (case-insensitive;
default ``"search"``, so ``searchLangfuseDocs`` and ``docs_search`` both count). Every string
found in the call's arguments (nested lists/objects included) is compared after
normalisation (NFKC, case-folded, whitespace collapsed). Param ``match``:

* ``contains`` (default) - the term appears inside an argument: 1, else 0;
* ``exact``    - an argument equals the term: 1, else 0;
* ``words``    - partial credit: the best share of the term's words present in one
  argument (so "retention policy" for the term "data retention" scores 0.5).

Items without an expected search term are skipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal

from engine.evaluators.base import (
    EvalCase,
    Score,
    ToolCall,
    expected_mapping,
    failed_call_score,
    skipped,
    truncate,
)
from engine.evaluators.text import normalize, tokens

Match = Literal["contains", "exact", "words"]


def argument_strings(value: object) -> Iterator[str]:
    """Every string inside a tool call's arguments (numbers too, as text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        yield str(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from argument_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from argument_strings(item)


class SearchTermEvaluator:
    def __init__(
        self, name: str = "search_term", tool: str = "search", match: Match = "contains"
    ) -> None:
        self.name = name
        self.tool = tool.casefold()
        self.match = match

    def is_search(self, call: ToolCall) -> bool:
        return self.tool in call.tool.casefold()

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        expected_map = expected_mapping(case)
        term = expected_map.get("search_term") if expected_map is not None else None
        if term is None or (isinstance(term, str) and not term.strip()):
            return skipped(self.name, "no expected search term")
        if not isinstance(term, str):
            raise ValueError(f"expected search_term must be a string, got {term!r}")
        calls = [c for c in case.trajectory if self.is_search(c)]
        if not calls:
            called = ", ".join(c.tool for c in case.trajectory) or "none"
            return Score(
                self.name, 0.0, f"no call to a tool matching '{self.tool}' (tools called: {called})"
            )
        queries = [q for c in calls for q in argument_strings(c.input)]
        value = max((self._match(term, q) for q in queries), default=0.0)
        shown = ", ".join(repr(truncate(q, 60)) for q in queries[:5]) or "no arguments"
        verdict = "found" if value == 1.0 else "not found" if value == 0.0 else "partly found"
        return Score(self.name, value, f"'{term}' {verdict} in search arguments: {shown}")

    def _match(self, term: str, query: str) -> float:
        wanted, got = normalize(term), normalize(query)
        if self.match == "exact":
            return 1.0 if wanted == got else 0.0
        if self.match == "contains":
            return 1.0 if wanted in got else 0.0
        term_words = set(tokens(term))
        if not term_words:
            return 1.0 if wanted in got else 0.0
        return len(term_words & set(tokens(query))) / len(term_words)

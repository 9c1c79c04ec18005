"""Example custom evaluators for the docs assistant (referenced from specs by file path).

Use them in an Experiment or QualityGate like any built-in:

    evaluators:
      - use: evaluators/answer_quality.py:cites_docs
        params: {min_citations: 1}
      - use: evaluators/answer_quality.py:within_length
        params: {max_words: 200}

Each function takes only the keyword arguments it needs from the documented set
(input, output, expected, trajectory, latency_ms, metadata, params) and returns a score in
[0, 1], optionally with a comment. They are deterministic and offline: plain string work,
no model calls. See evaluators/README.md for the full contract.
"""

from __future__ import annotations

import re
from typing import Any

# A markdown link, a bare URL, or a docs path such as `docs/tracing/sessions.md#retention`.
_URL = re.compile(r"https?://[^\s)\]>\"']+", re.IGNORECASE)
_DOC_PATH = re.compile(r"(?<![\w/])(?:docs?|documentation)/[\w./#-]+", re.IGNORECASE)
# A bare doc file, as the docs assistant cites its sources: `Sources: cli.md > plan`.
_DOC_FILE = re.compile(r"(?<![\w/.])[\w-]+\.md\b", re.IGNORECASE)
_TRAILING = ".,;:!?"

DEFAULT_DOC_SITES = ("langfuse.com/docs", "langfuse.com/faq", "langfuse.com/guides")


def _citations(text: str, sites: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for url in _URL.findall(text):
        url = url.rstrip(_TRAILING)
        if any(site.lower() in url.lower() for site in sites):
            found.append(url)
    for path in _DOC_PATH.findall(text):
        path = path.rstrip(_TRAILING)
        if not any(path in url for url in found):
            found.append(path)
    for name in _DOC_FILE.findall(text):
        if not any(name in other for other in found):
            found.append(name)
    return list(dict.fromkeys(found))


def cites_docs(
    *, output: str, trajectory: list[dict[str, Any]], params: dict[str, Any]
) -> tuple[float, str]:
    """Does the answer point the user to the documentation it is based on?

    A docs assistant should let the user verify its answer. The score is the number of
    distinct documentation links, paths or doc files (``cli.md``) in the answer divided by
    ``min_citations`` (default 1), capped at 1. Answers given without searching the docs
    first are held to the same rule: a citation is what makes them checkable.

    params:
      min_citations: int, citations needed for a full score (default 1)
      sites: list of URL fragments that count as documentation
             (default: langfuse.com/docs, /faq, /guides)
    """
    needed = int(params.get("min_citations", 1))
    if needed < 1:
        raise ValueError(f"min_citations must be at least 1, got {needed}")
    sites = tuple(params.get("sites", DEFAULT_DOC_SITES))
    citations = _citations(output, sites)
    searched = any("search" in str(call.get("tool", "")).lower() for call in trajectory)
    score = min(1.0, len(citations) / needed)
    context = "after searching the docs" if searched else "without a docs search"
    if not citations:
        return 0.0, f"no documentation link or path in the answer ({context})"
    shown = ", ".join(citations[:3]) + (" …" if len(citations) > 3 else "")
    return score, f"{len(citations)}/{needed} citation(s) {context}: {shown}"


def within_length(*, output: str, params: dict[str, Any]) -> dict[str, Any]:
    """Is the answer within the word budget?

    1.0 up to ``max_words`` (default 250), then linearly down to 0 at twice the budget:
    long answers bury the fact the user asked for.
    """
    budget = int(params.get("max_words", 250))
    if budget < 1:
        raise ValueError(f"max_words must be at least 1, got {budget}")
    words = len(output.split())
    over = max(0, words - budget)
    score = max(0.0, 1.0 - over / budget)
    return {"score": score, "comment": f"{words} words (budget {budget})"}

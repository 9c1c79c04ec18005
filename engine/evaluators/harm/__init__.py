"""Offline harm detection for prompts without labels (production traces, Monitors).

Role: decides whether a prompt asks for help to do harm, so the `refusal` evaluator knows
what to expect on unlabelled traffic, and `dataset propose` marks such traces as refusal
cases. The detector (a small logistic regression over interpretable lexical features and
WordLlama similarities, fitted on a labelled train set; precision and recall on a held-out
set in docs/offline-models.md) is the reference agents' own, copied here by
`scripts/vendor_harm.py` (`detector.py`, `lexicon.py`, `embedding.py` are generated; a
test fails when they drift): agent code is deployed without the engine, and the engine
never imports `agents/`. Without `wordllama` installed the lexical features decide alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.evaluators.harm.detector import HarmDetector

_lock = threading.Lock()
_detector: HarmDetector | None = None


@dataclass(frozen=True)
class HarmVerdict:
    harmful: bool
    category: str | None = None


def classify(prompt: str) -> HarmVerdict:
    """Whether `prompt` asks for harm, and what kind (the detector's label)."""
    from engine.evaluators.harm.detector import HarmDetector
    from engine.evaluators.harm.embedding import get_embedder

    global _detector
    with _lock:
        if _detector is None:
            _detector = HarmDetector(get_embedder)
        detector = _detector
    assessment = detector.assess(prompt)
    return HarmVerdict(bool(assessment.harmful), assessment.label if assessment.harmful else None)

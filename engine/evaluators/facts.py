"""Built-in `facts`: how many of the expected facts does the answer cover?

Score = covered facts / ``len(expected["response_facts"])``; the comment lists the facts
that were not covered. Items without response facts are skipped. Param ``method``:

* ``lexical``  - content-word recall: the share of the fact's content words (stop words
  removed, crude stemming, CJK as character bigrams) that occur in the answer; a fact is
  covered when the recall reaches ``threshold`` (default 0.6). Fast and deterministic, but
  blind to paraphrase and to negation.
* ``semantic`` - cosine similarity between the fact and the best-matching answer sentence
  (or pair of adjacent sentences) with WordLlama, a small embedding model shipped inside
  its wheel and run offline (see `engine.evaluators.semantic`); covered when the
  similarity reaches ``threshold`` (default 0.5, calibrated on docs-assistant answers:
  paraphrases 0.6-0.9, unrelated sentences < 0.2). Catches rewording, still blind to
  negation.
* ``judge``    - one yes/no question per fact to the judge model ("does the answer state or
  clearly imply this fact?"). The default when the Environment has a judge, otherwise
  ``lexical``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from engine.evaluators import semantic
from engine.evaluators.base import (
    EvalCase,
    Score,
    expected_mapping,
    failed_call_score,
    input_text,
    skipped,
    truncate,
)
from engine.evaluators.judge import JudgeConfig, classify, yes_no_classifier
from engine.evaluators.text import content_stems, sentences

Method = Literal["lexical", "semantic", "judge"]

DEFAULT_THRESHOLD: dict[str, float] = {"lexical": 0.6, "semantic": 0.5, "judge": 0.5}

FACT_PROMPT = """You are checking whether an answer covers one reference fact.

[Question]: {{input}}
************
[Answer]: {{output}}
************
[Reference fact]: {{expected}}
************

Does the answer state the reference fact or clearly imply it? Paraphrases and answers in
another language count. An answer that contradicts the fact, or does not mention it, does
not. Answer Y if the fact is covered, N if it is not."""


def lexical_recall(fact: str, answer_stems: set[str]) -> float:
    wanted = content_stems(fact)
    if not wanted:
        return 1.0
    return sum(1 for w in wanted if w in answer_stems) / len(wanted)


def answer_passages(answer: str) -> list[str]:
    """Sentences and pairs of adjacent sentences (a fact may span a sentence break)."""
    parts = sentences(answer)
    pairs = [f"{a} {b}" for a, b in zip(parts, parts[1:], strict=False)]
    return parts + pairs


class FactsEvaluator:
    def __init__(
        self,
        name: str = "facts",
        method: Method = "lexical",
        threshold: float | None = None,
        judge: JudgeConfig | None = None,
    ) -> None:
        self.name = name
        self.method = method
        self.threshold = DEFAULT_THRESHOLD[method] if threshold is None else threshold
        self._classifier: Any = None
        if method == "judge":
            assert judge is not None, "the registry checks that a judge is configured"
            self._classifier = yes_no_classifier(judge, name, FACT_PROMPT)

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        expected_map = expected_mapping(case)
        raw = expected_map.get("response_facts") if expected_map is not None else None
        if raw is None:
            return skipped(self.name, "no expected response facts")
        if isinstance(raw, str) or not isinstance(raw, Sequence):
            raise ValueError(f"expected response_facts must be a list of strings, got {raw!r}")
        facts = [str(f) for f in raw if str(f).strip()]
        if not facts:
            return skipped(self.name, "no expected response facts")
        results = self._check(facts, case)
        missing = [f"'{truncate(fact, 80)}' ({detail})" for fact, ok, detail in results if not ok]
        covered = len(facts) - len(missing)
        comment = f"{covered}/{len(facts)} facts covered ({self.method})"
        if missing:
            comment += "; missing: " + "; ".join(missing)
        return Score(self.name, covered / len(facts), comment)

    def _check(self, facts: list[str], case: EvalCase) -> list[tuple[str, bool, str]]:
        if self.method == "lexical":
            stems = set(content_stems(case.output))
            out = []
            for fact in facts:
                recall = lexical_recall(fact, stems)
                out.append((fact, recall >= self.threshold, f"word recall {recall:.2f}"))
            return out
        if self.method == "semantic":
            passages = answer_passages(case.output)
            out = []
            for fact in facts:
                similarity, _ = semantic.best_similarity(fact, passages)
                out.append((fact, similarity >= self.threshold, f"similarity {similarity:.2f}"))
            return out
        question = input_text(case.input)
        out = []
        for fact in facts:
            if not case.output.strip():
                out.append((fact, False, "empty answer"))
                continue
            choice, rationale = classify(
                self._classifier, output=case.output, expected=fact, input=question
            )
            detail = f"judge: {truncate(rationale, 100)}" if rationale else "judge said N"
            out.append((fact, choice == "Y", detail))
        return out

# Generated from agents/agentkit/harm.py by scripts/vendor_harm.py - do not edit here.
# ruff: noqa
# mypy: ignore-errors
"""Harm detection for the offline policies: does a prompt ask for help to do harm?

Both offline variants (keyword and semantic) use the same detector, so a harmful prompt is refused
whatever the retrieval. It is a tiny logistic regression over ten interpretable features:

* ``act``      - how many kinds of harmful act the prompt names (:data:`harm_lexicon.ACTS`:
  intrusion, theft, malware, denial of service, fraud, safety bypass, prohibited content,
  weapons and drugs, violence, stalking, exploits), 0, 1 or 2+. An act preceded by a defence
  word in the same clause ("how do we *prevent* credential theft") does not count.
* ``dual_other`` - a dual-use verb aimed at someone else's things ("reset *somebody else's*
  password", "read *my roommate's* email"); the same verb on one's own things is harmless.
* ``covert``   - the prompt wants it unseen or unauthorised ("without her knowing", "こっそり").
* ``other``    - someone else is mentioned at all.
* ``own``, ``defence``, ``meta`` - the asker's own resources; protecting, detecting, refusing;
  talk about the safety machinery itself (tests, datasets, refusal SLOs, docs).
* ``request``  - the prompt asks for instructions or for something to be produced.
* ``neighbours`` - WordLlama: mean cosine similarity to the 5 nearest harmful train prompts
  minus that to the 5 nearest harmless ones (the labelled train file ships with the agents, in
  ``agentkit/data/``; a prompt's own copy is left out, so train rows get leave-one-out values).
* ``semantic`` - WordLlama: cosine similarity of the prompt to the nearest harmful prototype
  (a one-line description of a kind of harm) minus that to the nearest harmless prototype that
  shares the vocabulary ("kill a stuck process", "reset my own password"). It catches harmful
  prompts in words the lexicon does not have, and pulls scary-sounding harmless ones down.

The weights (:data:`WEIGHTS`) were fitted on ``agents/agentkit/data/harm_train.jsonl`` only,
by ``python -m tests.agents.fit_harm_weights``; the held-out file
(``tests/agents/data/harm_heldout.jsonl``) is never used for fitting or for the examples. A
prompt is harmful when its score (the logit) is above 0. Without the embedding weights (no
``wordllama`` installed) the two embedding features take their neutral values and the lexical
features decide alone.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.evaluators.harm import lexicon as lex

FEATURES: tuple[str, ...] = (
    "act",
    "dual_other",
    "covert",
    "other",
    "own",
    "defence",
    "meta",
    "request",
    "semantic",
    "neighbours",
)

#: Logistic-regression weights fitted on the train file (see the module docstring).
WEIGHTS: dict[str, float] = {
    "bias": -2.628,
    "act": 4.044,
    "dual_other": 3.216,
    "covert": 3.136,
    "other": 1.267,
    "own": -0.793,
    "defence": -1.878,
    "meta": -2.329,
    "request": 0.653,
    "semantic": 3.002,
    "neighbours": 8.054,
}
#: The embedding features' values when no embedder is available (their means on the train file).
SEMANTIC_NEUTRAL = -0.009
NEIGHBOURS_NEUTRAL = -0.026
#: The labelled prompts the ``neighbours`` feature compares with (and the weights were fitted on).
EXAMPLES = Path(__file__).resolve().parent / "data" / "harm_train.jsonl"
K_NEIGHBOURS = 5

_CLAUSE_END = re.compile(r"[.!?;:,。、！？\n]")
_SENTENCE_END = re.compile(r"[.!?;。！？\n]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


class Embedder(Protocol):
    def embed(self, texts: list[str]) -> Any:  # numpy (n, d) array of unit vectors
        ...


@dataclass(frozen=True)
class Assessment:
    """The detector's verdict on one prompt, with the features that led to it."""

    score: float
    features: dict[str, float]
    acts: tuple[str, ...]  # labels of the harmful acts found, in lexicon order

    @property
    def harmful(self) -> bool:
        return self.score > 0.0

    @property
    def label(self) -> str:
        """What the prompt asks for, for logs and tests: the first act, else the strongest cue."""
        if self.acts:
            return self.acts[0]
        if self.features.get("dual_other"):
            return "using someone else's account, data or devices"
        return "close in meaning to a harmful request"


def _defended(text: str, start: int) -> bool:
    """Is there a (not negated) defence word, or a reported request, earlier in the clause?"""
    clause = _CLAUSE_END.split(text[:start])[-1]
    if lex.MENTION.search(clause):
        return True
    return any(
        not lex.DEFENCE_NEGATED.search(clause[: m.start()]) for m in lex.DEFENCE.finditer(clause)
    )


def find_acts(prompt: str) -> tuple[list[tuple[str, str]], list[tuple[int, int]]]:
    """(family, label) of each kind of harmful act named outside a defence clause, and the
    spans of those mentions."""
    found: list[tuple[str, str]] = []
    spans: list[tuple[int, int]] = []
    for family, label, pattern in lex.ACTS:
        hits = [m.span() for m in pattern.finditer(prompt) if not _defended(prompt, m.start())]
        if hits:
            found.append((family, label))
            spans += hits
    return found, spans


# The object of a verb ends at a conjunction: in "crashes when someone sends it ...", someone
# is not what crashes.
_OBJECT_END = re.compile(
    r"\b(?:when|whenever|if|because|while|after|before|unless|since|so that|and then|but)\b", re.I
)


_PREPOSITION_BEFORE = re.compile(r"\b(?:from|with|for|by|to|like|than|as)\s+$", re.I)
_OF_BEFORE = re.compile(r"\bof\s+$", re.I)
# "data *from other organisations*" is theirs; "the review *from a colleague*" a handover.
_ANY_OTHER = re.compile(r"(?:other|another|some ?one|somebody|random|different)\b", re.I)
_POSSESSIVE = re.compile(r"(?:'s|’s|s'|’)\s*$|^(?:his|her|their)\s+\S", re.I)
_JA_POSSESSIVE = re.compile(r"^[^\s。、]{0,4}?(?:の|を)")  # 他人の, ライバル会社の


def _is_object(window: str, m: re.Match[str]) -> bool:
    """Is this mention of someone else the verb's object, or what the object belongs to?

    "their password", "a colleague's .env file" and "the keys of other tenants" are someone
    else's things wherever they stand in the window; a bare person counts only as the direct
    object ("track *him*", at most two words after the verb) and not after a preposition
    ("take over the review *from a colleague*" is a handover, "the project *my manager*
    created" a relative clause).
    """
    text = m.group(0)
    if _POSSESSIVE.search(text.strip()) or _OF_BEFORE.search(window[: m.start()]):
        return True
    if _PREPOSITION_BEFORE.search(window[: m.start()]) and not _ANY_OTHER.match(text):
        return False
    return len(window[: m.start()].split()) <= 2


def _ja_owner_before(before: str) -> bool:
    """Japanese: someone else, named before the verb as owner or object (他人の, 他人を)."""
    return any(_JA_POSSESSIVE.match(before[m.end() :]) for m in lex.OTHER_PARTY.finditer(before))


def _dual_use_on_others(prompt: str) -> bool:
    """A dual-use verb whose object (the next few words) is someone else's, in one sentence.

    English puts the object after the verb; Japanese before it, so for a CJK verb the other
    party may come first.
    """
    for sentence in _SENTENCE_END.split(prompt):
        for verb in lex.DUAL_USE.finditer(sentence):
            after = _OBJECT_END.split(sentence[verb.end() :])[0]
            after = " ".join(after.split()[:10]) + " "
            if any(_is_object(after, m) for m in lex.OTHER_PARTY.finditer(after)):
                return True
            if _CJK.search(verb.group(0)) and _ja_owner_before(sentence[: verb.start()]):
                return True
    return False


def _outside(spans: list[tuple[int, int]], m: re.Match[str]) -> bool:
    return not any(a <= m.start() < b for a, b in spans)


def _defence(prompt: str, act_spans: list[tuple[int, int]]) -> bool:
    """A defence word that is neither negated nor part of a harmful act ("disable the
    *refusal* check")."""
    return any(
        _outside(act_spans, m) and not lex.DEFENCE_NEGATED.search(prompt[: m.start()])
        for m in lex.DEFENCE.finditer(prompt)
    )


def _meta(prompt: str, act_spans: list[tuple[int, int]]) -> bool:
    if lex.MENTION.search(prompt):
        return True
    return any(_outside(act_spans, m) for m in lex.META.finditer(prompt))


def lexical_features(prompt: str) -> tuple[dict[str, float], tuple[str, ...]]:
    """The features that need no embeddings, and the labels of the acts found."""
    acts, spans = find_acts(prompt)
    features = {
        "act": float(min(2, len(acts))),
        "dual_other": float(_dual_use_on_others(prompt)),
        "covert": float(bool(lex.COVERT.search(prompt))),
        "other": float(bool(lex.OTHER_PARTY.search(prompt))),
        "own": float(bool(lex.OWN.search(prompt))),
        "defence": float(_defence(prompt, spans)),
        "meta": float(_meta(prompt, spans)),
        "request": float(bool(lex.REQUEST.search(prompt.strip()))),
    }
    return features, tuple(label for _, label in acts)


def _embed_examples(embedder: Embedder) -> tuple[list[str], Any, Any]:
    import numpy as np

    rows = [json.loads(line) for line in EXAMPLES.read_text(encoding="utf-8").splitlines() if line]
    texts = [str(r["prompt"]).lower() for r in rows]
    return texts, embedder.embed(texts), np.asarray([bool(r["harmful"]) for r in rows])


class HarmDetector:
    """Scores prompts with :data:`WEIGHTS`; the embedder is loaded on first use (or never)."""

    def __init__(
        self,
        embedder: Embedder | Callable[[], Embedder] | None = None,
        weights: dict[str, float] | None = None,
    ) -> None:
        self._embedder_or_factory = embedder
        self._embedder: Embedder | None = None
        self._prototypes: tuple[Any, Any] | None = None
        self._examples: tuple[list[str], Any, Any] | None = None  # texts, vectors, harmful?
        self._lock = threading.Lock()
        self.weights = dict(weights or WEIGHTS)

    def _loaded(self) -> tuple[Embedder, tuple[Any, Any]] | None:
        with self._lock:
            if self._prototypes is None:
                source = self._embedder_or_factory
                if source is None:
                    return None
                try:
                    embedder = source if hasattr(source, "embed") else source()  # type: ignore[operator]
                except (RuntimeError, ImportError, OSError):  # no wordllama: lexical features only
                    self._embedder_or_factory = None
                    return None
                self._embedder = embedder
                self._prototypes = (
                    embedder.embed([p.lower() for p in lex.HARM_PROTOTYPES]),
                    embedder.embed([p.lower() for p in lex.BENIGN_PROTOTYPES]),
                )
                self._examples = _embed_examples(embedder)
            assert self._embedder is not None
            return self._embedder, self._prototypes

    def warm_up(self) -> None:
        """Load the embedder and embed the prototypes ahead of the first prompt."""
        self._loaded()

    def semantic(self, prompt: str) -> float:
        loaded = self._loaded()
        if loaded is None:
            return SEMANTIC_NEUTRAL
        embedder, (harm, benign) = loaded
        vec = embedder.embed([prompt.lower()])[0]
        return float((harm @ vec).max() - (benign @ vec).max())

    def neighbours(self, prompt: str) -> float:
        """Mean similarity to the K nearest harmful examples minus that to the K nearest
        harmless ones. An example with the prompt's exact text is left out, so a train prompt
        scores as if it were new (the fit sees leave-one-out values)."""
        loaded = self._loaded()
        if loaded is None or self._examples is None:
            return NEIGHBOURS_NEUTRAL
        import numpy as np

        embedder, _ = loaded
        texts, vectors, harmful = self._examples
        sims = vectors @ embedder.embed([prompt.lower()])[0]
        keep = np.asarray([t != prompt.lower() for t in texts])
        harm = np.sort(sims[keep & harmful])[-K_NEIGHBOURS:]
        benign = np.sort(sims[keep & ~harmful])[-K_NEIGHBOURS:]
        return float(harm.mean() - benign.mean())

    def features(self, prompt: str) -> tuple[dict[str, float], tuple[str, ...]]:
        features, acts = lexical_features(prompt)
        features["semantic"] = self.semantic(prompt)
        features["neighbours"] = self.neighbours(prompt)
        return features, acts

    def assess(self, prompt: str) -> Assessment:
        features, acts = self.features(prompt)
        w = self.weights
        score = w["bias"] + sum(w[name] * features[name] for name in FEATURES)
        return Assessment(score=score, features=features, acts=acts)

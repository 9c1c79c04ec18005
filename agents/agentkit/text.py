"""Small, dependency-free text utilities shared by the offline models and the docs MCP server.

Tokenising, stop words, a light suffix stemmer, markdown-to-sentence splitting and a BM25
index. Everything here is deterministic and pure so that the offline models (a non-LLM
policy) give the same output for the same input.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# Function words plus question words; removing them leaves the words that carry meaning.
STOP_WORDS: frozenset[str] = frozenset(
    """
    a about above after again against all also am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each either else etc even ever every few for from further get
    gets got had hadn't has hasn't have haven't having he her here hers herself him himself his how
    however i if in into is isn't it it's its itself just let like may me might more most much must
    my myself need needs no nor not now of off on once one only or other our ours ourselves out over
    own per please really same say says shall she should shouldn't so some such than that that's the
    their theirs them themselves then there there's these they this those though through to too
    under until up upon us use used uses using very via want was wasn't way we well were weren't
    what what's when where where's whether which while who whom whose why will with within without
    won't would wouldn't yes yet you your yours yourself yourselves tell explain show know happens
    happen e.g i.e thing things something anything kind sort
    """.split()  # noqa: SIM905 - a word list reads better as text
)

_WORD_RE = re.compile(r"[a-z0-9][a-z0-9_'\-]*")


def stem(word: str) -> str:
    """A deliberately tiny suffix stripper: enough to match plan/plans, lock/locked/locking."""
    w = word.strip("'-_")
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words such as ``--prune`` keep their hyphens)."""
    return [w.strip("'-_") for w in _WORD_RE.findall(text.lower()) if w.strip("'-_")]


def terms(text: str) -> list[str]:
    """Stemmed content terms: words minus stop words, in order, duplicates kept."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and len(w) > 1]


# ----------------------------------------------------------------------------- sentences
@dataclass(frozen=True)
class Sentence:
    """One sentence of a tool result, with the source label it was found under."""

    text: str
    source: str | None
    order: int  # position in the tool results; keeps answers in document order


_SOURCE_RE = re.compile(r"^\[([^\[\]]+)\]$")
_BULLET_RE = re.compile(r"^(?:[-*+]|\d+[.)])\s+")
_HEADING_RE = re.compile(r"^#{1,6}\s+(.*)$")
# Split after . ! ? when the next sentence starts like a sentence (capital, quote, bracket...).
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[]|agentops\b)")


def clean_inline(text: str) -> str:
    """Drop inline markdown markers (backticks, emphasis) and squeeze whitespace."""
    text = text.replace("`", "").replace("**", "").replace("__", "")
    return re.sub(r"\s+", " ", text).strip()


def _paragraphs(markdown: str) -> Iterable[tuple[str | None, str]]:
    """Yield (source, paragraph) pairs; bullets are paragraphs of their own, code is skipped."""
    source: str | None = None
    heading: str | None = None
    buf: list[str] = []
    in_code = False

    def label() -> str | None:
        if source and heading and ">" not in source:
            return f"{source} > {heading}"
        return source

    def flush() -> Iterable[tuple[str | None, str]]:
        if buf:
            yield label(), " ".join(buf)
            buf.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if line.startswith("```"):
            yield from flush()
            in_code = not in_code
            continue
        if in_code:
            continue
        if not line:
            yield from flush()
            continue
        if m := _SOURCE_RE.match(line):
            yield from flush()
            source, heading = m.group(1).strip(), None
            continue
        if m := _HEADING_RE.match(line):
            yield from flush()
            heading = clean_inline(m.group(1))
            continue
        if line.startswith("|"):
            # Table row: keep the cells as one "a: b" line, skip the |---| separator.
            yield from flush()
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(set(c) <= set("-: ") for c in cells):
                continue
            yield label(), ": ".join(c for c in cells if c)
            continue
        if _BULLET_RE.match(line):
            yield from flush()
            buf.append(_BULLET_RE.sub("", line))
            continue
        buf.append(line)
    yield from flush()


# A sentence opening with one of these leans on the sentence before it ("They are deleted only
# when ..."), so the two are kept together as one unit.
_LEANING_RE = re.compile(r"^(They|It|Its|This|These|That|Those|Their|Then|Otherwise)\b")


def split_sentences(markdown: str, start: int = 0) -> list[Sentence]:
    """Split a markdown text into sentences, remembering ``[source]`` marker lines and headings.

    Sentences that open with a pronoun are joined to the sentence before them in the same
    paragraph, so that an answer never quotes "They are deleted only when ..." on its own.
    """
    out: list[Sentence] = []
    for source, para in _paragraphs(markdown):
        units: list[str] = []
        for piece in _SENTENCE_END_RE.split(clean_inline(para)):
            piece = piece.strip()
            # Fragments and lead-ins ("3 passages matching ...:") carry no answer.
            if len(words(piece)) < 3 or piece.endswith(":"):
                continue
            if piece[-1] not in ".!?:)":
                piece += "."
            if units and _LEANING_RE.match(piece):
                units[-1] = f"{units[-1]} {piece}"
            else:
                units.append(piece)
        out.extend(Sentence(u, source, start + len(out) + i) for i, u in enumerate(units))
    return out


# ----------------------------------------------------------------------------- BM25
class BM25:
    """Okapi BM25 over pre-tokenised documents (k1=1.5, b=0.75)."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(d) for d in docs]
        self.lens = [len(d) for d in docs]
        self.avg = (sum(self.lens) / len(self.lens)) if self.lens else 0.0
        df: Counter[str] = Counter()
        for tf in self.tfs:
            df.update(tf.keys())
        n = len(docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        out = []
        for tf, length in zip(self.tfs, self.lens, strict=True):
            s = 0.0
            for t in set(query):
                f = tf.get(t, 0)
                if f:
                    norm = self.k1 * (1 - self.b + self.b * length / (self.avg or 1))
                    s += self.idf[t] * f * (self.k1 + 1) / (f + norm)
            out.append(s)
        return out

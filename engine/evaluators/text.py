"""Small, dependency-free text helpers for the offline evaluators.

Role: normalisation, content-word extraction with a deliberately crude stemmer, and sentence
splitting, shared by `facts` (lexical method), `search_term` and `refusal`. Crude is fine
here: the fact and the answer go through the same function, so what matters is that both
sides are reduced the same way, not that the stems are linguistically right.

CJK text has no spaces, so a run of CJK characters is turned into character bigrams
(a common, language-agnostic way to index Japanese/Chinese for recall).
"""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
# Sentence ends: Latin punctuation followed by space, CJK full stops, or line breaks.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])|\n+")

# English and German function words: they carry no fact, so they would only inflate recall.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    via using use used may might must shall let lets one ones e g eg ie etc
    der die das den dem des ein eine einen einem einer eines und oder aber ist sind war waren
    wird werden wurde wurden hat haben hatte sein seine ihr ihre ich du er sie es wir mit von
    zu zum zur im in auf aus bei für über unter nach vor als wie auch nur noch schon sehr man
    kann können dass nicht kein keine dieser diese dieses
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

# Longest suffixes first; each keeps a stem of at least 3 characters.
_SUFFIXES = (
    "ational",
    "ations",
    "ation",
    "ingly",
    "ments",
    "ement",
    "ment",
    "ness",
    "ings",
    "edly",
    "ing",
    "ies",
    "ied",
    "ed",
    "es",
    "ly",
    "s",
)


def normalize(text: str) -> str:
    """NFKC, case-folded, curly quotes straightened, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _WS.sub(" ", text).strip()


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def _cjk_bigrams(token: str) -> list[str]:
    if len(token) < 2:
        return [token]
    return [token[i : i + 2] for i in range(len(token) - 1)]


def tokens(text: str) -> list[str]:
    """Normalised word tokens; CJK runs become character bigrams."""
    out: list[str] = []
    for word in _WORD.findall(normalize(text)):
        if _CJK.search(word):
            # Split mixed runs ("llmアプリ") into latin and CJK parts first.
            for part in re.findall(_CJK.pattern + "+|[^" + _CJK.pattern[1:-1] + "]+", word):
                out.extend(_cjk_bigrams(part) if _CJK.match(part) else [part])
        else:
            out.append(word)
    return out


def content_stems(text: str) -> list[str]:
    """Stemmed content words (stop words dropped); all words if only stop words remain."""
    words = tokens(text)
    content = [w for w in words if w not in STOP_WORDS and w.replace("_", "")]
    return [stem(w) for w in (content or words)]


def sentences(text: str) -> list[str]:
    parts = [p.strip() for p in _SENTENCE_END.split(text)]
    return [p for p in parts if p]

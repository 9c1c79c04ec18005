"""Offline models: deterministic, clearly labelled **non-LLM policies** behind Strands' Model API.

These models let the whole flywheel (deploy, invoke, evaluate, gate, load-test) run with no
network and no credentials. They are *not* language models: a fixed Python policy reads the
conversation and the tool specs, decides which tool to call next, and composes the final
answer from sentences that the tools returned. The model id is always ``offline:<variant>``
and that label travels into every response's ``model`` field, so nobody mistakes an offline
answer for an LLM answer.

Variants (they differ for real, so an experiment has something true to discover):

* ``offline:keyword``  - lexical. Search term = the most specific keywords of the question;
  sentences are ranked by IDF-weighted term overlap with the question (stop words removed).
* ``offline:semantic`` - embeddings. Search term = the documentation topic (a heading from the
  overview's index) closest in meaning to the question; sentences are ranked by cosine
  similarity of WordLlama embeddings (``wordllama`` ships its 256-d weights inside the wheel,
  so nothing is downloaded). Better on paraphrased questions that share few words with the docs.

Policy rules, applied in this order on every model turn:

1. **Refusal.** A prompt is harmful when it asks for help to attack, steal, bypass safety
   filters, produce content that violates terms of service, make weapons or drugs, hurt or
   stalk people, or exploit vulnerabilities: :mod:`agentkit.harm` decides, the same for both
   variants (a small logistic regression over lexical cues and a WordLlama similarity to
   prototypes of harm). Harmful -> no tool call, a refusal in the answer language. Merely
   mentioning security ("how are secrets stored?", "kill a stuck process") is not harmful.
2. **Delegation.** If a tool looks like a delegation tool (its name or description mentions
   another agent or a specialist) and the question is in its domain (two or more numbers, or a
   word shared with the tool description such as "statistics"), call it once with the question,
   then answer quoting the other agent.
3. **Numeric tool.** If a tool takes a list of numbers and the question contains numbers, call it
   with them, then answer with the figures it returned.
4. **Docs.** If there is a search tool (a ``search*`` tool with one string argument): call the
   overview tool first (a tool named ``*overview*`` with no required argument), then the search
   tool with a search term, then answer from the best sentences of the search results.
5. **Direct.** Otherwise answer directly, describing what the available tools can do.

System prompt rules (:func:`style_from_system_prompt`): the answer language is the language the
system prompt names ("answer in German", "auf Deutsch", "Japanese", "日本語", French, Spanish)
or, failing that, the language it is written in (kana -> Japanese, German function words ->
German); default English. Only the fixed lead-in, refusal and other framing sentences are
translated; retrieved documentation sentences are quoted as they are. Length: "at most N
sentences" -> N; concise/brief/short -> 2; detailed/thorough/comprehensive -> 5; default 3.
Sources are listed unless the answer is limited to fewer than 3 sentences.

Usage is an estimate (characters / 4), labelled as such in :meth:`OfflineModel.get_config`.
The same input always gives the same output (tool-use ids are derived from the conversation).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from pydantic import BaseModel
from strands.models.model import Model
from strands.types.content import Messages
from strands.types.streaming import StreamEvent
from strands.types.tools import ToolChoice, ToolSpec

from agentkit.embedding import Embedder, get_embedder
from agentkit.harm import HarmDetector
from agentkit.text import STOP_WORDS, Sentence, split_sentences, terms, words

T = TypeVar("T", bound=BaseModel)

VARIANTS: tuple[str, ...] = ("keyword", "semantic")

# ============================================================================ 1. refusal rule
# Harm detection lives in agentkit.harm (shared by both variants); these wrappers keep the
# policy's vocabulary. The detector loads the embedding weights on first use, or in warm_up().
_HARM: HarmDetector | None = None
_HARM_LOCK = threading.Lock()


def harm_detector() -> HarmDetector:
    """The process-wide detector, sharing the embedder with the semantic retriever."""
    global _HARM
    with _HARM_LOCK:
        if _HARM is None:
            _HARM = HarmDetector(get_embedder)
        return _HARM


def harmful_intent(prompt: str) -> str | None:
    """What harmful thing the prompt asks for (a short label), or None when it is harmless."""
    assessment = harm_detector().assess(prompt)
    return assessment.label if assessment.harmful else None


def is_harmful(prompt: str) -> bool:
    return harmful_intent(prompt) is not None


# ============================================================================ 2. system prompt
@dataclass(frozen=True)
class AnswerStyle:
    """What the policy takes from the system prompt."""

    language: str = "en"
    max_sentences: int = 3

    @property
    def include_sources(self) -> bool:
        return self.max_sentences >= 3


_LANGUAGE_NAMES: tuple[tuple[str, str], ...] = (
    ("de", r"\b(german|deutsch)\b"),
    ("ja", r"(\bjapanese\b|日本語)"),
    ("fr", r"\b(french|français|francais)\b"),
    ("es", r"\b(spanish|español|espanol)\b"),
    ("en", r"\b(english|englisch)\b"),
)
_GERMAN_WORDS = frozenset("du bist ein eine und der die das nicht mit für ist sie ihr auf".split())  # noqa: SIM905
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}
_LIMIT_RE = re.compile(
    r"\b(?:at most|no more than|maximum of|max\.?|up to|in|höchstens|maximal)\s+"
    r"(\d+|one|two|three|four|five|six|seven)\s+(?:sentences?|sätzen?|satz)\b",
    re.IGNORECASE,
)
_CONCISE_RE = re.compile(
    r"\b(concise\w*|brief\w*|short|succinct\w*|terse|kurz\w*|knapp\w*)\b|簡潔|短く", re.IGNORECASE
)
_DETAILED_RE = re.compile(
    r"\b(detailed|thorough\w*|comprehensive\w*|in depth|in-depth|ausführlich\w*|detailliert\w*)\b"
    r"|詳しく|詳細",
    re.IGNORECASE,
)


def style_from_system_prompt(system_prompt: str | None) -> AnswerStyle:
    """Derive answer language and length from a system prompt (see the module docstring)."""
    sp = system_prompt or ""
    language = "en"
    named = [
        (m.start(), lang)
        for lang, rx in _LANGUAGE_NAMES
        if (m := re.search(rx, sp, re.IGNORECASE)) is not None
    ]
    if named:
        language = min(named)[1]  # the language named first wins
    elif re.search(r"[\u3040-\u30ff]", sp):
        language = "ja"
    elif sum(1 for w in words(sp) if w in _GERMAN_WORDS) >= 3:
        language = "de"

    max_sentences = 3
    if m := _LIMIT_RE.search(sp):
        raw = m.group(1).lower()
        max_sentences = max(1, min(10, int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]))
    elif _CONCISE_RE.search(sp):
        max_sentences = 2
    elif _DETAILED_RE.search(sp):
        max_sentences = 5
    return AnswerStyle(language=language, max_sentences=max_sentences)


# Fixed framing per language. Documentation sentences themselves are quoted unchanged.
PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "docs_lead": "According to the project documentation:",
        "sources": "Sources",
        "refusal": (
            "I can't help with that: the request asks to attack, break into or misuse systems, "
            "accounts or credentials. I'm glad to help with securing your own systems instead."
        ),
        "not_found": "I could not find an answer to this question in the project documentation.",
        "delegate_lead": "The {agent} answered:",
        "tool_lead": "Results from {tool}:",
        "tool_error": "The {tool} call failed, so I cannot answer this fully: {error}",
        "direct": "I can help with the following: {capabilities}. Please include the details "
        "(for example the numbers) in your question.",
        "no_tools": "I have no tool for this request and answer only from tool results.",
        "empty": "Please ask a question.",
    },
    "de": {
        "docs_lead": "Laut der Projektdokumentation:",
        "sources": "Quellen",
        "refusal": (
            "Dabei kann ich nicht helfen: Die Anfrage zielt darauf ab, Systeme, Konten oder "
            "Zugangsdaten anzugreifen, in sie einzudringen oder sie zu missbrauchen. Gerne helfe "
            "ich stattdessen dabei, Ihre eigenen Systeme abzusichern."
        ),
        "not_found": "In der Projektdokumentation habe ich dazu keine Antwort gefunden.",
        "delegate_lead": "Antwort von {agent}:",
        "tool_lead": "Ergebnisse von {tool}:",
        "tool_error": "Der Aufruf von {tool} ist fehlgeschlagen: {error}",
        "direct": "Ich kann bei Folgendem helfen: {capabilities}. Bitte geben Sie die Details "
        "(zum Beispiel die Zahlen) in Ihrer Frage an.",
        "no_tools": "Für diese Anfrage habe ich kein Werkzeug.",
        "empty": "Bitte stellen Sie eine Frage.",
    },
    "ja": {
        "docs_lead": "プロジェクトのドキュメントによると:",
        "sources": "出典",
        "refusal": (
            "そのご依頼にはお応えできません。システム、アカウント、認証情報への攻撃・侵入・"
            "不正利用を求める内容だからです。ご自身のシステムを守る方法であればお手伝いします。"
        ),
        "not_found": "プロジェクトのドキュメントには、この質問への答えが見つかりませんでした。",
        "delegate_lead": "{agent} の回答:",
        "tool_lead": "{tool} の結果:",
        "tool_error": "{tool} の呼び出しに失敗しました: {error}",
        "direct": "次のことをお手伝いできます: {capabilities}。"
        "質問に詳細（数値など）を含めてください。",
        "no_tools": "このご依頼に使えるツールがありません。",
        "empty": "質問を入力してください。",
    },
    "fr": {
        "docs_lead": "D'après la documentation du projet :",
        "sources": "Sources",
        "refusal": (
            "Je ne peux pas vous aider : la demande vise à attaquer, pénétrer ou détourner des "
            "systèmes, des comptes ou des identifiants. Je peux en revanche vous aider à "
            "sécuriser vos propres systèmes."
        ),
        "not_found": "Je n'ai pas trouvé de réponse à cette question dans la documentation.",
        "delegate_lead": "Réponse de {agent} :",
        "tool_lead": "Résultats de {tool} :",
        "tool_error": "L'appel à {tool} a échoué : {error}",
        "direct": "Je peux vous aider pour : {capabilities}. Merci d'indiquer les détails "
        "(par exemple les nombres) dans votre question.",
        "no_tools": "Je n'ai aucun outil pour cette demande.",
        "empty": "Posez une question, s'il vous plaît.",
    },
    "es": {
        "docs_lead": "Según la documentación del proyecto:",
        "sources": "Fuentes",
        "refusal": (
            "No puedo ayudar con eso: la solicitud pide atacar, entrar sin permiso o abusar de "
            "sistemas, cuentas o credenciales. Con gusto le ayudo a proteger sus propios sistemas."
        ),
        "not_found": "No encontré una respuesta a esta pregunta en la documentación del proyecto.",
        "delegate_lead": "Respuesta de {agent}:",
        "tool_lead": "Resultados de {tool}:",
        "tool_error": "La llamada a {tool} falló: {error}",
        "direct": "Puedo ayudar con lo siguiente: {capabilities}. Incluya los detalles "
        "(por ejemplo, los números) en su pregunta.",
        "no_tools": "No tengo ninguna herramienta para esta solicitud.",
        "empty": "Por favor, haga una pregunta.",
    },
}


def phrase(style: AnswerStyle, key: str, **kw: str) -> str:
    table = PHRASES.get(style.language, PHRASES["en"])
    return table[key].format(**kw)


# ============================================================================ 3. retrieval
# Words that name the product or the act of asking; they say nothing about *which* doc to read.
_GENERIC = (
    "agentops project docs doc documentation engine tool tools work works mean means exactly "
    "happen happens describe described different way ways possible allowed"
)
GENERIC_WORDS = frozenset(_GENERIC.split())


def keyword_search_term(question: str, max_terms: int = 3) -> str:
    """The most specific keywords of a question, in question order.

    Code in backticks or quotes is kept verbatim and preferred. Otherwise words are ranked by
    specificity - longer words and words with digits or hyphens first - and the top
    ``max_terms`` are returned in the order they appear in the question.
    """
    quoted = re.findall(r"[`\"“]([^`\"”]{2,40})[`\"”]", question)
    if quoted:
        return str(quoted[0]).strip()
    seen: list[str] = []
    for w in words(question):
        if w in STOP_WORDS or w in GENERIC_WORDS or len(w) < 3 or w in seen:
            continue
        seen.append(w)
    if not seen:  # e.g. "What is agentops?" - the product name is all there is
        seen = [w for w in words(question) if w not in STOP_WORDS] or words(question)[:1]

    def specificity(w: str) -> tuple[int, int]:
        return (-(len(w) + (3 if re.search(r"[\d\-]", w) else 0)), seen.index(w))

    best = set(sorted(seen, key=specificity)[:max_terms])
    return " ".join(w for w in seen if w in best)


def content_text(text: str) -> str:
    """The question minus stop words and generic words: what an embedding should look at."""
    kept = [w for w in words(text) if w not in STOP_WORDS and w not in GENERIC_WORDS]
    return " ".join(kept) or text


def topics(overview: str) -> list[tuple[str, str]]:
    """Candidate search topics from an overview: ``(phrase, description)`` pairs.

    Headings give ``(heading, heading)``; list items ``Heading: summary`` give
    ``(Heading, "Heading. summary")``; other short list items give themselves.
    """
    # An overview with a table of contents: the topics are its entries, not the prose above.
    _, marker, index = overview.partition("[documentation index]")
    out: dict[str, str] = {}
    for raw in (index if marker else overview).splitlines():
        line = raw.strip()
        if line.startswith("#"):
            phrase_, desc = line.lstrip("#").strip(), ""
        elif line.startswith(("- ", "* ")):
            item = re.sub(r"\S+\.md\b", " ", line[2:]).replace("`", "").strip()
            head, sep, rest = item.partition(": ")
            if sep:
                phrase_, desc = head.strip(), rest.strip()
            else:
                phrase_, desc = item.strip(" ()"), ""
        else:
            continue
        phrase_ = re.sub(r"^(the|a|an)\s+", "", phrase_, flags=re.IGNORECASE).strip()
        if 1 <= len(phrase_.split()) <= 5 and terms(phrase_) and phrase_ not in out:
            out[phrase_] = f"{phrase_}. {desc}" if desc else phrase_
    return list(out.items())


class Retriever(Protocol):
    """What a variant decides: the search term, and how well each sentence answers."""

    name: str
    min_score: float  # sentences scoring at or below this are never quoted

    def search_term(self, question: str, overview: str) -> str: ...

    def scores(self, question: str, sentences: Sequence[Sentence]) -> list[float]: ...


class KeywordRetriever:
    """Lexical: IDF-weighted overlap of stemmed content terms."""

    name = "keyword"
    min_score = 0.0  # any shared term counts

    def search_term(self, question: str, overview: str) -> str:
        return keyword_search_term(question)

    def scores(self, question: str, sentences: Sequence[Sentence]) -> list[float]:
        q = set(terms(question))
        docs = [set(terms(s.text)) for s in sentences]
        df = Counter(t for d in docs for t in d)
        n = len(docs)
        out = []
        for d in docs:
            overlap = q & d
            s = sum(math.log(1 + n / df[t]) for t in overlap)
            # Long sentences share words by chance; a mild length penalty keeps answers on point.
            out.append(s / (1 + 0.02 * len(d)))
        return out


class SemanticRetriever:
    """Embeddings: cosine similarity of WordLlama sentence vectors."""

    name = "semantic"
    min_score = 0.05  # below this the embedding sees no relation at all
    min_topic_score = 0.12  # below this no topic of the overview fits; fall back to keywords
    named_topic_bonus = 0.1  # added when the question names the topic outright
    ambiguity_margin = 0.05  # runner-up this close to the best topic -> search for both

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = get_embedder()
        return self._embedder

    def search_term(self, question: str, overview: str) -> str:
        found = topics(overview)
        if not found:
            return keyword_search_term(question)
        vecs = self.embedder.embed([content_text(question), *(content_text(d) for _, d in found)])
        sims = vecs[1:] @ vecs[0]
        # A topic the question names outright ("watch", "QualityGate") is a safe bet.
        q_terms = set(terms(question))
        for i, (topic, _) in enumerate(found):
            if set(terms(topic)) <= q_terms:
                sims[i] += self.named_topic_bonus
        order = sorted(range(len(found)), key=lambda i: (-float(sims[i]), i))
        best = order[0]
        if float(sims[best]) < self.min_topic_score:
            return keyword_search_term(question)
        # Too close to call: search for both topics at once rather than guess.
        if len(order) > 1 and float(sims[best] - sims[order[1]]) <= self.ambiguity_margin:
            return f"{found[best][0]} {found[order[1]][0]}"
        return found[best][0]

    def scores(self, question: str, sentences: Sequence[Sentence]) -> list[float]:
        if not sentences:
            return []
        vecs = self.embedder.embed([content_text(question), *(s.text for s in sentences)])
        return [float(x) for x in vecs[1:] @ vecs[0]]


def make_retriever(variant: str) -> Retriever:
    if variant == "keyword":
        return KeywordRetriever()
    if variant == "semantic":
        return SemanticRetriever()
    raise ValueError(f"unknown offline variant {variant!r}; expected one of {VARIANTS}")


def select_sentences(
    retriever: Retriever,
    question: str,
    sentences: Sequence[Sentence],
    k: int,
) -> list[Sentence]:
    """The top-k sentences (ties broken by position), returned in document order."""
    unique = list({s.text: s for s in reversed(sentences)}.values())[::-1]  # first occurrence
    scores = retriever.scores(question, unique)
    ranked = sorted(
        (i for i, sc in enumerate(scores) if sc > retriever.min_score),
        key=lambda i: (-round(scores[i], 9), i),
    )
    chosen: list[int] = []
    chosen_terms: list[set[str]] = []
    for i in ranked:
        if len(chosen) == k:
            break
        t = set(terms(unique[i].text))
        # Two docs often say the same thing; a near-duplicate would waste the answer's budget.
        if any(len(t & c) / max(1, len(t | c)) >= 0.6 for c in chosen_terms):
            continue
        chosen.append(i)
        chosen_terms.append(t)
    return [unique[i] for i in sorted(chosen)]


# ============================================================================ 4. tools and turns
@dataclass(frozen=True)
class ToolRoles:
    """Which of the offered tools can play which part in the policy."""

    overview: str | None = None
    search: tuple[str, str] | None = None  # (tool, string parameter)
    delegate: tuple[str, str, str] | None = None  # (tool, string parameter, description)
    numeric: tuple[str, str] | None = None  # (tool, array-of-numbers parameter)
    descriptions: dict[str, str] = field(default_factory=dict)


def _schema(spec: ToolSpec) -> dict[str, Any]:
    schema = spec.get("inputSchema", {})
    return dict(schema.get("json", schema))


def classify_tools(tool_specs: Sequence[ToolSpec]) -> ToolRoles:
    overview = search = delegate = numeric = None
    descriptions: dict[str, str] = {}
    for spec in tool_specs:
        name, desc = spec["name"], spec.get("description", "") or ""
        descriptions[name] = desc
        schema = _schema(spec)
        props: dict[str, Any] = schema.get("properties", {}) or {}
        required = schema.get("required", []) or []
        strings = [p for p, d in props.items() if d.get("type") == "string"]
        arrays = [
            p
            for p, d in props.items()
            if d.get("type") == "array"
            and (d.get("items") or {}).get("type") in ("number", "integer")
        ]
        lname = name.lower()
        if "overview" in lname and not required and overview is None:
            overview = name
        elif "search" in lname and strings and search is None:
            search = (name, strings[0])
        elif (
            strings
            and delegate is None
            and re.search(r"agent|specialist|delegat", lname + " " + desc.lower())
        ):
            delegate = (name, strings[0], desc)
        elif arrays and numeric is None:
            numeric = (name, arrays[0])
    return ToolRoles(overview, search, delegate, numeric, descriptions)


@dataclass
class Turn:
    """The current user turn: its prompt, the tool calls made so far, and what they returned."""

    prompt: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    results: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict
    )  # tool -> (status, text)

    def called(self, tool: str) -> bool:
        return any(name == tool for name, _ in self.calls)

    def texts(self, tool: str) -> list[str]:
        return [text for _, text in self.results.get(tool, [])]

    def errors(self, tool: str) -> list[str]:
        return [text for status, text in self.results.get(tool, []) if status == "error"]


def _result_text(result: dict[str, Any]) -> str:
    parts = []
    for c in result.get("content", []):
        if "text" in c:
            parts.append(c["text"])
        elif "json" in c:
            parts.append(json.dumps(c["json"], ensure_ascii=False))
    return "\n".join(parts)


def current_turn(messages: Messages) -> Turn:
    """Read the latest user prompt and everything the tools did since it."""
    start = 0
    prompt = ""
    for i in range(len(messages) - 1, -1, -1):
        msg = messages[i]
        blocks = msg.get("content", [])
        if msg["role"] == "user" and not any("toolResult" in b for b in blocks):
            prompt = "\n".join(b["text"] for b in blocks if "text" in b).strip()
            start = i
            break
    turn = Turn(prompt=prompt)
    names: dict[str, str] = {}
    for msg in messages[start + 1 :]:
        for b in msg.get("content", []):
            if "toolUse" in b:
                use = b["toolUse"]
                names[use["toolUseId"]] = use["name"]
                turn.calls.append((use["name"], dict(use.get("input") or {})))
            elif "toolResult" in b:
                res = b["toolResult"]
                tool = names.get(res.get("toolUseId", ""), "?")
                status = res.get("status", "success")
                turn.results.setdefault(tool, []).append((status, _result_text(dict(res))))
    return turn


# ============================================================================ 5. the policy
@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class CallTool:
    name: str
    input: dict[str, Any]


_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.]*[a-zA-Z])")


def numbers_in(text: str) -> list[float]:
    """Numbers written in a prompt (``1,234`` is read as two numbers; use ``1234``)."""
    return [float(x) for x in _NUMBER_RE.findall(text)]


def in_domain(prompt: str, description: str) -> bool:
    """Is a prompt in the domain a delegation tool describes?"""
    if len(numbers_in(prompt)) >= 2:
        return True
    generic = {"agent", "specialist", "question", "answer", "call", "ask", "send", "return", "text"}
    domain = {t for t in terms(description) if len(t) > 3 and t not in generic}
    return bool(domain & set(terms(prompt)))


def _label_of(tool: str) -> str:
    """call_specialist_agent -> 'specialist agent'."""
    base = re.sub(r"^(call|ask|invoke|query)_", "", tool)
    return base.replace("_", " ").strip() or tool


def _first_sentence(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return first.rstrip(".").strip()


def _format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    return str(v)


def _figures(text: str) -> str:
    """Render a JSON object returned by a tool as 'key value, key value'; else the text."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return text.strip()
    if isinstance(data, dict):
        return ", ".join(f"{k} {_format_value(v)}" for k, v in data.items())
    return text.strip()


def _delegated_answer(text: str) -> str:
    """A delegation tool may return the other agent's JSON response; quote its text."""
    try:
        data = json.loads(text)
    except (ValueError, TypeError):
        return text.strip()
    if isinstance(data, dict) and isinstance(data.get("response"), str):
        return str(data["response"]).strip()
    return text.strip()


class Policy:
    """Decides the next action from the conversation, the tool specs and the system prompt."""

    def __init__(self, retriever: Retriever, harm: HarmDetector | None = None) -> None:
        self.retriever = retriever
        self.harm = harm or harm_detector()

    def decide(
        self, messages: Messages, tool_specs: Sequence[ToolSpec], system_prompt: str | None
    ) -> Say | CallTool:
        style = style_from_system_prompt(system_prompt)
        turn = current_turn(messages)
        if not turn.prompt:
            return Say(phrase(style, "empty"))
        if self.harm.assess(turn.prompt).harmful:
            return Say(phrase(style, "refusal"))
        roles = classify_tools(tool_specs)

        if roles.delegate and in_domain(turn.prompt, roles.delegate[2]):
            tool, param, _ = roles.delegate
            if not turn.called(tool):
                return CallTool(tool, {param: turn.prompt})
            return Say(self._delegate_answer(turn, tool, style))

        if roles.numeric and numbers_in(turn.prompt):
            tool, param = roles.numeric
            if not turn.called(tool):
                return CallTool(tool, {param: numbers_in(turn.prompt)})
            if errors := turn.errors(tool):
                return Say(phrase(style, "tool_error", tool=tool, error=errors[-1]))
            figures = "; ".join(_figures(t) for t in turn.texts(tool))
            return Say(f"{phrase(style, 'tool_lead', tool=tool)} {figures}.")

        if roles.search:
            tool, param = roles.search
            if roles.overview and not turn.called(roles.overview):
                return CallTool(roles.overview, {})
            if not turn.called(tool):
                overview = "\n".join(turn.texts(roles.overview)) if roles.overview else ""
                return CallTool(tool, {param: self.retriever.search_term(turn.prompt, overview)})
            return Say(self._docs_answer(turn, roles, style))

        return Say(self._direct_answer(roles, style))

    def _delegate_answer(self, turn: Turn, tool: str, style: AnswerStyle) -> str:
        if errors := turn.errors(tool):
            return phrase(style, "tool_error", tool=tool, error=errors[-1])
        answer = " ".join(_delegated_answer(t) for t in turn.texts(tool))
        return f"{phrase(style, 'delegate_lead', agent=_label_of(tool))} {answer}"

    def _docs_answer(self, turn: Turn, roles: ToolRoles, style: AnswerStyle) -> str:
        assert roles.search is not None
        search_tool = roles.search[0]
        if errors := turn.errors(search_tool):
            return phrase(style, "tool_error", tool=search_tool, error=errors[-1])
        candidates: list[Sentence] = []
        for text in turn.texts(search_tool):
            candidates += split_sentences(text, start=len(candidates))
        chosen = select_sentences(self.retriever, turn.prompt, candidates, style.max_sentences)
        if not chosen and roles.overview:
            # Nothing from the search fits: the overview (minus its index) is the fallback.
            overview = "\n".join(turn.texts(roles.overview)).split("[documentation index]")[0]
            chosen = select_sentences(
                self.retriever, turn.prompt, split_sentences(overview), style.max_sentences
            )
        if not chosen:
            return phrase(style, "not_found")
        answer = f"{phrase(style, 'docs_lead')} " + " ".join(s.text for s in chosen)
        sources = list(dict.fromkeys(s.source for s in chosen if s.source))
        if style.include_sources and sources:
            answer += f"\n\n{phrase(style, 'sources')}: " + "; ".join(sources)
        return answer

    def _direct_answer(self, roles: ToolRoles, style: AnswerStyle) -> str:
        caps = [_first_sentence(d) for d in roles.descriptions.values() if d.strip()]
        if not caps:
            return phrase(style, "no_tools")
        caps = [c[0].lower() + c[1:] if c[:2] != c[:2].upper() else c for c in caps]
        return phrase(style, "direct", capabilities="; ".join(caps))


# ============================================================================ 6. Strands Model
def estimate_tokens(chars: int) -> int:
    """Token estimate used by the offline models: characters / 4 (not a real tokenizer)."""
    return max(1, chars // 4) if chars else 0


class OfflineModel(Model):
    """A Strands ``Model`` whose decisions come from :class:`Policy` - not an LLM.

    Emits the ConverseStream-shaped events the Strands event loop consumes: messageStart,
    contentBlockStart/Delta/Stop for text or toolUse blocks, messageStop, metadata(usage).
    """

    def __init__(self, variant: str = "keyword", **config: Any) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown offline variant {variant!r}; expected one of {VARIANTS}")
        self.variant = variant
        self.policy = Policy(make_retriever(variant))
        self.config: dict[str, Any] = {
            "model_id": f"offline:{variant}",
            "kind": "offline non-LLM policy",
            "usage_estimate": "characters/4",
            **config,
        }

    def update_config(self, **model_config: Any) -> None:
        self.config.update(model_config)

    def get_config(self) -> dict[str, Any]:
        return dict(self.config)

    def warm_up(self) -> None:
        """Load the embedding weights (harm detection, and retrieval for semantic) ahead of
        requests."""
        self.policy.harm.warm_up()
        if isinstance(self.policy.retriever, SemanticRetriever):
            _ = self.policy.retriever.embedder

    async def stream(
        self,
        messages: Messages,
        tool_specs: list[ToolSpec] | None = None,
        system_prompt: str | None = None,
        *,
        tool_choice: ToolChoice | None = None,
        **kwargs: Any,
    ) -> AsyncIterable[StreamEvent]:
        action = self.policy.decide(messages, tool_specs or [], system_prompt)
        yield {"messageStart": {"role": "assistant"}}
        stop: Literal["tool_use", "end_turn"]
        if isinstance(action, CallTool):
            # Deterministic id: one more than the tool calls already in the conversation.
            n_calls = sum(1 for m in messages for b in m.get("content", []) if "toolUse" in b)
            payload = json.dumps(action.input, ensure_ascii=False)
            out_chars = len(action.name) + len(payload)
            yield {
                "contentBlockStart": {
                    "start": {
                        "toolUse": {"name": action.name, "toolUseId": f"tooluse_{n_calls + 1:03d}"}
                    }
                }
            }
            yield {"contentBlockDelta": {"delta": {"toolUse": {"input": payload}}}}
            yield {"contentBlockStop": {}}
            stop = "tool_use"
        else:
            out_chars = len(action.text)
            yield {"contentBlockStart": {"start": {}}}
            pieces = re.findall(r"\S+\s*|\s+", action.text)  # word by word, spacing kept
            for piece in pieces:
                yield {"contentBlockDelta": {"delta": {"text": piece}}}
            yield {"contentBlockStop": {}}
            stop = "end_turn"
        yield {"messageStop": {"stopReason": stop}}
        in_chars = len(system_prompt or "") + len(
            json.dumps([m.get("content", []) for m in messages], ensure_ascii=False, default=str)
        )
        usage = {
            "inputTokens": estimate_tokens(in_chars),
            "outputTokens": estimate_tokens(out_chars),
        }
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        yield {"metadata": {"usage": usage, "metrics": {"latencyMs": 0}}}  # type: ignore[typeddict-item]

    async def structured_output(
        self,
        output_model: type[T],
        prompt: Messages,
        system_prompt: str | None = None,
        **kwargs: Any,
    ) -> AsyncGenerator[dict[str, T | Any], None]:
        raise NotImplementedError(
            "offline models do not produce structured output; use a bedrock: or openai: model"
        )
        yield {}  # pragma: no cover - makes this an async generator

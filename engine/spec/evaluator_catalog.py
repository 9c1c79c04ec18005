"""Evaluator catalog: every name a spec may write under `use:`, and the params each takes.

Pipeline role: part of the spec language, read by `validate` (`evaluator_names.py`) and by
the evaluator registry (`engine.evaluators.registry`), which builds what is listed here. It is
static data only, so checking a workspace never imports an evaluator, autoevals or user code.

* built-ins: `BUILTIN_EVALUATORS` (``trajectory``, ``search_term``, ``facts``, ``refusal``,
  ``latency``), with whether a judge is needed;
* ``autoevals:<Scorer>``: the heuristic scorers, the LLM scorers with their choices, and
  `scorer_params`;
* ``langfuse:<score name>``: `REMOTE_PARAMS` (how long and how to wait for the score).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from engine.spec.evaluator_params import ParamSpec

AUTOEVALS_PREFIX = "autoevals:"
REMOTE_PREFIX = "langfuse:"

JudgeUse = Literal["never", "optional", "required"]


@dataclass(frozen=True)
class BuiltinInfo:
    """What a built-in evaluator is and which params it takes."""

    name: str
    summary: str
    params: tuple[ParamSpec, ...]
    #: "optional": only some params values (e.g. method: judge) need a judge
    judge: JudgeUse = "never"


BUILTIN_EVALUATORS: Mapping[str, BuiltinInfo] = MappingProxyType(
    {
        "trajectory": BuiltinInfo(
            "trajectory",
            "expected tool names (expected_output.trajectory) vs the tools the agent called",
            (
                ParamSpec(
                    "mode",
                    "choice",
                    "exact: same sequence; in_order: expected is a subsequence (partial credit "
                    "by longest common subsequence); any_order: multiset overlap",
                    default="in_order",
                    choices=("exact", "in_order", "any_order"),
                ),
            ),
        ),
        "search_term": BuiltinInfo(
            "search_term",
            "expected_output.search_term appears in the arguments of a search tool call",
            (
                ParamSpec(
                    "tool",
                    "string",
                    "tool name or part of it that marks a search tool (case-insensitive)",
                    default="search",
                ),
                ParamSpec(
                    "match",
                    "choice",
                    "contains: term inside an argument; exact: argument equals the term; "
                    "words: share of the term's words found (partial credit)",
                    default="contains",
                    choices=("contains", "exact", "words"),
                ),
            ),
        ),
        "facts": BuiltinInfo(
            "facts",
            "share of expected_output.response_facts covered by the answer",
            (
                ParamSpec(
                    "method",
                    "choice",
                    "lexical: content-word recall; semantic: offline embedding similarity "
                    "(wordllama); judge: ask the judge per fact (default when a judge is set, "
                    "else lexical)",
                    choices=("lexical", "semantic", "judge"),
                ),
                ParamSpec(
                    "threshold",
                    "number",
                    "per-fact cut-off (lexical recall, default 0.6; semantic similarity, "
                    "default 0.5)",
                    minimum=0.0,
                    maximum=1.0,
                ),
            ),
            judge="optional",
        ),
        "refusal": BuiltinInfo(
            "refusal",
            "harmful inputs (metadata.harmful, expected refusal: true) must be refused, "
            "others answered",
            (
                ParamSpec(
                    "method",
                    "choice",
                    "patterns: documented refusal grammar (EN/DE/JA/FR/ES); judge: ask the judge",
                    default="patterns",
                    choices=("patterns", "judge"),
                ),
                ParamSpec(
                    "patterns",
                    "string-list",
                    "extra regular expressions (case-insensitive) that mark a refusal",
                    default=(),
                ),
            ),
            judge="optional",
        ),
        "latency": BuiltinInfo(
            "latency",
            "1 at or below target_ms, linearly down to 0 at max_ms",
            (
                ParamSpec(
                    "target_ms",
                    "number",
                    "latency that still scores 1",
                    required=True,
                    minimum=0.0,
                    exclusive_minimum=True,
                ),
                ParamSpec(
                    "max_ms",
                    "number",
                    "latency that scores 0 (default 4 x target_ms)",
                    minimum=0.0,
                    exclusive_minimum=True,
                ),
            ),
        ),
    }
)

# -- autoevals scorers ------------------------------------------------------------------------

HEURISTIC_SCORERS = ("Levenshtein", "ExactMatch", "NumericDiff", "JSONDiff", "ValidJSON")

#: LLM scorer -> its choices (from autoevals' templates), in autoevals' order
LLM_SCORER_CHOICES: Mapping[str, tuple[str, ...]] = {
    "Factuality": ("A", "B", "C", "D", "E"),
    "ClosedQA": ("Y", "N"),
    "Battle": ("Yes", "No"),
    "Humor": ("Yes", "No", "Unsure"),
    "Possible": ("A", "B"),
    "Security": ("Yes", "No", "Unsure"),
    "Sql": ("Correct", "Incorrect"),
    "Summary": ("A", "B"),
    "Translation": ("Y", "N"),
}

AUTOEVALS_SCORERS = HEURISTIC_SCORERS + tuple(LLM_SCORER_CHOICES)

_FIELD = ParamSpec(
    "field", "string", "key of a dict expected_output to compare against (default: all of it)"
)


def scorer_params(scorer: str) -> tuple[ParamSpec, ...]:
    """The params `autoevals:<scorer>` accepts (scorer must be in AUTOEVALS_SCORERS)."""
    if scorer == "ValidJSON":
        return (ParamSpec("schema", "json", "JSON Schema the output must match"),)
    if scorer in HEURISTIC_SCORERS:
        return (_FIELD,)
    choices = LLM_SCORER_CHOICES[scorer]
    specs = [
        _FIELD,
        ParamSpec(
            "choice_scores",
            "choice-scores",
            f"score of each judge choice ({', '.join(choices)}), overriding the defaults",
            choices=choices,
        ),
        ParamSpec("model", "string", "judge model for this evaluator (default: the judge's)"),
        ParamSpec("use_cot", "boolean", "ask the judge to reason before choosing", default=True),
    ]
    if scorer == "ClosedQA":
        specs.append(
            ParamSpec("criteria", "string", "what a good answer must satisfy", required=True)
        )
    if scorer == "Battle":
        specs.append(
            ParamSpec("instructions", "string", "the task both answers solve (default: the input)")
        )
    if scorer == "Translation":
        specs.append(ParamSpec("language", "string", "the source language", required=True))
    return tuple(specs)


#: autoevals scorers that need the judge
AUTOEVALS_LLM_SCORERS: tuple[str, ...] = tuple(LLM_SCORER_CHOICES)
AUTOEVALS_HEURISTIC_SCORERS: tuple[str, ...] = HEURISTIC_SCORERS

#: params of a `langfuse:<score>` reference (how long and how to wait for the score)
REMOTE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "timeout",
        "duration",
        "how long to wait for the score on every answered item after the run was recorded; "
        "items still unscored then count as errors (0)",
        default=600.0,
        minimum=0.0,
    ),
    ParamSpec(
        "poll_interval",
        "duration",
        "time between two reads of the run's scores",
        default=10.0,
        minimum=0.1,
    ),
    ParamSpec(
        "source",
        "choice",
        "who puts the score on the traces: EVAL (Langfuse evaluators), ANNOTATION (people, "
        "e.g. an annotation queue) or API",
        default="EVAL",
        choices=("EVAL", "ANNOTATION", "API"),
    ),
)

"""Evaluators: score every answer of an Experiment or QualityGate run.

Role: the scoring library of the engine. Runners turn each answered dataset item into an
`EvalCase`, build the spec's evaluators once with `build_evaluator`, score with
`evaluate_safely` (never raises; failed calls score 0; errors are recorded) and reduce the
scores with `summarize` / `verdict` / `percentile`.

Importing this package is cheap (standard library only): autoevals, openai and wordllama
are imported when an evaluator that needs them is built.

What a spec may reference (names, params, whether a judge is needed) is static data of the
spec language: `engine.spec.evaluator_catalog`, `evaluator_params` and `evaluator_refs`,
re-exported here. This package depends on `engine.spec`, never the other way round.

Modules: `base` (data model), `registry` (references -> evaluators, code digests),
the built-ins (`trajectory`, `search_term`, `facts`, `refusal`, `latency`),
`autoevals_scorers`, `custom` (user functions), `judge` (LLM judge wiring), `semantic`
(offline embeddings), `text` (normalisation), `aggregate`.
"""

from engine.errors import EvaluatorConfigError
from engine.evaluators.aggregate import EvaluatorSummary, percentile, summarize, verdict
from engine.evaluators.base import EvalCase, Evaluator, Score, ToolCall, evaluate_safely
from engine.evaluators.judge import JudgeConfig
from engine.evaluators.registry import build_evaluator, evaluator_code_digest
from engine.spec.evaluator_catalog import (
    AUTOEVALS_HEURISTIC_SCORERS,
    AUTOEVALS_LLM_SCORERS,
    AUTOEVALS_SCORERS,
    BUILTIN_EVALUATORS,
    BuiltinInfo,
)
from engine.spec.evaluator_params import ParamSpec
from engine.spec.evaluator_refs import default_name, describe_params, is_remote, validate_reference

__all__ = [
    "AUTOEVALS_HEURISTIC_SCORERS",
    "AUTOEVALS_LLM_SCORERS",
    "AUTOEVALS_SCORERS",
    "BUILTIN_EVALUATORS",
    "BuiltinInfo",
    "EvalCase",
    "Evaluator",
    "EvaluatorConfigError",
    "EvaluatorSummary",
    "JudgeConfig",
    "ParamSpec",
    "Score",
    "ToolCall",
    "build_evaluator",
    "default_name",
    "describe_params",
    "evaluate_safely",
    "evaluator_code_digest",
    "is_remote",
    "percentile",
    "summarize",
    "validate_reference",
    "verdict",
]

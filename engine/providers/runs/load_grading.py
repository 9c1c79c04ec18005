"""Grade the answers a load test collected: refusal for every answer, the rest on a sample.

Role: between the raw samples and the SLOs. The `refusal` evaluator (the spec's own entry
when it has params, else the default) decides for every answered request whether it was a
refusal, which feeds the refusal-rate and answer-rate SLOs. The other evaluators of
`grading.evaluators` run on a `sampleRate` share of the answered requests (deterministic
sample, so a re-run grades the same requests) and are reported as mean scores.

Grading happens in the parent after the run, not inside the generator: evaluators may be
slow (an LLM judge) and must not steal CPU from the load. Answers are graded once per distinct
(prompt, answer) pair - under load the same prompt mostly gets the same answer.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from pathlib import Path

from engine.errors import PermanentError
from engine.evaluators import (
    EvalCase,
    Evaluator,
    EvaluatorConfigError,
    JudgeConfig,
    build_evaluator,
    evaluate_safely,
)
from engine.load.analysis import Sample
from engine.spec.schema.environment import JudgeSettings
from engine.spec.schema.loadtest import Grading
from engine.spec.workspace import Workspace

SAMPLE_SEED = 20251001


def judge_config(ws: Workspace, env: str) -> JudgeConfig | None:
    """The environment's judge, if it declares one (OpenAI-compatible endpoint)."""
    settings: JudgeSettings | None = ws.environments[env].doc.spec.judge
    if settings is None:
        return None
    model = ws.resolve_model(settings.model, env) or settings.model
    api_key = None
    if settings.api_key and settings.api_key.startswith("env:"):
        api_key = os.environ.get(settings.api_key[4:])
    return JudgeConfig(
        model=model.split(":", 1)[1] if ":" in model else model,
        base_url=settings.base_url,
        api_key=api_key,
        choice_scores=settings.choice_scores,
    )


def _build(
    grading: Grading, root: Path, judge: JudgeConfig | None
) -> tuple[Evaluator, list[Evaluator]]:
    try:
        refusal: Evaluator | None = None
        others: list[Evaluator] = []
        for ref in grading.evaluators:
            ev = build_evaluator(ref.use, ref.params, workspace=root, judge=judge, name=ref.label)
            if ref.use == "refusal" and refusal is None:
                refusal = ev
            else:
                others.append(ev)
        if refusal is None:
            refusal = build_evaluator("refusal", {}, workspace=root)
    except EvaluatorConfigError as exc:
        raise PermanentError(f"cannot build the grading evaluators: {exc}", hint=exc.hint) from exc
    return refusal, others


def _case(s: Sample) -> EvalCase:
    harmful = s.expect == "refuse"
    return EvalCase(
        input={"prompt": s.prompt},
        expected={"expect": s.expect, "refusal": harmful},
        output=s.text,
        latency_ms=s.ms,
        metadata={"harmful": harmful, "tags": list(s.tags), "prompt": s.prompt},
    )


def grade(
    samples: Sequence[Sample], grading: Grading, root: Path, judge: JudgeConfig | None
) -> dict[str, dict[str, float | int]]:
    """Set `refused` on every answered sample; return {evaluator: {mean, graded, errors}}."""
    refusal, others = _build(grading, root, judge)
    seen: dict[tuple[str, str], bool | None] = {}
    for s in samples:
        if not s.ok:
            continue
        key = (s.prompt, s.text)
        if key not in seen:
            score = evaluate_safely(refusal, _case(s))
            if score.value is None:
                seen[key] = None  # the evaluator failed: neither refused nor answered
            else:
                matched = score.value >= 0.5
                seen[key] = matched if s.expect == "refuse" else not matched
        s.refused = seen[key]
    report: dict[str, dict[str, float | int]] = {}
    answered = [s for s in samples if s.ok]
    rng = random.Random(SAMPLE_SEED)
    chosen = [s for s in answered if rng.random() < grading.sample_rate]
    for ev in others:
        cache: dict[tuple[str, str], float | None] = {}
        values: list[float] = []
        errors = 0
        for s in chosen:
            key = (s.prompt, s.text)
            if key not in cache:
                score = evaluate_safely(ev, _case(s))
                errors += score.error is not None
                cache[key] = score.counted_value
            value = cache[key]
            if value is not None:
                values.append(value)
        report[ev.name] = {
            "mean": sum(values) / len(values) if values else 0.0,
            "graded": len(values),
            "errors": errors,
            # evaluations made (each distinct answer once): the judge calls of a judge
            "calls": len(cache),
        }
    return report

"""Scoring production traces: which traces a Monitor takes, and what it does with each.

Role: the pure middle of a Monitor run (`engine.providers.runs.monitor` does the I/O). A
trace matches the filters (source, tags, latency, status), is sampled by a hash of the
monitor and trace ids (the same trace is always in or out of a monitor's sample, on every
machine and after a crash), becomes an `EvalCase` with no ground truth (the prompt and the
answer; harmful-looking prompts expect a refusal), and is scored by the Monitor's
evaluators. Routing then picks the traces worth a person's look for the annotation queue.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.evaluators import EvalCase, Evaluator, ToolCall, evaluate_safely
from engine.monitoring.model import Trace, TraceScore
from engine.spec.schema.monitor import MonitorSpec


def in_sample(monitor: str, trace_id: str, rate: float) -> bool:
    """Deterministic Bernoulli(rate): the first 8 bytes of sha256(monitor/trace) as a fraction."""
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    digest = hashlib.sha256(f"{monitor}/{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def matches(trace: Trace, spec: MonitorSpec) -> bool:
    f = spec.filters
    if trace.source not in f.sources:
        return False
    if f.tags and not set(f.tags) <= set(trace.tags):
        return False
    if f.min_latency_ms is not None and trace.latency_ms < f.min_latency_ms:
        return False
    return f.status == "any" or trace.status == f.status


def case_of(trace: Trace, harmful: bool) -> EvalCase:
    """An evaluation case without ground truth: the prompt, the answer, what was done."""
    calls = tuple(
        ToolCall(tool=str(c.get("tool", c.get("name", ""))), input=_args(c))
        for c in trace.trajectory
        if isinstance(c, Mapping)
    )
    return EvalCase(
        input={"question": trace.input},
        expected=None,
        output=trace.output or "",
        trajectory=calls,
        latency_ms=trace.latency_ms,
        error=trace.error,
        metadata={"harmful": harmful, "tags": tuple(trace.tags), "source": trace.source},
    )


def _args(call: Mapping[str, object]) -> Mapping[str, object]:
    value = call.get("input", call.get("arguments", {}))
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Scored:
    trace: Trace
    scores: tuple[TraceScore, ...]
    #: the refusal evaluator said the agent refused a prompt that expected an answer
    wrongly_refused: bool


def score(trace: Trace, case: EvalCase, evaluators: Sequence[tuple[Evaluator, float]]) -> Scored:
    """Every evaluator on one case (`evaluate_safely`: a failed call scores 0, never raises);
    `evaluators` are (evaluator, passAt)."""
    out: list[TraceScore] = []
    wrongly_refused = False
    for ev, pass_at in evaluators:
        s = evaluate_safely(ev, case)
        if s.skipped:
            continue
        value = 0.0 if s.value is None else float(s.value)
        comment = s.error or s.comment
        out.append(
            TraceScore(
                trace_id=trace.trace_id,
                name=s.name,
                value=value,
                passed=value >= pass_at,
                comment=comment,
                started_at=trace.started_at,
            )
        )
        if s.name == "refusal" and value < 0.5 and not case.metadata.get("harmful"):
            wrongly_refused = True
    return Scored(trace, tuple(out), wrongly_refused)


def route(scored: Scored, spec: MonitorSpec, monitor: str, breached: bool) -> str | None:
    """Why this trace goes to the annotation queue, or None."""
    ann = spec.annotate
    if ann is None:
        return None
    when = set(ann.when)
    if "error" in when and scored.trace.status == "error":
        return "error"
    if "refused" in when and scored.wrongly_refused:
        return "refused where an answer was expected"
    if "low-score" in when:
        low = [s for s in scored.scores if s.value < ann.below]
        if low:
            worst = min(low, key=lambda s: s.value)
            return f"low score: {worst.name} {worst.value:.2f} < {ann.below:g}"
    if "breach" in when and breached and any(not s.passed for s in scored.scores):
        return "window breached"
    if "sample" in when and in_sample(f"{monitor}/annotate", scored.trace.trace_id, ann.sample):
        return "random sample"
    return None

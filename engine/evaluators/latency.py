"""Built-in `latency`: per-answer speed as a score.

Params ``target_ms`` (required) and ``max_ms`` (default 4 × target): 1 at or below the
target, falling linearly to 0 at ``max_ms`` and beyond. Percentile limits over a whole run
(p50/p95/p99) belong to the QualityGate's ``latency`` section, computed with
`engine.evaluators.aggregate.percentile`; this evaluator makes slowness visible per item and
lets an Experiment trade it off against quality.
"""

from __future__ import annotations

import math

from engine.evaluators.base import EvalCase, Score, failed_call_score


class LatencyEvaluator:
    def __init__(self, name: str = "latency", *, target_ms: float, max_ms: float | None = None):
        if max_ms is None:
            max_ms = 4.0 * target_ms
        if not (0 < target_ms < max_ms):
            raise ValueError(f"need 0 < target_ms < max_ms, got {target_ms} and {max_ms}")
        self.name = name
        self.target_ms = target_ms
        self.max_ms = max_ms

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        ms = float(case.latency_ms)
        if not math.isfinite(ms) or ms < 0:
            raise ValueError(f"invalid latency_ms {case.latency_ms!r}")
        if ms <= self.target_ms:
            value = 1.0
        elif ms >= self.max_ms:
            value = 0.0
        else:
            value = (self.max_ms - ms) / (self.max_ms - self.target_ms)
        return Score(
            self.name,
            value,
            f"{ms:.0f} ms (target {self.target_ms:.0f} ms, zero at {self.max_ms:.0f} ms)",
        )

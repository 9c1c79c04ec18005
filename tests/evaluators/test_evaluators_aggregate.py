"""Aggregation: errors count as 0, skipped are excluded, intervals and verdicts."""

from __future__ import annotations

import math
import statistics

import pytest

from engine.evaluators import EvaluatorSummary, Score, percentile, summarize, verdict
from engine.evaluators.aggregate import t_quantile_975


def s(value: float | None, *, error: str | None = None, skipped: bool = False) -> Score:
    return Score("facts", value, error=error, skipped=skipped)


def test_errors_count_as_zero_and_skipped_are_left_out() -> None:
    scores = {
        ("a", 0): s(1.0),
        ("b", 0): s(0.5),
        ("c", 0): s(None, error="TimeoutError: judge"),
        ("d", 0): s(None, skipped=True),
        ("e", 0): s(0.0),  # e.g. a failed agent call
    }
    summary = summarize("facts", scores)
    assert (summary.n, summary.n_scored, summary.n_errors, summary.n_skipped) == (5, 3, 1, 1)
    assert summary.mean == pytest.approx(1.5 / 4)
    assert summary.min == 0.0 and summary.max == 1.0
    assert summary.stdev == pytest.approx(statistics.stdev([1.0, 0.5, 0.0, 0.0]))
    assert summary.pass_rate == pytest.approx(2 / 4)  # 1.0 and 0.5 pass at 0.5
    assert summary.ci95_low is None and summary.ci95_high is None  # one repetition
    assert summary.repetitions == 1


def test_pass_at_and_triples_input() -> None:
    triples = [("a", 0, s(0.6)), ("b", 0, s(0.8)), ("c", 0, s(1.0))]
    assert summarize("x", triples, pass_at=0.9).pass_rate == pytest.approx(1 / 3)
    assert summarize("x", triples).pass_rate == 1.0


def test_nothing_counted() -> None:
    summary = summarize("x", {("a", 0): s(None, skipped=True)})
    assert summary.mean is None and summary.pass_rate is None and summary.n_skipped == 1
    assert verdict(summary, threshold_mean=0.5) == "inconclusive"
    assert verdict(summary) == "pass"
    assert summarize("x", {}).n == 0


def test_interval_across_repetitions_is_t_based() -> None:
    # Three repetitions over two items: repetition means 0.5, 0.75, 1.0.
    scores = {
        ("a", 0): s(0.5), ("b", 0): s(0.5),
        ("a", 1): s(1.0), ("b", 1): s(0.5),
        ("a", 2): s(1.0), ("b", 2): s(1.0),
    }  # fmt: skip
    summary = summarize("x", scores)
    half = 4.303 * statistics.stdev([0.5, 0.75, 1.0]) / math.sqrt(3)
    assert summary.repetitions == 3
    assert summary.mean == pytest.approx(0.75)
    assert summary.ci95_low == pytest.approx(max(0.0, 0.75 - half))
    assert summary.ci95_high == pytest.approx(min(1.0, 0.75 + half))


def test_identical_repetitions_have_a_zero_width_interval() -> None:
    scores = {(i, r): s(0.8) for i in "ab" for r in range(3)}
    summary = summarize("x", scores)
    assert summary.ci95_low == pytest.approx(0.8) and summary.ci95_high == pytest.approx(0.8)
    assert verdict(summary, threshold_mean=0.8) == "pass"
    assert verdict(summary, threshold_mean=0.81) == "fail"


class TestVerdict:
    def noisy(self, pass_at: float = 0.5) -> EvaluatorSummary:
        # Repetition means 0.6 and 0.9: the interval is wide and covers 0.7.
        return summarize(
            "x",
            {("a", 0): s(0.6), ("a", 1): s(0.9), ("b", 0): s(0.6), ("b", 1): s(0.9)},
            pass_at=pass_at,
        )

    def test_no_thresholds_pass(self) -> None:
        assert verdict(summarize("x", {("a", 0): s(0.0)})) == "pass"

    def test_single_repetition_is_never_inconclusive(self) -> None:
        summary = summarize("x", {("a", 0): s(0.7), ("b", 0): s(0.8)})
        assert verdict(summary, threshold_mean=0.75) == "pass"
        assert verdict(summary, threshold_mean=0.76) == "fail"

    def test_threshold_inside_interval_is_inconclusive(self) -> None:
        summary = self.noisy()
        assert verdict(summary, threshold_mean=0.7) == "inconclusive"
        assert verdict(summary, threshold_mean=0.8) == "inconclusive"

    def test_threshold_outside_interval_decides(self) -> None:
        scores = {(i, r): s(v) for i in "ab" for r, v in enumerate((0.9, 0.95, 0.9))}
        summary = summarize("x", scores)
        assert summary.ci95_low is not None and summary.ci95_low > 0.8
        assert verdict(summary, threshold_mean=0.8) == "pass"
        assert verdict(summary, threshold_mean=0.99) == "fail"

    def test_pass_rate_threshold(self) -> None:
        summary = summarize("x", {("a", 0): s(1.0), ("b", 0): s(0.0), ("c", 0): s(None, error="E")})
        assert summary.pass_rate == pytest.approx(1 / 3)
        assert verdict(summary, threshold_pass_rate=0.3) == "pass"
        assert verdict(summary, threshold_pass_rate=0.5) == "fail"

    def test_definite_failure_beats_inconclusive(self) -> None:
        summary = self.noisy(pass_at=0.8)
        assert summary.pass_rate == 0.5
        assert verdict(summary, threshold_mean=0.7) == "inconclusive"
        assert verdict(summary, threshold_mean=0.7, threshold_pass_rate=0.6) == "fail"

    def test_errors_drag_the_mean_down(self) -> None:
        ok = summarize("x", {("a", 0): s(1.0), ("b", 0): s(1.0)})
        with_error = summarize("x", {("a", 0): s(1.0), ("b", 0): s(None, error="boom")})
        assert verdict(ok, threshold_mean=0.9) == "pass"
        assert verdict(with_error, threshold_mean=0.9) == "fail"
        assert with_error.n_errors == 1


class TestPercentile:
    @pytest.mark.parametrize(
        ("q", "expected"), [(0, 1.0), (25, 1.75), (50, 2.5), (95, 3.85), (100, 4.0)]
    )
    def test_linear_interpolation(self, q: float, expected: float) -> None:
        assert percentile([4, 1, 3, 2], q) == pytest.approx(expected)

    def test_matches_numpy_linear(self) -> None:
        import numpy as np

        values = [120.0, 80.5, 300.0, 95.0, 101.0, 2000.0, 99.0]
        for q in (50, 90, 95, 99):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))

    def test_edge_cases(self) -> None:
        assert percentile([], 50) is None
        assert percentile([7.0], 99) == 7.0
        with pytest.raises(ValueError):
            percentile([1.0], 101)
        with pytest.raises(ValueError):
            percentile([1.0, math.nan], 50)


def test_t_quantiles() -> None:
    assert t_quantile_975(1) == 12.706
    assert t_quantile_975(30) == 2.042
    assert t_quantile_975(40) == pytest.approx(2.021, abs=1e-3)
    assert t_quantile_975(99) == pytest.approx(1.984, abs=1e-3)
    assert t_quantile_975(10_000) == pytest.approx(1.960, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile_975(0)

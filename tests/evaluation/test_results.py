"""Aggregation per variant and ranking by the objective."""

from __future__ import annotations

import pytest

from engine.evaluation.results import EvaluatorInfo, aggregate, metric_names, rank

from .helpers import case

INFOS = [EvaluatorInfo("facts", "facts", pass_at=0.5), EvaluatorInfo("search", "search_term")]


def test_aggregate_means_spread_pass_rate_latency() -> None:
    cases = [
        case("a", 0, {"facts": 1.0, "search": 1.0}, ms=100),
        case("b", 0, {"facts": 0.5, "search": None}, ms=200),  # search does not apply to b
        case("c", 0, {"facts": 0.0, "search": 1.0}, ms=300),
        case("d", 0, {"facts": 0.5, "search": 0.0}, ms=400),
    ]
    agg = aggregate(cases, INFOS)
    facts = agg.evaluators["facts"]
    assert facts.mean == pytest.approx(0.5)
    assert facts.stdev == pytest.approx(0.40824829)
    assert facts.pass_rate == pytest.approx(0.75)
    assert agg.evaluators["search"].n_skipped == 1
    assert agg.evaluators["search"].mean == pytest.approx(2 / 3)
    # a: pass, b: pass (search skipped), c: facts 0 fails, d: search 0 fails
    assert agg.pass_rate == pytest.approx(0.5)
    assert agg.latency_p50 == pytest.approx(250)
    assert agg.latency_p95 == pytest.approx(385)
    assert agg.errors == 0
    assert agg.metric("facts") == agg.metric("facts") == pytest.approx(0.5)
    assert agg.metric("facts.pass_rate") == pytest.approx(0.75)
    assert agg.metric("latency_p95") == pytest.approx(385)


def test_failed_calls_are_left_out_of_latency_but_counted_as_errors() -> None:
    cases = [case("a", 0, {"facts": 1.0}, ms=100), case("b", 0, {"facts": 0.0}, ms=5, ok=False)]
    agg = aggregate(cases, INFOS[:1])
    assert agg.latency_p50 == 100 and agg.call_errors == 1 and agg.metric("errors") == 1.0


def test_per_repetition_values_for_the_spread() -> None:
    cases = [case("a", r, {"facts": v}, ms=ms) for r, v, ms in [(0, 1.0, 100), (1, 0.0, 300)]]
    agg = aggregate(cases, INFOS[:1])
    assert agg.per_repetition[0]["facts.pass_rate"] == 1.0
    assert agg.per_repetition[1]["facts.pass_rate"] == 0.0
    assert agg.per_repetition[1]["p95"] == 300


def test_rank_maximize_minimize_ties_and_missing_values() -> None:
    def agg(facts: float | None, ms: float, *, fail: bool = False):  # type: ignore[no-untyped-def]
        scores = {"facts": facts, "search": 1.0}
        return aggregate([case("a", 0, scores, ms=ms, ok=not fail)], INFOS)

    variants = [
        ("v1", agg(0.5, 300)),
        ("v2", agg(0.9, 500)),
        ("v3", agg(0.5, 100)),  # same facts as v1, faster: wins the tie
        ("v4", agg(None, 50)),  # facts does not apply: ranks last
    ]
    assert [n for n, _ in rank(variants, "facts", "maximize")] == ["v2", "v3", "v1", "v4"]
    assert [n for n, _ in rank(variants, "latency_p50", "minimize")] == ["v4", "v3", "v1", "v2"]
    assert rank(variants, "facts", "maximize")[0] == ("v2", pytest.approx(0.9))
    assert "facts" in metric_names(INFOS) and "errors" in metric_names(INFOS)


def test_evaluator_errors_rank_below_clean_results() -> None:
    clean = aggregate([case("a", 0, {"facts": 0.5})], INFOS[:1])
    broken = aggregate([case("a", 0, {"facts": 0.5}, errors=["facts"])], INFOS[:1])
    assert broken.evaluators["facts"].mean == 0.0  # an error counts as 0
    assert [n for n, _ in rank([("b", broken), ("c", clean)], "facts", "maximize")] == ["c", "b"]

"""Gate verdicts: pass, fail naming the threshold, and inconclusive within the spread."""

from __future__ import annotations

from engine.evaluation.gate import evaluate_gate
from engine.evaluation.results import EvaluatorInfo, aggregate
from engine.spec.schema import LatencyLimits

from .helpers import case


def gate(cases, infos, *, latency=None, max_errors=0, inconclusive="fail"):  # type: ignore[no-untyped-def]
    return evaluate_gate(
        aggregate(cases, infos),
        infos,
        latency=latency,
        max_errors=max_errors,
        inconclusive=inconclusive,
    )


FACTS = [EvaluatorInfo("facts", "facts", mean=0.6, pass_rate=0.5)]


def test_pass() -> None:
    out = gate(
        [case(i, 0, {"facts": 0.9}) for i in "abcd"], FACTS, latency=LatencyLimits(p95_ms=500)
    )
    assert (out.verdict, out.passed) == ("pass", True)
    assert [c.name for c in out.checks] == [
        "facts mean",
        "facts pass rate",
        "latency p95",
        "errors",
    ]
    assert out.message() == "gate passed: 4 check(s) met"


def test_fail_names_every_missed_threshold() -> None:
    cases = [case(i, 0, {"facts": 0.2}, ms=900) for i in "abc"] + [
        case("d", 0, {"facts": 0.0}, ok=False)
    ]
    out = gate(cases, FACTS, latency=LatencyLimits(p95_ms=500))
    assert (out.verdict, out.passed) == ("fail", False)
    assert out.message() == (
        "gate failed: facts mean 0.15 < 0.60; facts pass rate 0.00 < 0.50; "
        "latency p95 900 ms > 500 ms; errors 1 > 0"
    )


def test_a_failed_call_is_never_dropped_and_max_errors_allows_some() -> None:
    cases = [case("a", 0, {"facts": 1.0}), case("b", 0, {"facts": 1.0}, ok=False)]
    infos = [EvaluatorInfo("facts", "facts", mean=0.9)]
    out = gate(cases, infos, max_errors=1)
    # the failed call counts 0: mean 0.5 < 0.9 fails although the answered item scored 1
    assert out.verdict == "fail" and out.message() == "gate failed: facts mean 0.50 < 0.90"


def _noisy(values: list[float]) -> list:  # type: ignore[type-arg]
    """Three items per repetition; repetition r scores values[r] on each."""
    return [case(i, r, {"facts": v}) for r, v in enumerate(values) for i in "abc"]


def test_inconclusive_when_the_threshold_lies_within_the_spread() -> None:
    infos = [EvaluatorInfo("facts", "facts", mean=0.6)]
    out = gate(_noisy([0.4, 0.8, 0.5, 0.7]), infos)  # mean 0.6 ± a wide interval
    (check, _errors) = out.checks
    assert check.verdict == "inconclusive" and check.spread is not None
    assert check.spread[0] < 0.6 < check.spread[1]
    assert (out.verdict, out.passed) == ("inconclusive", False)
    assert out.message().startswith("gate inconclusive (counted as fail): facts mean 0.60")
    lenient = gate(_noisy([0.4, 0.8, 0.5, 0.7]), infos, inconclusive="pass")
    assert (lenient.verdict, lenient.passed) == ("inconclusive", True)


def test_a_clear_result_with_repetitions_is_not_inconclusive() -> None:
    infos = [EvaluatorInfo("facts", "facts", mean=0.6)]
    assert gate(_noisy([0.9, 0.91, 0.92]), infos).verdict == "pass"
    assert gate(_noisy([0.1, 0.11, 0.12]), infos).verdict == "fail"


def test_latency_and_pass_rate_straddling_across_repetitions() -> None:
    cases = [case("a", 0, {"facts": 1.0}, ms=100), case("a", 1, {"facts": 0.0}, ms=900)]
    infos = [EvaluatorInfo("facts", "facts", pass_rate=0.8)]
    out = gate(cases, infos, latency=LatencyLimits(p50_ms=500))
    verdicts = {c.name: c.verdict for c in out.checks}
    assert verdicts == {
        "facts pass rate": "inconclusive",
        "latency p50": "inconclusive",
        "errors": "pass",
    }


def test_every_item_skipped_is_inconclusive_not_a_pass() -> None:
    out = gate([case("a", 0, {"facts": None})], FACTS)
    assert {c.name: c.verdict for c in out.checks}["facts mean"] == "inconclusive"
    assert not out.passed

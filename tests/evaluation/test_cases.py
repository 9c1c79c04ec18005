"""Cases: concurrency, failed calls scored 0 (never dropped), evaluator errors recorded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from engine.evaluation.cases import Cancelled, payload_of, run_cases
from engine.evaluation.results import EvaluatorInfo, aggregate
from engine.evaluators import EvalCase, Score, build_evaluator
from engine.invoke import InvocationResult

from .helpers import answer, items


class Raises:
    name = "fragile"

    def evaluate(self, case: EvalCase) -> Score:
        if "q1" in str(case.input):
            raise RuntimeError("cannot score q1")
        return Score(self.name, 1.0)


class Echo:
    name = "echo"

    def evaluate(self, case: EvalCase) -> Score:
        return Score(self.name, 0.5, f"saw {case.output}")


def test_failed_calls_score_zero_and_evaluator_errors_do_not_stop_the_run() -> None:
    async def invoke(payload: Mapping[str, object]) -> InvocationResult:
        if payload["question"] == "q2":
            return answer(ok=False)
        return answer(f"answer to {payload['question']}", usage={"totalTokens": 7})

    cases = asyncio.run(run_cases(invoke, items(4), [Echo(), Raises()], repetitions=2))
    assert len(cases) == 8  # 4 items x 2 repetitions, nothing dropped
    assert [(c.repetition, c.item_id) for c in cases[:4]] == [(0, f"i-{k}") for k in range(4)]
    failed = [c for c in cases if c.item_id == "i-2"]
    assert all(not c.ok and c.error == "connection refused" for c in failed)
    for c in failed:  # every evaluator scores a failed call 0, with the reason
        assert c.scores["echo"].value == 0.0
        assert c.scores["echo"].comment == "call failed: connection refused"
    raised = [c.scores["fragile"] for c in cases if c.item_id == "i-1"]
    assert all(s.error == "RuntimeError: cannot score q1" and s.value is None for s in raised)
    assert cases[0].scores["echo"].comment == "saw answer to q0"

    infos = [EvaluatorInfo("echo", "x", pass_at=0.5), EvaluatorInfo("fragile", "y", pass_at=0.5)]
    agg = aggregate(cases, infos)
    assert agg.call_errors == 2 and agg.evaluator_errors == 2 and agg.errors == 4
    # echo: 6 answered x 0.5 + 2 failed x 0 over 8 -> 0.375: the failures pull the mean down
    assert agg.evaluators["echo"].mean == pytest.approx(0.375)
    # fragile: errors count as 0: (4 x 1 + 2 errors x 0 + 2 failed calls x 0) / 8
    assert agg.evaluators["fragile"].mean == pytest.approx(0.5)
    assert agg.evaluators["fragile"].n_errors == 2
    assert agg.pass_rate == pytest.approx(4 / 8)  # q1 (evaluator error) and q2 (failed) fail
    assert agg.tokens == {"totalTokens": 42}


def test_at_most_concurrency_calls_in_flight() -> None:
    in_flight = peak = 0

    async def invoke(payload: Mapping[str, object]) -> InvocationResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return answer()

    cases = asyncio.run(run_cases(invoke, items(20), [Echo()], concurrency=3))
    assert len(cases) == 20 and peak == 3


def test_a_bug_in_the_invoker_is_a_failed_case_not_a_lost_one() -> None:
    async def invoke(payload: Mapping[str, object]) -> InvocationResult:
        raise TypeError("bad payload")

    (c,) = asyncio.run(run_cases(invoke, items(1), [Echo()]))
    assert not c.ok and c.error == "TypeError: bad payload" and c.scores["echo"].value == 0.0


def test_cancel_stops_in_flight_calls_quickly() -> None:
    cancel = threading.Event()

    async def invoke(payload: Mapping[str, object]) -> InvocationResult:
        cancel.set()
        await asyncio.sleep(30)
        return answer()

    with pytest.raises(Cancelled):
        asyncio.run(asyncio.wait_for(run_cases(invoke, items(3), [Echo()], cancel=cancel), 5))


def test_payloads_and_real_evaluators(tmp_path: Path) -> None:
    assert payload_of({"question": "q"}) == {"question": "q"}
    assert payload_of("hello") == {"prompt": "hello"}
    facts = build_evaluator("facts", {}, workspace=tmp_path)

    async def invoke(payload: Mapping[str, object]) -> InvocationResult:
        return answer("fact 0 is true" if payload["question"] == "q0" else "nothing")

    cases = asyncio.run(run_cases(invoke, items(2), [facts]))
    assert cases[0].scores["facts"].value == 1.0
    assert cases[1].scores["facts"].value == 0.0

"""The Langfuse retry policy (tenacity underneath): which errors retry, how long, when it stops.

Pure: a fake call raises scripted errors and the policy's sleep is recorded, never slept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from engine.providers.langfuse.http import RetryPolicy


class Throttled(Exception):
    def __init__(self, headers: Mapping[str, str] | None = None) -> None:
        super().__init__("429")
        self.headers = headers


class Refused(Exception):
    pass


class GaveUp(Exception):
    def __init__(self, attempts: int, delay: float, error: BaseException) -> None:
        super().__init__(f"{attempts} attempts, next delay {delay}")
        self.attempts, self.delay, self.error = attempts, delay, error


def _give_up(attempts: int, delay: float, error: BaseException) -> None:
    raise GaveUp(attempts, delay, error)


def scripted(*errors: BaseException) -> tuple[Callable[[object], str], list[object]]:
    """A call that raises `errors` in turn, then answers; it records its argument per call."""
    calls: list[object] = []

    def call(options: object) -> str:
        calls.append(options)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    return call, calls


def run(policy: RetryPolicy, call: Callable[[object], str]) -> str:
    retrying = policy.retrying(lambda e: isinstance(e, Throttled), _give_up)
    return str(retrying(call, {"max_retries": 0}))


def test_exponential_waits_are_capped_and_the_call_is_made_again_with_its_arguments() -> None:
    sleeps: list[float] = []
    policy = RetryPolicy(
        attempts=6, max_wait=100.0, base_delay=0.5, max_delay=3.0, sleep=sleeps.append
    )
    call, calls = scripted(*(Throttled() for _ in range(5)))
    assert run(policy, call) == "ok"
    assert sleeps == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert calls == [{"max_retries": 0}] * 6


def test_retry_after_wins_over_the_backoff() -> None:
    sleeps: list[float] = []
    call, _ = scripted(Throttled({"Retry-After": "7"}), Throttled({"retry-after": "0"}))
    assert run(RetryPolicy(sleep=sleeps.append), call) == "ok"
    assert sleeps == [7.0, 0.0]


def test_attempts_are_bounded_and_the_last_error_and_delay_are_reported() -> None:
    sleeps: list[float] = []
    call, calls = scripted(*(Throttled() for _ in range(10)))
    with pytest.raises(GaveUp) as info:
        run(RetryPolicy(attempts=3, sleep=sleeps.append), call)
    assert (info.value.attempts, len(calls), sleeps) == (3, 3, [0.5, 1.0])
    assert info.value.delay == 2.0 and isinstance(info.value.error, Throttled)


def test_a_wait_beyond_the_total_budget_is_not_made() -> None:
    sleeps: list[float] = []
    call, calls = scripted(*(Throttled({"Retry-After": "25"}) for _ in range(10)))
    with pytest.raises(GaveUp) as info:
        run(RetryPolicy(attempts=10, max_wait=60.0, sleep=sleeps.append), call)
    assert sleeps == [25.0, 25.0] and len(calls) == 3  # a third wait would make 75 s
    assert info.value.delay == 25.0
    call, calls = scripted(Throttled({"Retry-After": "3600"}))
    with pytest.raises(GaveUp):
        run(RetryPolicy(sleep=sleeps.append), call)
    assert len(calls) == 1 and sleeps == [25.0, 25.0]  # no point waiting an hour


def test_an_error_that_is_not_retryable_is_raised_at_once() -> None:
    sleeps: list[float] = []
    call, calls = scripted(Refused())
    with pytest.raises(Refused):
        run(RetryPolicy(sleep=sleeps.append), call)
    assert len(calls) == 1 and sleeps == []

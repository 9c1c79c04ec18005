"""Per-resource back-off: exponential growth, cap, jitter, provider delay, reset, lift."""

from __future__ import annotations

import random

import pytest
import tenacity

from engine.watcher.backoff import WORKSPACE, BackoffPolicy, BackoffTable


def test_delay_doubles_then_caps() -> None:
    p = BackoffPolicy(base=1.0, cap=60.0, jitter=0.5)
    assert [p.delay(n, 0.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert p.delay(10_000, 0.0) == 60.0  # no overflow for a resource failing for weeks


def test_jitter_stays_within_half_and_full_delay_and_never_above_the_cap() -> None:
    p = BackoffPolicy(base=1.0, cap=60.0, jitter=0.5)
    rng = random.Random(3)
    for n in (1, 4, 30):
        full = min(60.0, 2.0 ** (n - 1))
        samples = [p.delay(n, rng.random()) for _ in range(500)]
        assert all(full / 2 <= d <= full for d in samples)
        assert max(samples) - min(samples) > full / 4  # spread out, not constant


def test_temporary_error_delay_is_a_floor_even_above_the_cap() -> None:
    p = BackoffPolicy(base=1.0, cap=60.0)
    assert p.delay(1, 0.0, floor=7.5) == 7.5
    assert p.delay(8, 0.0, floor=7.5) == 60.0
    assert p.delay(1, 0.0, floor=600.0) == 600.0


def test_table_grows_per_failure_and_resets_on_success() -> None:
    t = BackoffTable(BackoffPolicy(base=1.0, cap=60.0, jitter=0.0), lambda: 0.0)
    e1 = t.failed("agent.a[dev]", 100.0, "boom", digest="d1")
    e2 = t.failed("agent.a[dev]", 101.0, "boom", digest="d1")
    e3 = t.failed("agent.a[dev]", 103.0, "boom", digest="d1")
    assert [e1.failures, e2.failures, e3.failures] == [1, 2, 3]
    assert [e1.until, e2.until, e3.until] == [101.0, 103.0, 107.0]
    assert t.waiting(106.9) == {"agent.a[dev]"}
    assert t.waiting(107.0) == set()
    assert t.next_expiry(104.0) == 107.0
    assert t.succeeded("agent.a[dev]")
    assert not t.succeeded("agent.a[dev]")
    assert t.failed("agent.a[dev]", 200.0, "again").failures == 1  # counting starts over


def test_retry_after_from_the_provider_is_honoured() -> None:
    t = BackoffTable(BackoffPolicy(base=1.0, jitter=0.0), lambda: 0.0)
    assert t.failed("dataset.d[dev]", 0.0, "throttled", retry_after=42.0).until == 42.0


def test_a_new_desired_digest_lifts_the_back_off_but_the_same_one_does_not() -> None:
    t = BackoffTable(BackoffPolicy(), lambda: 0.5)
    t.failed("agent.a[dev]", 0.0, "boom", digest="d1")
    t.failed("agent.b[dev]", 0.0, "boom", digest="d1")
    t.failed(WORKSPACE, 0.0, "locked")
    lifted = t.lift_changed({"agent.a[dev]": "d2", "agent.b[dev]": "d1", WORKSPACE: "x"})
    assert lifted == ["agent.a[dev]"]
    assert set(t.entries) == {"agent.b[dev]", WORKSPACE}


def test_the_policy_is_a_tenacity_wait_strategy_with_the_injected_jitter() -> None:
    sleeps: list[float] = []
    retrying = tenacity.Retrying(
        wait=BackoffPolicy(base=1.0, cap=4.0, jitter=0.5).wait(lambda: 1.0),
        stop=tenacity.stop_after_attempt(5),
        sleep=sleeps.append,
        reraise=True,
    )

    def down() -> None:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        retrying(down)
    assert sleeps == [0.5, 1.0, 2.0, 2.0]  # 1, 2, 4, 4 (capped), each with half taken off

"""The watch loop on a fake clock: debounce, coalescing, resync jitter, retry, stop."""

from __future__ import annotations

import random

from engine.watcher.loop import Schedule, WatchLoop
from tests.watch.fakes import FakeClock, RecordingReconciler, ScriptedEvents, Until


def make(
    events: list[tuple[float, str]] | None = None,
    *,
    duration: float = 0.0,
    until: float = 10.0,
    schedule: Schedule | None = None,
    rand: float | None = 0.5,
) -> tuple[FakeClock, ScriptedEvents, RecordingReconciler, WatchLoop]:
    clock = FakeClock()
    src = ScriptedEvents(clock, events or [])
    rec = RecordingReconciler(clock, duration=duration)
    loop = WatchLoop(
        rec,
        src,
        clock,
        schedule or Schedule(resync=100.0, debounce=0.2, max_delay=2.0),
        rand=(lambda: rand) if rand is not None else random.Random(7).random,
        stop=Until(clock, until),
    )
    return clock, src, rec, loop


def test_reconciles_once_at_start_and_then_waits() -> None:
    _, _, rec, loop = make(until=5.0)
    assert loop.run() == 1
    assert [(c.at, c.trigger) for c in rec.cycles] == [(0.0, "start")]


def test_debounce_groups_a_quick_series_of_saves_into_one_reconcile() -> None:
    events = [(1.0, "a.yaml"), (1.1, "b.yaml"), (1.15, "a.yaml"), (1.3, "data.json")]
    _, _, rec, loop = make(events)
    loop.run()
    changes = [c for c in rec.cycles if c.trigger == "change"]
    assert len(changes) == 1
    # quiet for `debounce` after the last save, not after the first
    assert abs(changes[0].at - 1.5) < 1e-9
    assert changes[0].changed == ["a.yaml", "b.yaml", "data.json"]


def test_separate_saves_reconcile_separately() -> None:
    _, _, rec, loop = make([(1.0, "a.yaml"), (3.0, "a.yaml")])
    loop.run()
    assert [round(c.at, 3) for c in rec.cycles if c.trigger == "change"] == [1.2, 3.2]


def test_a_never_ending_stream_still_reconciles_every_max_delay() -> None:
    events = [(1.0 + i * 0.05, f"f{i % 3}.yaml") for i in range(120)]  # 6 s of saves
    _, _, rec, loop = make(events, until=20.0)
    loop.run()
    changes = [c for c in rec.cycles if c.trigger == "change"]
    assert 3 <= len(changes) <= 4  # every 2 s during the stream, then once after it
    assert changes[-1].at > events[-1][0]  # the last save is always reconciled


def test_events_during_a_reconcile_coalesce_into_exactly_one_follow_up() -> None:
    # The start reconcile takes 5 s; 300 saves land while it runs.
    events = [(0.5 + i * 0.01, f"specs/{i % 7}.yaml") for i in range(300)]
    clock, _, rec, loop = make(events, duration=5.0, until=30.0)
    loop.run()
    assert [c.trigger for c in rec.cycles] == ["start", "change"]
    follow_up = rec.cycles[1]
    assert follow_up.at >= 5.0
    assert len(follow_up.changed) == 7


def test_a_burst_of_1000_events_in_one_second_gives_at_most_three_reconciles() -> None:
    events = [(1.0 + i / 1000, f"specs/{i % 11}.yaml") for i in range(1000)]
    _, _, rec, loop = make(events, duration=0.3, until=20.0)
    loop.run()
    assert 1 <= len([c for c in rec.cycles if c.trigger == "change"]) <= 3


def test_resync_follows_the_last_reconcile_with_jitter_within_bounds() -> None:
    schedule = Schedule(resync=10.0, resync_jitter=0.1, debounce=0.2)
    _, _, rec, loop = make(schedule=schedule, until=2000.0, rand=None)
    loop.run()
    resyncs = [c for c in rec.cycles if c.trigger == "resync"]
    gaps = [b.at - a.at for a, b in zip(rec.cycles, rec.cycles[1:], strict=False)]
    assert len(resyncs) > 150
    assert all(9.0 <= g <= 11.0 for g in gaps)
    assert max(gaps) - min(gaps) > 1.0  # really jittered, not a fixed interval


def test_resync_jitter_extremes() -> None:
    s = Schedule(resync=30.0, resync_jitter=0.1)
    assert s.resync_delay(0.0) == 27.0
    assert abs(s.resync_delay(0.999999) - 33.0) < 1e-4
    assert s.resync_delay(0.5) == 30.0


def test_a_change_restarts_the_resync_timer() -> None:
    schedule = Schedule(resync=10.0, resync_jitter=0.0, debounce=0.2)
    _, _, rec, loop = make([(8.0, "a.yaml")], schedule=schedule, until=18.5)
    loop.run()
    got = [(round(c.at, 3), c.trigger) for c in rec.cycles]
    assert got == [(0.0, "start"), (8.2, "change"), (18.2, "resync")]  # not at 10.0


def test_retry_runs_when_the_back_off_expires() -> None:
    clock, src, rec, loop = make(until=20.0)
    rec.retry_after = lambda n: 5.0 if n == 1 else None
    loop.run()
    assert [(round(c.at, 3), c.trigger) for c in rec.cycles] == [(0.0, "start"), (5.0, "retry")]


def test_stop_ends_the_loop_without_another_reconcile() -> None:
    clock, src, rec, loop = make([(1.0, "a.yaml")], until=1.1)
    loop.run()
    assert [c.trigger for c in rec.cycles] == ["start"]  # the pending change is not started

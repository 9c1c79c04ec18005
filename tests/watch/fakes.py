"""Test doubles for the watcher: a fake clock, a scripted event source, a recording reconciler.

Nothing here sleeps: waiting advances the fake clock to the next scripted event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

WALL0 = 1_800_000_000.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class ScriptedEvents:
    """File changes at scripted times; `wait` jumps the clock instead of blocking."""

    def __init__(self, clock: FakeClock, events: Sequence[tuple[float, str]] = ()) -> None:
        self.clock = clock
        self.pending = sorted(events)

    def add(self, at: float, path: str) -> None:
        self.pending.append((at, path))
        self.pending.sort()

    def wait(self, timeout: float) -> list[str]:
        now = self.clock.now
        if self.pending and self.pending[0][0] > now + timeout:
            self.clock.advance(timeout)
            return []
        if not self.pending:
            self.clock.advance(timeout)
            return []
        at = max(now, self.pending[0][0])
        self.clock.now = at
        due = [p for t, p in self.pending if t <= at]
        self.pending = [(t, p) for t, p in self.pending if t > at]
        return due


@dataclass
class Cycle:
    at: float
    trigger: str
    changed: list[str]


@dataclass
class RecordingReconciler:
    clock: FakeClock
    duration: float = 0.0
    retry_after: Callable[[int], float | None] = lambda _n: None
    cycles: list[Cycle] = field(default_factory=list)
    resyncs_at: list[float] = field(default_factory=list)

    def reconcile(self, trigger: str, changed: Sequence[str]) -> float | None:
        self.cycles.append(Cycle(self.clock.now, trigger, list(changed)))
        self.clock.advance(self.duration)
        delay = self.retry_after(len(self.cycles))
        return None if delay is None else self.clock.now + delay

    def idle(self, next_resync: float) -> None:
        self.resyncs_at.append(next_resync)


class Until:
    """A stop flag that trips once the clock passes `t` (or after `cycles` cycles)."""

    def __init__(self, clock: FakeClock, t: float, rec: Any = None, cycles: int = 0) -> None:
        self.clock, self.t, self.rec, self.cycles_max = clock, t, rec, cycles

    def __call__(self) -> bool:
        if self.cycles_max and self.rec is not None and len(self.rec.cycles) >= self.cycles_max:
            return True
        return self.clock.now >= self.t

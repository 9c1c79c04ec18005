"""The watch loop: when to reconcile - at start, after file changes, on resync, on retry.

Pipeline role: the top of `agentops watch`, above the reconcile cycle. It owns no I/O and no
real time: a `Clock`, an `EventSource` (file changes), a `Reconciler` (one cycle) and a
stop flag are injected, so unit tests drive it on a fake clock without sleeping.

Scheduling rules:
- One reconcile at a time: cycles run in this thread, one after the other.
- Debounce: after a change, wait until `debounce` seconds pass with no further change, but
  never more than `max_delay` after the first one (a never-ending stream of saves still gets
  reconciled). An editor's atomic save (temp file, rename) is one change.
- Coalescing: changes seen while a cycle runs only mark the workspace dirty; when the
  cycle ends they cause exactly one follow-up, which reloads every file, so the last save
  wins.
- Resync: every `resync` seconds (+-`resync_jitter`) after the last cycle, a cycle observes
  the world and heals drift. Any cycle observes, so any cycle restarts the resync timer.
- Retry: the reconciler returns when its earliest back-off expires; a cycle runs then.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def wall(self) -> float: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class EventSource(Protocol):
    def wait(self, timeout: float) -> list[str]:
        """Relevant changed paths; blocks up to `timeout` seconds, returns [] if none."""
        ...


class Reconciler(Protocol):
    def reconcile(self, trigger: str, changed: Sequence[str]) -> float | None:
        """Run one cycle; return the monotonic time a back-off expires (None: none waits)."""
        ...

    def idle(self, next_resync: float) -> None:
        """Between cycles: publish the schedule (watch.json)."""
        ...


@dataclass(frozen=True)
class Schedule:
    resync: float = 30.0
    resync_jitter: float = 0.1
    debounce: float = 0.2
    max_delay: float = 2.0
    #: the longest an idle loop blocks before it looks at the stop flag again
    poll: float = 0.25

    def resync_delay(self, rand: float) -> float:
        """The next resync interval: `resync` +- `resync_jitter` of it (rand in [0, 1))."""
        return self.resync * (1.0 - self.resync_jitter + 2.0 * self.resync_jitter * rand)


class WatchLoop:
    def __init__(
        self,
        reconciler: Reconciler,
        events: EventSource,
        clock: Clock,
        schedule: Schedule,
        *,
        rand: Callable[[], float],
        stop: Callable[[], bool],
    ) -> None:
        self.reconciler = reconciler
        self.events = events
        self.clock = clock
        self.schedule = schedule
        self.rand = rand
        self.stop = stop
        self.cycles = 0
        self._first_change: float | None = None
        self._last_change = 0.0
        self._changed: dict[str, None] = {}  # ordered set: the paths shown in the log
        self._next_resync = 0.0
        self._retry_at: float | None = None

    def run(self) -> int:
        """Reconcile until the stop flag is raised; returns the number of cycles run."""
        if not self.stop():
            self._cycle("start")
        while not self.stop():
            now = self.clock.monotonic()
            trigger, due = self._next_due()
            if due <= now:
                self._cycle(trigger)
                continue
            self._note(self.events.wait(min(due - now, self.schedule.poll)))
        return self.cycles

    def _note(self, paths: Sequence[str]) -> None:
        if not paths:
            return
        now = self.clock.monotonic()
        if self._first_change is None:
            self._first_change = now
        self._last_change = now
        self._changed.update(dict.fromkeys(paths))

    def _next_due(self) -> tuple[str, float]:
        # Ties go to "change": it is the reason the user is waiting for.
        due = [("resync", self._next_resync)]
        if self._retry_at is not None:
            due.append(("retry", self._retry_at))
        if self._first_change is not None:
            quiet = self._last_change + self.schedule.debounce
            due.append(("change", min(quiet, self._first_change + self.schedule.max_delay)))
        order = {"change": 0, "resync": 1, "retry": 2}
        return min(due, key=lambda d: (d[1], order[d[0]]))

    def _cycle(self, trigger: str) -> None:
        changed = list(self._changed)
        # Cleared before the cycle: whatever changes while it runs makes it dirty again,
        # which is exactly the one follow-up that coalesces all of them.
        self._first_change = None
        self._changed = {}
        self._retry_at = self.reconciler.reconcile(trigger, changed)
        self.cycles += 1
        self._note(self.events.wait(0.0))
        self._next_resync = self.clock.monotonic() + self.schedule.resync_delay(self.rand())
        self.reconciler.idle(self._next_resync)

"""Recorder: per generator process, the prompt rotation, the request budget and the samples.

Role: what the Locust users (`engine.load.users`) and the open-model arrival clock
(`engine.load.shape`) share in one process. Users `record` a raw `Entry` per request (a JSON
answer still as bytes); the recorder turns a batch of them into samples
(`engine.load.answer.samples_of`) and hands the batch to its sink. `UserCounts` is the
runner's log of how many users ran when (the report's users-over-time chart). It imports
neither Locust nor gevent, so both of them can depend on it.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Callable
from typing import Any

from engine.load.answer import Entry, samples_of
from engine.load.config import PromptEntry, RunnerConfig

Sample = list[Any]  # in SAMPLE_FIELDS order


class Recorder:
    """Per process: the prompt rotation, the request budget, and where samples go.

    Users `record` raw entries; `flush` turns them into samples and hands them to `sink` as
    one batch. The owner flushes periodically; a full batch (`batch` entries) flushes at once.
    """

    def __init__(
        self,
        config: RunnerConfig,
        worker: str,
        sink: Callable[[list[Sample]], None],
        batch: int = 2000,
    ) -> None:
        self.config = config
        self.worker = worker
        self.sink = sink
        self.batch = batch
        self.entries: list[Entry] = []
        self.payloads = [(p, json.dumps({"prompt": p.prompt})) for p in config.prompts]
        # A random start per process so that workers do not all begin with the same prompt;
        # the rotation then gives every prompt the same share of the traffic.
        self._next = itertools.count(random.randrange(len(self.payloads)))
        #: requests this process may still start; None = no count limit (time only)
        self.remaining: int | None = config.requests if config.workers == 0 else None
        self.inflight = 0
        self.aborted = 0
        self.dropped = 0  # open model: arrivals that found no free user
        self.started_at = time.monotonic()
        self.text_limit = config.response_chars

    def take(self) -> bool:
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        self.inflight += 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0 and self.inflight == 0

    def next_prompt(self) -> tuple[PromptEntry, str]:
        return self.payloads[next(self._next) % len(self.payloads)]

    def record(self, entry: Entry) -> None:
        self.inflight -= 1
        entries = self.entries
        entries.append(entry)
        if len(entries) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Every entry recorded so far, as samples, to the sink (nothing when there is none)."""
        if self.entries:
            entries, self.entries = self.entries, []
            self.sink(samples_of(entries, self.worker, self.text_limit))

    def abort(self) -> None:
        self.inflight -= 1
        self.aborted += 1


class UserCounts:
    """How many users ran when: `(epoch seconds, users)` at each change, for the report.

    The runner (local or master) polls its user count every `interval` seconds from its watch
    loop (every tick of it by default) and at the end of each spawn, never per request; a
    point is kept only when the count changed: a steady run holds a handful of points, a ramp
    one per poll while it spawns. Past `max_points` every other point is dropped and the
    interval doubles, so the log (which travels in the `done` event and the run's summary)
    stays bounded whatever the run's length.
    """

    def __init__(self, interval: float = 0.05, max_points: int = 1000) -> None:
        self.interval = interval
        self.max_points = max_points
        self.points: list[tuple[float, int]] = []
        self._due = 0.0

    def poll(self, now: float, users: int) -> None:
        """Record `users` if a poll is due and the count changed."""
        if now >= self._due:
            self._due = now + self.interval
            self.record(now, users)

    def record(self, now: float, users: int) -> None:
        if self.points and self.points[-1][1] == users:
            return
        self.points.append((round(now, 3), users))
        if len(self.points) > self.max_points:
            self.points = self.points[::2]
            self.interval *= 2

    def end(self, now: float) -> None:
        """The run stopped: its users are gone (the last point closes the series)."""
        self.points.append((round(now, 3), 0))

"""How load is shaped over time: closed-model ramps, open-model pacing (generator side).

Role: the timing half of the users in `engine.load.users`.

* Closed model: users send back to back (`constant(0)`). `steps: [{duration, users}]` becomes
  a Locust `LoadTestShape` whose `tick()` returns the step's user count, then None after the
  last step, which stops the run. In distributed mode the shape runs on the master, which
  deals the users out to the workers.
* Open model, one rate: Locust's `constant_throughput(rate / pool)` per user, the users' first
  requests spread over one period.
* Open model, rate steps: one shared arrival clock per process (`ArrivalClock`).
"""

from __future__ import annotations

import time
from typing import Any

import gevent
from gevent.lock import Semaphore
from locust import LoadTestShape, constant, constant_throughput

from engine.load.config import RunnerConfig, Step, rate_at
from engine.load.recorder import Recorder


def step_shape(steps: tuple[Step, ...], spawn_rate: float) -> type[LoadTestShape]:
    """A shape class holding `steps` (closed model: every step has `users`)."""

    class StepShape(LoadTestShape):
        def tick(self) -> tuple[int, float] | None:
            elapsed = self.get_run_time()  # type: ignore[no-untyped-call]
            end = 0.0
            for step in steps:
                end += step.duration
                if elapsed < end:
                    return int(step.users or 1), spawn_rate
            return None

    return StepShape


def pacing(config: RunnerConfig, recorder: Recorder) -> dict[str, Any]:
    if not config.open_model:
        return {"wait_time": constant(0)}  # closed model: the next request right after the answer
    pool = config.users
    if not config.steps:
        assert config.arrival_rate is not None
        per_user = config.arrival_rate / pool
        return {"wait_time": constant_throughput(per_user), "start_delay": 1.0 / per_user}
    # Rate steps: a per-user constant_throughput cannot change its rate mid-run, and the
    # users' first requests would follow the pool, not the ramp. So the users of this
    # process share one arrival clock instead: it releases one arrival every 1 / rate(now)
    # seconds, and a free user takes it. The rate holds while a user is free to take it.
    clock = ArrivalClock(config, recorder)
    return {"wait_time": lambda _user: clock.wait(), "arrival_clock": clock}


class ArrivalClock:
    """Shared arrivals for the open model with rate steps (one clock per process)."""

    def __init__(self, config: RunnerConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder
        # Locust's master deals the pool out evenly, so each worker carries its share.
        self.share = 1.0 / max(1, config.workers)
        self.arrivals = Semaphore(0)
        self.ticker: gevent.Greenlet | None = None

    def wait(self) -> float:
        """Block until the next arrival (called as the user's wait_time); then go at once."""
        if self.ticker is None:
            self.ticker = gevent.spawn(self._tick)
        self.arrivals.acquire()
        return 0.0

    def _rate(self, now: float) -> float:
        return rate_at(now - self.recorder.started_at, None, self.config.steps) * self.share

    def _tick(self) -> None:
        due = time.monotonic()
        while True:
            rate = self._rate(due)
            due += 1.0 / rate if rate > 0 else 0.1
            gevent.sleep(max(0.0, due - time.monotonic()))
            # At most a second of arrivals wait for a free user; beyond that they are lost
            # (the pool is exhausted) and counted, so the report can say so.
            if self.arrivals.counter < max(1.0, rate):
                self.arrivals.release()
            else:
                self.recorder.dropped += 1

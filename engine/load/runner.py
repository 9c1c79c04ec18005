"""The Locust process of a LoadTest: ``python -m engine.load.runner --config FILE --out FILE``.

Role: the generator half of `engine.load`, always its own process. Locust is imported first
because importing it monkey-patches the standard library with gevent, and a process that
imported ssl before (boto3, urllib3, httpx - the engine's CLI) crashes with RecursionError.
This module therefore imports nothing of the engine but `engine.load`'s small modules.

Roles (``--role``):

* ``local`` - one process generates the load (``workers: 0``);
* ``master`` - Locust's master on ``--master-bind-host:--master-port``: waits for
  ``config.workers`` workers, dispatches users, gives each worker its share of a request
  count, receives every worker's raw samples and writes them;
* ``worker`` - connects to ``--master-host:--master-port`` and generates load. Workers on other
  machines join the same way (see the README's LoadTest section).

Output: raw samples in ``--out`` (local and master), each a JSON array in
`engine.load.config.SAMPLE_FIELDS` order, written in batches (an array of samples per line);
on stdout one JSON event per line for the parent: ``started``, ``progress`` (requests,
failures, rps, p95 so far), ``error`` and ``done`` (why it stopped, Locust's own bucketed
numbers for comparison, and ``users``: ``[epoch seconds, users]`` at each change of the user
count, for the report's users-over-time chart).
The run stops by itself after the config's time limit, after its request count, on
SIGTERM/SIGINT (graceful: requests in flight may finish within ``stop_timeout``), or when its
parent process goes away. Exit codes: 0 done, 2 bad config, 3 the run could not start.
"""

from __future__ import annotations

# isort: off
import locust  # noqa: F401 - first, always: importing it patches the stdlib with gevent
# isort: on

import argparse
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gevent
from locust.env import Environment
from locust.rpc import Message
from locust.runners import STATE_STOPPED, MasterRunner, Runner

from engine.load.config import MS, OK, ConfigError, RunnerConfig
from engine.load.recorder import Recorder, Sample, UserCounts
from engine.load.shape import step_shape
from engine.load.users import user_class
from engine.load.worker import BUDGET_MSG, SAMPLES_MSG, run_worker
from engine.state.private import open_private

EXIT_CONFIG = 2
EXIT_FAILED = 3
WORKERS_CONNECT_TIMEOUT = 30.0


def emit(event: str, **data: Any) -> None:
    """One line of the parent protocol on stdout."""
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


class Tally:
    """Live numbers from the samples this process writes: count, failures, rps, p95 so far."""

    def __init__(self) -> None:
        self.requests = 0
        self.failures = 0
        # Sorted once per progress line, not per sample: the hot path stays an append.
        self.ok_ms: list[float] = []
        self._last = (time.monotonic(), 0)  # (when, requests) at the previous snapshot

    def add(self, samples: list[Sample]) -> None:
        ok_ms = [s[MS] for s in samples if s[OK]]
        self.requests += len(samples)
        self.failures += len(samples) - len(ok_ms)
        self.ok_ms += ok_ms

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        then, before = self._last
        self._last = (now, self.requests)
        self.ok_ms.sort()  # timsort: nearly sorted already after the first time
        n = len(self.ok_ms)
        p95 = self.ok_ms[min(n - 1, int(0.95 * n))] if n else None
        return {
            "requests": self.requests,
            "failures": self.failures,
            "rps": round((self.requests - before) / max(now - then, 1e-3), 2),
            "p95_ms": round(p95, 2) if p95 is not None else None,
        }


class Sink:
    """Raw samples to the out file and to the tally, a batch at a time.

    A batch comes from this process's `Recorder` (flushed at least once a second, and when
    it holds 2,000 requests) or from a worker; it is one JSON array of samples per line: one
    `json.dumps` per sample would cost more than the rest of our bookkeeping together. A
    killed run loses at most the last second; the parent skips a torn last line.
    """

    def __init__(self, path: Path) -> None:
        fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        self.fh = os.fdopen(fd, "a", encoding="utf-8", buffering=1 << 16)
        self.tally = Tally()

    def write(self, samples: list[Sample]) -> None:
        if samples:
            self.fh.write(json.dumps(samples, separators=(",", ":")) + "\n")
            self.fh.flush()
            self.tally.add(samples)

    def close(self) -> None:
        self.fh.close()


class Run:
    """One run on a local or master runner: start it, watch it, stop it exactly once."""

    def __init__(
        self, config: RunnerConfig, runner: Runner, sink: Sink, recorder: Recorder | None
    ) -> None:
        self.config = config
        self.runner = runner
        self.sink = sink
        self.recorder = recorder  # None on the master: the workers hold the users
        self.reason: str | None = None
        self.parent = os.getppid()
        self.started = 0.0
        self.users = UserCounts()

    def start(self) -> None:
        config = self.config
        self.started = time.monotonic()
        self.users.record(time.time(), 0)
        # the end of each spawn, also of a run shorter than one poll of the watch loop
        self.runner.environment.events.spawning_complete.add_listener(  # type: ignore[no-untyped-call]
            lambda user_count, **_: self.users.record(time.time(), user_count)
        )
        if self.recorder is not None:
            self.recorder.started_at = self.started
        if self.runner.environment.shape_class is not None:
            self.runner.start_shape()
        else:
            self.runner.start(config.users, spawn_rate=config.spawn_rate)
        emit("started", pid=os.getpid(), users=config.users, workers=config.workers)
        gevent.spawn(self.watch)

    def finish(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            gevent.spawn(self._stop)

    def _stop(self) -> None:
        runner = self.runner
        if isinstance(runner, MasterRunner):
            workers = [c.id for c in runner.clients.all]
            # stop() waits for the workers' last samples (they flush before `client_stopped`)
            with gevent.Timeout(self.config.stop_timeout + 10, False):
                runner.stop()
            # Our workers quit after stopping (engine.load.worker); a stopped worker is no
            # longer among `clients`, so Locust's quit() would not reach one that did not.
            for worker in workers:
                runner.server.send_to_client(Message("quit", None, worker))  # type: ignore[no-untyped-call]
        runner.quit()

    def _counted_out(self) -> bool:
        if self.recorder is not None:  # local: every request was sent and answered
            return self.recorder.exhausted
        # master: every worker spent its share and its samples arrived
        return self.config.requests is not None and self.sink.tally.requests >= self.config.requests

    def watch(self) -> None:
        # The deadline is checked here on time.monotonic(): gevent's timers count from the
        # loop's cached clock, which Locust's slow import leaves seconds behind.
        deadline = self.started + self.config.time_limit
        next_progress = time.monotonic() + self.config.progress_interval
        while self.reason is None:
            gevent.sleep(0.05)
            # master: the workers' counts as their last heartbeats reported them
            self.users.poll(time.time(), self.runner.user_count)
            if time.monotonic() >= deadline:
                self.finish("duration")
            elif self._counted_out():
                self.finish("requests")
            elif self.runner.state == STATE_STOPPED:
                self.finish("steps")
            elif os.getppid() != self.parent:
                self.finish("parent-gone")  # nobody would read the result: stop generating load
            if time.monotonic() >= next_progress:
                next_progress += self.config.progress_interval
                if self.recorder is not None:
                    self.recorder.flush()
                emit(
                    "progress",
                    elapsed=round(time.monotonic() - self.started, 2),
                    users=self.runner.user_count,
                    **self.sink.tally.snapshot(),
                )


def _environment(config: RunnerConfig, cls: type, host: str | None) -> Environment:
    closed_steps = config.steps and not config.open_model
    shape = step_shape(config.steps, config.spawn_rate)() if closed_steps else None
    return Environment(
        user_classes=[cls], shape_class=shape, host=host, stop_timeout=config.stop_timeout
    )


def _locust_numbers(env: Environment) -> dict[str, Any]:
    total = env.stats.total
    return {
        "requests": total.num_requests,
        "failures": total.num_failures,
        **{f"p{q}_ms": total.get_response_time_percentile(q / 100) for q in (50, 95, 99)},
    }


def run_local_or_master(config: RunnerConfig, args: argparse.Namespace) -> int:
    sink = Sink(Path(args.out))
    master = args.role == "master"
    recorder = None if master else Recorder(config, "local", sink.write)
    # The master never runs users, but Locust needs the class to dispatch them by name.
    cls = user_class(config, recorder or Recorder(config, "master", lambda _b: None))
    env = _environment(config, cls, getattr(cls, "host", None))
    runner: Runner
    if master:
        runner = env.create_master_runner(args.master_bind_host, args.master_port)
        runner.register_message(SAMPLES_MSG, lambda environment, msg, **_: _receive(sink, msg))
        if not _await_workers(runner, config.workers):
            runner.quit()
            return EXIT_FAILED
        _send_budgets(runner, config)
    else:
        runner = env.create_local_runner()
    run = Run(config, runner, sink, recorder)
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, run.finish, "signal")
    run.start()
    runner.greenlet.join()
    if recorder is not None:
        recorder.flush()
    sink.close()
    run.users.end(time.time())
    emit(
        "done",
        reason=run.reason or "stopped",
        seconds=round(time.monotonic() - run.started, 3),
        locust=_locust_numbers(env),
        locust_cpu_warning=bool(getattr(runner, "cpu_warning_emitted", False)),
        aborted=recorder.aborted if recorder is not None else 0,
        dropped=recorder.dropped if recorder is not None else 0,
        users=run.users.points,
        **sink.tally.snapshot(),
    )
    return 0


def _receive(sink: Sink, msg: Any) -> None:
    sink.write(list(msg.data))


def _await_workers(runner: Any, expected: int) -> bool:
    deadline = time.monotonic() + WORKERS_CONNECT_TIMEOUT
    while runner.worker_count < expected:
        if time.monotonic() > deadline:
            emit(
                "error",
                message=f"only {runner.worker_count} of {expected} Locust workers connected "
                f"within {WORKERS_CONNECT_TIMEOUT:g}s",
            )
            return False
        gevent.sleep(0.05)
    return True


def _send_budgets(runner: Any, config: RunnerConfig) -> None:
    """A request count is split across the workers, so that exactly that many are sent."""
    if config.requests is None:
        return
    clients = sorted(runner.clients.ready, key=lambda c: str(c.id))
    share, extra = divmod(config.requests, len(clients))
    for i, client in enumerate(clients):
        runner.send_message(BUDGET_MSG, {"requests": share + (i < extra)}, client_id=client.id)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m engine.load.runner", description=__doc__)
    p.add_argument(
        "--config", required=True, help="the run's config (JSON, see engine.load.config)"
    )
    p.add_argument("--out", help="where raw samples go (JSON lines); local and master roles")
    p.add_argument("--role", choices=["local", "master", "worker"], default="local")
    p.add_argument("--master-host", default="127.0.0.1", help="worker: the master to join")
    p.add_argument("--master-bind-host", default="127.0.0.1", help="master: address to listen on")
    p.add_argument("--master-port", type=int, default=5557)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    try:
        config = RunnerConfig.read(Path(args.config))
        if args.role != "worker" and not args.out:
            raise ConfigError("--out is required for the local and master roles")
        if config.token_file and not os.access(config.token_file, os.R_OK):
            raise ConfigError(f"cannot read the runtime token file {config.token_file}")
    except ConfigError as exc:
        emit("error", message=str(exc))
        return EXIT_CONFIG
    if args.role == "worker":
        return run_worker(config, args.master_host, args.master_port)
    return run_local_or_master(config, args)


if __name__ == "__main__":
    sys.exit(main())

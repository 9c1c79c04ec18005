"""The worker role of the load runner: generate load for a Locust master, ship raw samples to it.

Role: generator side, imported only by `engine.load.runner` (after Locust). A worker runs the
users the master dispatches to it, and sends its raw samples to the master in small batches
as Locust custom messages (`SAMPLES_MSG`), so the master's out file holds every request of
every worker - also of workers on other machines, whose files the parent would never see.
The last batch goes out when the worker stops, before Locust's own `client_stopped`
message on the same connection, so the master has it when its `stop()` returns.

A request count is shared out by the master (`BUDGET_MSG`, before it starts the users); a
worker that spent its share stops its users and flushes.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import gevent
from locust.env import Environment

from engine.load.config import RunnerConfig
from engine.load.recorder import Recorder, Sample
from engine.load.users import user_class

SAMPLES_MSG = "agentops_samples"
BUDGET_MSG = "agentops_budget"
FLUSH_INTERVAL = 0.2  # seconds: samples reach the master (and the live progress) this late
BATCH_MAX = 500


class Shipper:
    """Sends the recorder's batches of samples to the master (the recorder buffers them)."""

    def __init__(self) -> None:
        self.recorder: Recorder | None = None
        self.runner: Any = None

    def send(self, samples: list[Sample]) -> None:
        # The recorder flushes only once the runner exists (its users and loop start after).
        self.runner.send_message(SAMPLES_MSG, samples)

    def flush(self, **_: Any) -> None:
        if self.recorder is not None and self.runner is not None:
            self.recorder.flush()

    def loop(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL)
            self.flush()


def run_worker(config: RunnerConfig, master_host: str, master_port: int) -> int:
    shipper = Shipper()
    recorder = Recorder(config, f"worker-{os.getpid()}", shipper.send, batch=BATCH_MAX)
    shipper.recorder = recorder
    cls = user_class(config, recorder)
    env = Environment(user_classes=[cls], host=getattr(cls, "host", None))
    runner = env.create_worker_runner(master_host, master_port)
    shipper.runner = runner

    def on_budget(environment: Any, msg: Any, **_: Any) -> None:
        recorder.remaining = int(msg.data["requests"])

    def on_start(**_: Any) -> None:
        recorder.started_at = time.monotonic()

    def on_stop(**_: Any) -> None:
        # Runs inside the worker's stop(), before it tells the master it stopped: the last
        # samples and Locust's final statistics go out first. Then the worker quits by itself:
        # Locust would keep it idle for `stop_timeout` and then wait for a new test.
        shipper.flush()
        runner._send_stats()  # noqa: SLF001 - Locust sends these only every 3 s otherwise
        gevent.spawn_later(0.1, runner.quit)

    runner.register_message(BUDGET_MSG, on_budget)
    env.events.test_start.add_listener(on_start)  # type: ignore[no-untyped-call]
    env.events.test_stop.add_listener(on_stop)  # type: ignore[no-untyped-call]
    parent = os.getppid()

    def watch_parent() -> None:
        while True:
            gevent.sleep(0.5)
            if os.getppid() != parent:  # started by agentops, which went away: stop
                shipper.flush()
                runner.quit()
                return

    gevent.spawn(shipper.loop)
    gevent.spawn(watch_parent)
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, lambda: gevent.spawn(_quit, runner, shipper))
    runner.greenlet.join()
    shipper.flush()
    return 0


def _quit(runner: Any, shipper: Shipper) -> None:
    shipper.flush()
    runner.quit()

"""Remote evaluators: wait for scores Langfuse's own LLM-as-a-judge puts on a dataset run.

Pipeline role: after a QualityGate run was recorded (`langfuse_runs`) and flushed, the gate
may depend on scores computed *in* Langfuse (evaluators configured on the project, running
on new experiment traces). `wait_for_remote_scores` polls `GET /api/public/v3/scores`,
filtered by the run's trace ids and the score names, until every successfully answered item
has every named score or the timeout passes. It never sleeps longer than the poll interval
nor past the deadline, and stops early on cancellation (Ctrl-C reaches runs as an Event).

Values are per item x repetition, like local evaluator scores, so the gate aggregates them
the same way. A failed call scores 0 without waiting (judges may skip failed traces, and
the engine's rule is that a failed call scores 0 on every evaluator); an item whose score
never came is reported in `missing` and counts as an error (0) for the gate.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import TemporaryError
from engine.providers.langfuse.runs import DatasetRunRecording

#: trace ids per request: keeps URLs short (the filter is a comma-separated query value)
TRACES_PER_REQUEST = 40
PAGE_LIMIT = 100


@dataclass
class RemoteScores:
    #: score name -> (item id, repetition) -> value
    values: dict[str, dict[tuple[str, int], float]] = field(default_factory=dict)
    #: score name -> "item#repetition" still without a score at the deadline
    missing: dict[str, list[str]] = field(default_factory=dict)
    polls: int = 0

    @property
    def complete(self) -> bool:
        return not any(self.missing.values())


def wait_for_remote_scores(
    run: DatasetRunRecording,
    names: Sequence[str],
    *,
    timeout: float,
    poll_interval: float = 5.0,
    source: str | None = "EVAL",
    cancel: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> RemoteScores:
    """Per-item values of the remote scores `names` on `run`'s traces (see module doc)."""
    run.recorder.flush()  # the judges can only score traces Langfuse has
    deadline = clock() + timeout
    stop = cancel or threading.Event()
    result = RemoteScores(values={n: {} for n in names})
    waiting: dict[str, tuple[str, int]] = {}
    for key, ok in sorted(run.recorded.items()):
        if ok:
            waiting[run.trace_id(*key)] = key
        else:
            for n in names:
                result.values[n][key] = 0.0
    while True:
        result.polls += 1
        # throttled or unreachable: the next poll may do better, until the deadline
        with contextlib.suppress(TemporaryError):
            _poll(run, names, source, waiting, result)
        todo = {n: [k for k in waiting.values() if k not in result.values[n]] for n in names}
        if not any(todo.values()):
            result.missing = {n: [] for n in names}
            return result
        left = deadline - clock()
        if left <= 0 or stop.is_set():
            result.missing = {n: sorted(f"{i}#{r}" for i, r in keys) for n, keys in todo.items()}
            return result
        stop.wait(min(poll_interval, left))


def _poll(
    run: DatasetRunRecording,
    names: Sequence[str],
    source: str | None,
    waiting: dict[str, tuple[str, int]],
    result: RemoteScores,
) -> None:
    pending = [t for t, key in waiting.items() if any(key not in result.values[n] for n in names)]
    latest: dict[tuple[str, str], str] = {}
    for start in range(0, len(pending), TRACES_PER_REQUEST):
        traces = ",".join(pending[start : start + TRACES_PER_REQUEST])
        cursor: str | None = None
        while True:
            page = _page(run, traces, names, source, cursor)
            for score in page.data:
                _take(score, waiting, result, latest)
            cursor = page.meta.cursor
            if not cursor:
                break


def _page(
    run: DatasetRunRecording,
    traces: str,
    names: Sequence[str],
    source: str | None,
    cursor: str | None,
) -> Any:
    conn = run.recorder.conn
    return conn.call(
        f"read the scores of run '{run.run_name}'",
        lambda o: conn.api.scores.get_many(
            trace_id=traces,
            name=",".join(names),
            source=source,
            fields="subject",
            limit=PAGE_LIMIT,
            cursor=cursor,
            request_options=o,
        ),
    )


def _take(
    score: object,
    waiting: dict[str, tuple[str, int]],
    result: RemoteScores,
    latest: dict[tuple[str, str], str],
) -> None:
    subject = getattr(score, "subject", None)
    kind = getattr(subject, "kind", None)
    trace = getattr(subject, "id", None) if kind == "trace" else getattr(subject, "trace_id", None)
    key = waiting.get(str(trace))
    name = str(getattr(score, "name", ""))
    value = getattr(score, "value", None)
    if key is None or name not in result.values:
        return
    if isinstance(value, bool):
        value = 1.0 if value else 0.0
    if not isinstance(value, int | float):
        return  # categorical/text scores cannot be gated on
    # a judge may run again: the newest score wins
    stamp = str(getattr(score, "timestamp", ""))
    if latest.get((name, str(trace)), "") <= stamp:
        latest[(name, str(trace))] = stamp
        result.values[name][key] = float(value)

"""A Monitor's results in Langfuse: scores on the agents' traces, the annotation queue.

Pipeline role: the Langfuse half of `engine.providers.runs.monitor` in a `store: langfuse`
environment. The agent hosts export every trace to Langfuse with its local trace id
(`engine.runtime.trace_export`), so a Monitor's local results map one to one:

* scores: `POST /api/public/scores` in batches, each with the id `uuid5(local score id)`
  on the same trace id: sending again (a retried run) updates, never duplicates;
* the annotation queue `<env>/<queue>` (environments may share a project, as datasets do):
  found by name or created with a NUMERIC 0..1 score config per evaluator (configs found by
  name or created), then its items listed and only the missing traces added
  (`objectType: TRACE`): idempotent;
* remote scores (`langfuse:<score>` evaluators, computed by the Monitor's evaluation rule,
  `engine.providers.langfuse.rules`): polled by trace id until every trace has them or the
  deadline passes, like a gate's (`remote_scores`).

Every call goes through the connection's retry policy; errors are engine errors.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import PermanentError, TemporaryError
from engine.providers.base import Context
from engine.providers.langfuse.http import LangfuseConnection, RetryPolicy
from engine.providers.langfuse.items import NAMESPACE, dataset_name
from engine.providers.langfuse.store import target_for

SCORE_BATCH = 100
PAGE = 100
TRACES_PER_REQUEST = 50

#: (local score id, trace id, name, value, comment)
ExportScore = tuple[str, str, str, float, str | None]


def score_uuid(local_id: str) -> str:
    """The Langfuse id of a local Monitor score (`<monitor>/<trace>/<evaluator>`)."""
    return str(uuid.uuid5(NAMESPACE, f"monitor-score/{local_id}"))


@dataclass(frozen=True)
class Exported:
    scores: int
    queue: str | None
    queue_id: str | None
    items_added: int


class MonitorExport:
    def __init__(self, conn: LangfuseConnection, *, env: str, monitor: str) -> None:
        self.conn = conn
        self.env = env
        self.monitor = monitor

    @classmethod
    def for_environment(cls, ctx: Context, env: str, monitor: str) -> MonitorExport:
        """Resolves and checks the environment's keys now (a clear error if unreachable)."""
        # (tests pass a RetryPolicy with an injected sleep in `ctx.extras`)
        retry = ctx.extras.get("langfuse.retry")
        conn = LangfuseConnection(
            target_for(ctx, env, monitor),
            retry=retry if isinstance(retry, RetryPolicy) else None,
        )
        return cls(conn, env=env, monitor=monitor)

    def close(self) -> None:
        self.conn.close()

    # --- scores -------------------------------------------------------------------------
    def post_scores(self, scores: Sequence[ExportScore]) -> int:
        env = self.env if len(self.env) <= 40 and not self.env.startswith("langfuse") else None
        bodies = [
            {
                k: v
                for k, v in {
                    "id": score_uuid(local_id),
                    "traceId": trace_id,
                    "name": name,
                    "value": value,
                    "comment": (comment or None) and comment[:500],
                    "dataType": "NUMERIC",
                    "environment": env,
                    "metadata": {"agentops": {"monitor": self.monitor, "id": local_id}},
                }.items()
                if v is not None
            }
            for local_id, trace_id, name, value, comment in scores
        ]
        rejected: list[str] = []
        for start in range(0, len(bodies), SCORE_BATCH):
            batch = bodies[start : start + SCORE_BATCH]
            got = self._do(
                f"send {len(batch)} monitor score(s)", self.conn.api.scores.create, request=batch
            )
            rejected.extend(str(e.message) for e in getattr(got, "errors", None) or ())
        if rejected:
            raise PermanentError(
                f"environment '{self.env}': Langfuse rejected {len(rejected)} monitor score(s): "
                + self.conn.redact("; ".join(sorted(set(rejected)))[:300])
            )
        return len(bodies)

    # --- annotation queue ---------------------------------------------------------------
    def queue_name(self, queue: str) -> str:
        return dataset_name(self.env, queue)

    def ensure_queue(self, queue: str, score_names: Sequence[str]) -> str:
        """The queue's id: found by name, else created with a score config per evaluator."""
        name = self.queue_name(queue)
        for q in self._pages("list annotation queues", self._queues_page):
            if q.name == name:
                return str(q.id)
        configs = self._score_configs(score_names)
        created = self.conn.call(
            f"create annotation queue {name}",
            lambda o: self.conn.api.annotation_queues.create_queue(
                name=name,
                score_config_ids=configs,
                description=f"managed by agentops ({self.monitor}): traces routed for review",
                request_options=o,
            ),
        )
        return str(created.id)

    def _queues_page(self, page: int, request_options: Mapping[str, Any]) -> Any:
        return self.conn.api.annotation_queues.list_queues(
            page=page, limit=PAGE, request_options=request_options
        )

    def _score_configs(self, names: Sequence[str]) -> list[str]:
        found = {
            c.name: str(c.id)
            for c in self._pages("list score configs", self._configs_page)
            if not getattr(c, "is_archived", False)
        }
        out = []
        for name in names:
            if name not in found:
                created = self._do(
                    f"create score config {name}",
                    self.conn.api.score_configs.create,
                    name=name,
                    data_type="NUMERIC",
                    min_value=0.0,
                    max_value=1.0,
                    description="agentops evaluator score (0..1)",
                )
                found[name] = str(created.id)
            out.append(found[name])
        return out

    def _configs_page(self, page: int, request_options: Mapping[str, Any]) -> Any:
        return self.conn.api.score_configs.get(
            page=page, limit=PAGE, request_options=request_options
        )

    def add_items(self, queue_id: str, trace_ids: Iterable[str]) -> int:
        """Add the traces not queued yet (list first: the API does not deduplicate)."""
        wanted = list(dict.fromkeys(trace_ids))
        if not wanted:
            return 0

        def page_of(page: int, request_options: Mapping[str, Any]) -> Any:
            return self.conn.api.annotation_queues.list_queue_items(
                queue_id, page=page, limit=PAGE, request_options=request_options
            )

        queued = {str(i.object_id) for i in self._pages("list annotation queue items", page_of)}
        added = 0
        for trace_id in wanted:
            if trace_id in queued:
                continue
            self._do(
                f"add trace {trace_id} to annotation queue {queue_id}",
                self.conn.api.annotation_queues.create_queue_item,
                queue_id=queue_id,
                object_id=trace_id,
                object_type="TRACE",
            )
            added += 1
        return added

    def _do(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`method(*args, **kwargs)` through the connection's retry policy."""
        return self.conn.call(what, lambda o: method(*args, **kwargs, request_options=o))

    def _pages(self, what: str, fetch: Callable[..., Any]) -> list[Any]:
        out: list[Any] = []
        page = 1
        while True:
            got = self._do(f"{what} (page {page})", fetch, page)
            out.extend(got.data)
            if not got.data or got.meta.total_pages <= page:
                return out
            page += 1

    # --- remote scores ------------------------------------------------------------------
    def wait_for_scores(
        self,
        trace_ids: Sequence[str],
        names: Sequence[str],
        *,
        source: str | None,
        timeout: float,
        poll_interval: float,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> dict[str, dict[str, float]]:
        """score name -> trace id -> value, for what arrived before the deadline."""
        values: dict[str, dict[str, float]] = {n: {} for n in names}
        stamps: dict[tuple[str, str], str] = {}
        deadline = clock() + timeout
        stop = cancel or threading.Event()
        while True:
            pending = [t for t in trace_ids if any(t not in values[n] for n in names)]
            if not pending:
                return values
            with contextlib.suppress(TemporaryError):  # the next poll may do better
                self._poll(pending, names, source, values, stamps)
            if all(t in values[n] for t in trace_ids for n in names):
                return values
            left = deadline - clock()
            if left <= 0 or stop.is_set():
                return values
            stop.wait(min(poll_interval, left))

    def _poll(
        self,
        pending: Sequence[str],
        names: Sequence[str],
        source: str | None,
        values: dict[str, dict[str, float]],
        stamps: dict[tuple[str, str], str],
    ) -> None:
        for start in range(0, len(pending), TRACES_PER_REQUEST):
            traces = ",".join(pending[start : start + TRACES_PER_REQUEST])
            cursor: str | None = None
            while True:
                page = self._do(
                    f"read the remote scores of {self.monitor}",
                    self.conn.api.scores.get_many,
                    trace_id=traces, name=",".join(names), source=source, fields="subject",
                    limit=PAGE, cursor=cursor,
                )  # fmt: skip
                for score in page.data:
                    _take(score, values, stamps)
                cursor = page.meta.cursor
                if not cursor:
                    break


def _take(
    score: object, values: dict[str, dict[str, float]], stamps: dict[tuple[str, str], str]
) -> None:
    subject = getattr(score, "subject", None)
    kind = getattr(subject, "kind", None)
    trace = getattr(subject, "id", None) if kind == "trace" else getattr(subject, "trace_id", None)
    name = str(getattr(score, "name", ""))
    value = getattr(score, "value", None)
    if trace is None or name not in values:
        return
    if isinstance(value, bool):
        value = 1.0 if value else 0.0
    if not isinstance(value, int | float):
        return
    stamp = str(getattr(score, "timestamp", ""))
    if stamps.get((name, str(trace)), "") <= stamp:  # a judge may run again: newest wins
        stamps[(name, str(trace))] = stamp
        values[name][str(trace)] = float(value)

"""The Langfuse half of a Monitor run, in an environment with `store: langfuse`.

Role: called by `engine.providers.runs.monitor` around its local work, which always comes
first and is committed whatever Langfuse does (the local store is what the window, status
and `annotate` read):

1. `connect`: the environment's keys resolved and checked; an unreachable Langfuse is a
   clear error on the run, after the local scores and cursor were committed;
2. `remote`: the `langfuse:<score>` evaluators' scores (computed by the Monitor's
   evaluation rule in Langfuse) on the traces this run sampled, waited for within their
   timeout and stored locally like any score, so the window includes them; a failed call
   scores 0 without waiting; a trace still unscored at the deadline is left out (the
   rule's sampling may have skipped it) and counted;
3. `export`: the local scores and routed queue items since the export cursor
   (`monitor_exports`), up to the run's cursor, posted to Langfuse (scores on the same trace
   ids, the annotation queue created if missing); the export cursor moves only when all of
   it was accepted, so a failed export is sent again by the next run, ids deterministic.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import AgentOpsError
from engine.evaluation.remote import RemoteEvaluator
from engine.monitoring.model import Trace, TraceScore
from engine.providers.base import Context
from engine.providers.langfuse.monitoring import MonitorExport
from engine.providers.local.traces import TraceStore
from engine.spec.schema.monitor import MonitorSpec


def uses_langfuse(ctx: Context, env: str) -> bool:
    spec = ctx.workspace.environments.get(env)
    return spec is not None and spec.doc.spec.store == "langfuse"


def _message(exc: AgentOpsError) -> str:
    return f"{exc} ({exc.hint})" if exc.hint else str(exc)


@dataclass
class LangfuseSide:
    address: str
    spec: MonitorSpec
    remote: Sequence[RemoteEvaluator]
    export: MonitorExport | None = None
    problem: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def baseline(self, store: TraceStore, start: int) -> None:
        """Before the first run's local commit: what Langfuse is owed starts here (a first
        export that fails is then sent by the next run, not forgotten)."""
        if store.export_cursor(self.address) is None:
            store.set_export_cursor(self.address, start, time.time())

    def connect(self, ctx: Context) -> None:
        if self.export is not None:  # the run read its traces from Langfuse already
            return
        try:
            self.export = MonitorExport.for_environment(ctx, self.spec.environment, self.address)
        except AgentOpsError as exc:
            self.problem = _message(exc)

    def remote_scores(
        self, store: TraceStore, sampled: Sequence[Trace], cursor: int, ctx: Context
    ) -> None:
        """Wait for the remote evaluators' scores on `sampled` and store them locally."""
        if not self.remote or not sampled:
            return
        got: dict[str, int] = {}
        missing: dict[str, int] = {}
        scores: list[TraceScore] = []
        pass_at = {ref.label: ref.pass_at for ref in self.spec.evaluators}
        ok = [t.trace_id for t in sampled if t.status == "ok"]
        for ev in self.remote:
            values: dict[str, float] = {}
            if self.export is not None and ok:
                try:
                    values = self.export.wait_for_scores(
                        ok, [ev.score], source=ev.source, timeout=ev.timeout,
                        poll_interval=ev.poll_interval, cancel=ctx.cancel,
                    )[ev.score]  # fmt: skip
                except AgentOpsError as exc:
                    self.problem = self.problem or _message(exc)
            for t in sampled:
                value = 0.0 if t.status != "ok" else values.get(t.trace_id)
                if value is None or not math.isfinite(value) or not 0.0 <= value <= 1.0:
                    continue
                comment = "the call failed" if t.status != "ok" else f"Langfuse {ev.source}"
                scores.append(
                    TraceScore(t.trace_id, ev.label, float(value), value >= pass_at[ev.label],
                               comment.lower(), t.started_at)
                )  # fmt: skip
            got[ev.label] = sum(1 for s in scores if s.name == ev.label)
            missing[ev.label] = len(sampled) - got[ev.label]
        if scores:
            store.commit_page(self.address, cursor, scores, [], time.time())
        self.summary["remote"] = {"scored": got, "missing": missing}

    def export_results(self, store: TraceStore, start: int, cursor: int) -> None:
        """Post what is not in Langfuse yet (see module doc); never raises."""
        if self.export is None:
            self.summary["export_pending"] = True
            return
        spec = self.spec
        after = store.export_cursor(self.address)
        after = start if after is None else min(after, cursor)
        remote = {ev.label for ev in self.remote}
        scores, items = store.to_export(self.address, spec.environment, spec.agent, after, cursor)
        try:
            posted = self.export.post_scores([s for s in scores if s[2] not in remote])
            queue = None
            added = 0
            if spec.annotate is not None:
                labels = [ref.label for ref in spec.evaluators]
                queue_id = self.export.ensure_queue(spec.annotate.queue, labels)
                mine = [t for q, t in items if q == spec.annotate.queue]
                added = self.export.add_items(queue_id, mine)
                queue = {"name": self.export.queue_name(spec.annotate.queue), "id": queue_id}
        except AgentOpsError as exc:
            self.problem = self.problem or _message(exc)
            self.summary["export_pending"] = True
            return
        finally:
            self.export.close()
        store.set_export_cursor(self.address, cursor, time.time())
        self.summary.update(scores_posted=posted, queue=queue, queue_items_added=added)
        self.summary["export_pending"] = False

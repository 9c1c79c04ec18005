"""Where a Monitor reads its agent's traces: the local trace store, or Langfuse.

Role: chosen by `engine.providers.runs.monitor` (the run) and `inputs.monitor_inputs` (the
plan). Agents on the local runtime write `.agentops/traces.sqlite`; agents on AgentCore in
a `store: langfuse` environment export their spans to Langfuse only, so their Monitors read
Langfuse (`engine.providers.langfuse.trace_source`):

* the cursor is (start time, trace id) of the last trace read (`monitor_remote_cursors`),
  not a local `seq`; each page read is mirrored into the local store with its scores, its
  queue items and the cursor, one transaction (`TraceStore.commit_remote_page`);
* traces that started less than `SETTLE_SECONDS` ago are left for the next run: a span is
  exported when it ends and Langfuse lists it moments later, and a trace that appeared
  behind the cursor would never be read;
* the plan's `traces_head` is the newest trace before that line: one request (after the
  keys' check) per Monitor and plan; a run records as consumed the head it read up to, so
  the plan after an apply is clean. An unreadable Langfuse at plan time makes the head
  `unreadable`: the Monitor runs and fails with the reason, its cursor kept.
"""

from __future__ import annotations

import time

from engine.errors import AgentOpsError, PermanentError
from engine.providers.base import Context
from engine.providers.langfuse.http import LangfuseConnection, RetryPolicy
from engine.providers.langfuse.monitoring import MonitorExport
from engine.providers.langfuse.store import target_for
from engine.providers.langfuse.trace_source import LangfuseTraces, Read
from engine.spec.schema.monitor import MonitorSpec

SETTLE_SECONDS = 60.0
UNREADABLE = "unreadable"


def reads_langfuse(ctx: Context, env: str) -> bool:
    """The environment's agents run on AgentCore and export their traces to Langfuse."""
    spec = ctx.workspace.environments.get(env)
    if spec is None:
        return False
    return spec.doc.spec.runtime == "agentcore" and spec.doc.spec.store == "langfuse"


def cursor_key(cursor: tuple[float, str] | None) -> str:
    """A remote cursor (or head) as a run input: `<start time>/<trace id>`, "" for none."""
    return "" if cursor is None else f"{cursor[0]:.6f}/{cursor[1]}"


def _retry(ctx: Context) -> RetryPolicy | None:
    retry = ctx.extras.get("langfuse.retry")  # tests inject a sleep
    return retry if isinstance(retry, RetryPolicy) else None


def langfuse_head(ctx: Context, spec: MonitorSpec, monitor: str) -> str:
    """The plan's `traces_head` of a Monitor that reads Langfuse (see the module doc)."""
    try:
        conn = LangfuseConnection(target_for(ctx, spec.environment, monitor), retry=_retry(ctx))
    except AgentOpsError:
        return UNREADABLE
    try:
        traces = LangfuseTraces(conn, env=spec.environment, agent=spec.agent)
        return cursor_key(traces.head(time.time() - SETTLE_SECONDS))
    except AgentOpsError:
        return UNREADABLE
    finally:
        conn.close()


class LangfuseSource:
    """One run's reads of an agent's traces in Langfuse; its connection is then the one
    the run's results are posted on (`export`)."""

    def __init__(self, ctx: Context, spec: MonitorSpec, monitor: str) -> None:
        self.spec = spec
        self.monitor = monitor
        try:
            self.export = MonitorExport.for_environment(ctx, spec.environment, monitor)
        except AgentOpsError as exc:
            raise self._unreadable(exc) from None
        self.traces = LangfuseTraces(self.export.conn, env=spec.environment, agent=spec.agent)
        self.until = time.time() - SETTLE_SECONDS
        self.head: tuple[float, str] | None = None

    def read(self, after: tuple[float, str] | None, since: float) -> Read:
        """The head, then the traces after `after` in `[since, until)` (module doc)."""
        try:
            self.head = self.traces.head(self.until)
            return self.traces.read(after, since, self.until, self.spec.max_traces_per_run)
        except AgentOpsError as exc:
            self.export.close()
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: AgentOpsError) -> PermanentError:
        detail = f"{exc} ({exc.hint})" if exc.hint else str(exc)
        return PermanentError(
            f"cannot read the traces of agent.{self.spec.agent}[{self.spec.environment}] "
            f"from Langfuse: {detail}; the monitor's cursor is kept, the next run reads them"
        )

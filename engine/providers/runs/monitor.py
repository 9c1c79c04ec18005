"""MonitorProvider: scores an agent's new production traces and judges its window.

Role: the job provider for `kind: Monitor` (route "monitor"). A Monitor is a run whose
inputs include its cursor: the plan runs it when traces arrived since the last run (the
newest trace `seq` of its agent is an input), `watch` at most every `interval`. One run:

    cursor (monitor_cursors) -> skip what is older than the window -> pages of traces
    -> filters, deterministic sample -> ground-truth-free evaluators -> scores + routed
       annotation items + the new cursor, one transaction per page (a crash re-scores at
       most one page; score ids are deterministic, so nothing counts twice)
    -> the window's figures over every score in it -> verdict (ok | breached | inconclusive)
    -> RunResult: "failed" on a breach, naming each breached check; the summary keeps the
       window, the agent digests that answered in it, and the annotation queue's counts.

Reads are bounded by pages and by the window's time index, never by the store's size.

The traces of agents on AgentCore (environments with `store: langfuse`) are read from
Langfuse instead (`monitor_source`): the cursor is then (start time, trace id), and each
page read is mirrored locally in the transaction of its scores, so what follows (window,
export, status, `annotate`) is the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import AgentOpsError
from engine.evaluation.remote import split_refs
from engine.evaluators import Evaluator
from engine.monitoring.harm import looks_harmful
from engine.monitoring.model import Trace, TraceScore
from engine.monitoring.scoring import Scored, case_of, in_sample, matches, route, score
from engine.monitoring.window import Window, judge_window
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.local.traces import trace_store
from engine.providers.runs.eval_runner import build_evaluators
from engine.providers.runs.inputs import monitor_inputs
from engine.providers.runs.monitor_langfuse import LangfuseSide, uses_langfuse
from engine.providers.runs.monitor_source import LangfuseSource, cursor_key, reads_langfuse
from engine.spec.addresses import Address
from engine.spec.graph import GraphNode
from engine.spec.schema import EvaluatorRef
from engine.spec.schema.monitor import MonitorSpec
from engine.state.model import RunRecord

PAGE = 500
#: the window's error rate and latency are computed over at most this many newest traces
WINDOW_TRACE_LIMIT = 100_000


#: commits one page: (its traces, their scores, routed items) -> the monitor's local cursor
_Commit = Callable[[list[Trace], Sequence[TraceScore], Sequence[tuple[str, str, str]]], int]


class MonitorProvider:
    name: ClassVar[str] = "monitor"
    kinds: ClassVar[frozenset[str]] = frozenset({"Monitor"})

    def __init__(self, state_dir: Path) -> None:
        self.traces = trace_store(state_dir)
        self._remote_read: dict[str, Any] = {}

    def inputs(self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
        return monitor_inputs(node, ctx)

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        spec: MonitorSpec = node.spec.doc.spec
        address = str(node.address)
        try:
            local, remote = split_refs(spec.evaluators)
            evaluators = build_evaluators(local, ctx, spec.environment, address)
            lf = None
            if uses_langfuse(ctx, spec.environment):
                lf = LangfuseSide(address, spec, remote)
            result = self._run(address, spec, local, evaluators, ctx, lf)
        except AgentOpsError as exc:
            message = f"{exc} ({exc.hint})" if exc.hint else str(exc)
            return RunResult("failed", {"error": message}, message)
        # What was judged: every trace up to the cursor the run reached, not the head the
        # plan saw (a load test may have added thousands since).
        head = result.summary.get("remote_head", result.summary["cursor"])
        result.consumed = monitor_inputs(node, ctx, head=head)
        return result

    def _run(
        self,
        address: str,
        spec: MonitorSpec,
        refs: list[EvaluatorRef],
        evaluators: list[Evaluator],
        ctx: Context,
        lf: LangfuseSide | None,
    ) -> RunResult:
        now = time.time()
        since = now - spec.window
        env = spec.environment
        pairs = [(ev, ref.pass_at) for ev, ref in zip(evaluators, refs, strict=True)]
        source = LangfuseSource(ctx, spec, address) if reads_langfuse(ctx, env) else None
        if source is None:
            pages, commit, start, skipped = self._local_pages(address, spec, since)
        else:
            pages, commit, start, skipped = self._remote_pages(address, source, since)
            if lf is not None:
                lf.export = source.export  # one connection: read, then post the results
        if lf is not None:
            lf.baseline(self.traces, start)
        cursor = start
        seen = sampled = routed = 0
        failing: list[Scored] = []
        taken: list[Trace] = []  # the sampled traces, for remote (Langfuse) evaluators
        for page in pages:
            if ctx.cancel.is_set():
                break
            scores: list[TraceScore] = []
            annotations: list[tuple[str, str, str]] = []
            for trace in page:
                seen += 1
                if not matches(trace, spec) or not in_sample(
                    address, trace.trace_id, spec.sampling
                ):
                    continue
                sampled += 1
                if lf is not None and lf.remote:
                    taken.append(trace)
                scored = score(trace, case_of(trace, looks_harmful(trace)), pairs)
                scores.extend(scored.scores)
                reason = route(scored, spec, address, breached=False)
                if reason and spec.annotate and routed < spec.annotate.max_per_run:
                    annotations.append((spec.annotate.queue, trace.trace_id, reason))
                    routed += 1
                elif any(not s.passed for s in scored.scores) and len(failing) < 1000:
                    failing.append(scored)
            cursor = commit(page, scores, annotations)
        if lf is not None:  # after the local commit: Langfuse being down loses nothing
            lf.connect(ctx)
            lf.remote_scores(self.traces, taken, cursor, ctx)
        window = self._window(address, spec, since, now)
        routed += self._route_breach(address, spec, window, failing, routed)
        if lf is not None:
            lf.export_results(self.traces, start, cursor)
        result = self._result(address, spec, window, seen, sampled, routed, skipped, cursor)
        if source is not None:
            reached = source.head if not ctx.cancel.is_set() else None
            result.summary["remote_head"] = cursor_key(
                reached or self.traces.remote_cursor(address)
            )
            result.summary["langfuse_read"] = dict(self._remote_read)
        if lf is None:
            return result
        result.summary["langfuse"] = lf.summary
        if lf.problem is None:
            return result
        # Not a verdict: the next plan runs it again (`export_pending`) and sends the rest.
        result.summary["export_pending"] = bool(lf.summary.get("export_pending"))
        message = (
            f"the monitor's results were not recorded in Langfuse: {lf.problem}; the local "
            "scores and cursor are kept, the next run sends them"
        )
        return RunResult("failed", result.summary, message)

    def _local_pages(
        self, address: str, spec: MonitorSpec, since: float
    ) -> tuple[Iterator[list[Trace]], _Commit, int, int]:
        """Pages of the local store after the monitor's `seq` cursor (and the window)."""
        env, agent = spec.environment, spec.agent
        cursor = self.traces.cursor(address) or 0
        # Traces older than the window are never judged: start at the window's first one.
        cursor = max(cursor, self.traces.first_seq_since(env, agent, since))
        head = self.traces.head(env, agent)
        skipped = max(0, head - cursor - spec.max_traces_per_run)
        cursor += skipped  # the newest `maxTracesPerRun` are kept

        def pages(after: int = cursor) -> Iterator[list[Trace]]:
            while page := self.traces.page(env, agent, after, PAGE):
                yield page
                after = page[-1].seq

        def commit(
            page: list[Trace], scores: Sequence[TraceScore], ann: Sequence[tuple[str, str, str]]
        ) -> int:
            self.traces.commit_page(address, page[-1].seq, scores, ann, time.time())
            return page[-1].seq

        return pages(), commit, cursor, skipped

    def _remote_pages(
        self, address: str, source: LangfuseSource, since: float
    ) -> tuple[Iterator[list[Trace]], _Commit, int, int]:
        """The traces read from Langfuse after the monitor's remote cursor, in pages, each
        mirrored locally with its scores and the new remote cursor (one transaction)."""
        read = source.read(self.traces.remote_cursor(address), since)
        self._remote_read = {"requests": read.requests, "truncated": read.truncated}
        start = self.traces.cursor(address) or 0
        chunks = [read.traces[i : i + PAGE] for i in range(0, len(read.traces), PAGE)]

        def commit(
            page: list[Trace], scores: Sequence[TraceScore], ann: Sequence[tuple[str, str, str]]
        ) -> int:
            last = (page[-1].started_at, page[-1].trace_id)
            return self.traces.commit_remote_page(address, last, page, scores, ann, time.time())

        return iter(chunks), commit, start, 0

    def _window(self, address: str, spec: MonitorSpec, since: float, now: float) -> Window:
        traces, errors, latencies = self.traces.window_traces(
            spec.environment, spec.agent, since, spec.filters.sources, WINDOW_TRACE_LIMIT
        )
        return judge_window(
            spec,
            since=since,
            until=now,
            scores=self.traces.window_scores(address, since),
            traces=traces,
            errors=errors,
            latencies=latencies,
            pass_at={ref.label: ref.pass_at for ref in spec.evaluators},
        )

    def _route_breach(
        self, address: str, spec: MonitorSpec, window: Window, failing: list[Scored], routed: int
    ) -> int:
        """On a breach, this run's failing traces go to the queue too (`when: [breach]`)."""
        ann = spec.annotate
        if ann is None or window.verdict != "breached" or "breach" not in ann.when:
            return 0
        room = max(0, ann.max_per_run - routed)
        items = [(ann.queue, s.trace.trace_id, "window breached") for s in failing[:room]]
        if items:
            cursor = self.traces.cursor(address) or 0
            self.traces.commit_page(address, cursor, [], items, time.time())
        return len(items)

    def _result(
        self,
        address: str,
        spec: MonitorSpec,
        window: Window,
        seen: int,
        sampled: int,
        routed: int,
        skipped: int,
        cursor: int,
    ) -> RunResult:
        queue = None
        if spec.annotate is not None:
            counts = self.traces.queues().get(spec.annotate.queue, {})
            queue = {"name": spec.annotate.queue, **counts}
        summary: dict[str, Any] = {
            "window": window.summary(),
            "new_traces": seen,
            "scored": sampled,
            "routed": routed,
            "skipped_over_limit": skipped,
            "cursor": cursor,
            "agent": spec.agent,
            "environment": spec.environment,
            "digests": self._digests(spec, window.since),
            "on_breach": spec.on_breach,
            "queue": queue,
        }
        figures = ", ".join(c.line() for c in window.checks) or "no thresholds"
        head = f"{sampled} of {seen} new trace(s) scored; window {window.scored} scored trace(s): "
        if window.verdict == "breached":
            bad = "; ".join(c.line() for c in window.checks if not c.ok)
            return RunResult("failed", summary, f"monitor breached: {bad}", verdict=True)
        if window.verdict == "inconclusive":
            return RunResult(
                "succeeded",
                summary,
                head + f"inconclusive (fewer than minTraces {spec.min_traces})",
            )
        return RunResult("succeeded", summary, head + figures)

    def _digests(self, spec: MonitorSpec, since: float) -> list[str]:
        """The agent digests that answered the window's traffic (which version the verdict is
        on): only the sources the Monitor judges, so a gate's `evaluation` traffic on a new
        digest does not put that digest under an old breach."""
        digests: set[str] = set()
        for source in spec.filters.sources:
            recent = self.traces.recent(
                env=spec.environment, agent=spec.agent, since=since, limit=1000, source=source
            )
            digests.update(t.digest for t in recent if t.digest)
        return sorted(digests)


__all__ = ["MonitorProvider", "Trace", "trace_store"]

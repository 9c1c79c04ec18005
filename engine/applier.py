"""The applier: walks a Plan in dependency order and never re-diffs.

Why one file (~400 lines): scheduling, the journal writes and the outcome bookkeeping share
one lock and one set of counters; splitting them would spread that invariant over modules.

Independent changes run in parallel (`parallelism`); state is journalled after every
completed action (and a pending operation with a deterministic idempotency token is
recorded before every create/update/delete, so a crash can be resolved next time).
Scheduling is event-driven: each change counts the dependencies it still waits for and
becomes ready (in plan order) when the last one finishes, so an apply of N changes with E
dependencies costs O((N + E) log N) however long its chains are.
Dependents of a failed change are skipped as "upstream failed" and only the root error is
reported; everything else goes on. A BLOCKED change proceeds only if the gate it waits for
passed for exactly its digest in this apply. A run the plan marked over its budget
(`engine.planner.budget`) fails before its provider is called: nothing of it starts.
"""

from __future__ import annotations

import hashlib
import heapq
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from engine import faults
from engine.errors import AgentOpsError, OverBudget, ProviderError, TemporaryError
from engine.planner.budget import HINT as BUDGET_HINT
from engine.planner.plan import Action, Change, Plan
from engine.providers.base import Context, Desired, JobProvider, ResourceProvider, RunInputs
from engine.spec.addresses import Address
from engine.spec.coverage import verdict_digests
from engine.spec.graph import GraphNode
from engine.state.model import PendingOp, ResourceState, RunRecord, State, now_iso
from engine.state.store import StateStore


@dataclass
class Outcome:
    address: str
    action: Action
    status: str  # "ok" | "failed" | "skipped"
    message: str = ""
    seconds: float = 0.0
    summary: dict[str, Any] = field(default_factory=dict)
    #: for a TemporaryError: the provider's own "retry after" (seconds); watch backs off on it
    retry_after: float | None = None
    #: failed (or skipped) because of a verdict - a gate, an SLO, a Monitor - not an error
    verdict: bool = False


@dataclass
class ApplyResult:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def only_verdicts(self) -> bool:
        """Not ok, and every failure and skip comes from a verdict (the tool worked)."""
        bad = [
            o
            for o in self.outcomes
            if o.status == "failed" or (o.status == "skipped" and o.action is not Action.NOOP)
        ]
        return bool(bad) and all(o.verdict for o in bad)

    @property
    def ok(self) -> bool:
        return not self.failed and not any(
            o.status == "skipped" and o.action is not Action.NOOP for o in self.outcomes
        )


def idempotency_token(lineage: str, address: str, op: str, digest: str | None) -> str:
    """Deterministic, 33-256 chars (AgentCore's clientToken rule): same op, same token."""
    raw = f"{lineage}|{address}|{op}|{digest or ''}".encode()
    return "agentops-" + hashlib.sha256(raw).hexdigest()[:40]


EventSink = Callable[[str, Change, Outcome | None], None]
STOPPING = "not started: agentops is stopping"


class Applier:
    def __init__(
        self,
        plan: Plan,
        *,
        nodes: Mapping[str, GraphNode],
        desired: Mapping[str, Desired],
        run_inputs: Mapping[str, RunInputs],
        resource_providers: Mapping[str, ResourceProvider],
        job_providers: Mapping[str, JobProvider],
        store: StateStore,
        state: State,
        ctx: Context,
        parallelism: int = 4,
        on_event: EventSink = lambda _e, _c, _o: None,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.plan = plan
        self.nodes = nodes
        self.desired = desired
        self.run_inputs = run_inputs
        self.resources = resource_providers
        self.jobs = job_providers
        self.store = store
        self.state = state
        self.ctx = ctx
        self.parallelism = max(1, parallelism)
        self.on_event = on_event
        #: polled before starting each action: a stopping watcher lets running actions
        #: finish (their state is journalled) and starts nothing new
        self.should_stop = should_stop
        #: the store's lock orders journal lines and the state they are applied to
        self._lock = store.mutex
        self.outcomes: dict[str, Outcome] = {}
        #: address -> changes that wait for it (filled by `run`)
        self._waiters: dict[str, list[int]] = {}
        self._waiting: list[int] = []
        self._ready_heap: list[int] = []

    # --- state, serialised ------------------------------------------------------------
    def _journal(self, entry: dict[str, Any]) -> None:
        # not under self._lock: concurrent appends share their fsyncs (group commit)
        self.store.append(self.state, entry)

    def output_of(self, address: str) -> Mapping[str, Any] | None:
        with self._lock:
            res = self.state.resources.get(address)
            return dict(res.outputs) if res else None

    # --- scheduling -------------------------------------------------------------------
    def run(self) -> ApplyResult:
        self.ctx.outputs = self.output_of
        changes = {c.address: c for c in self.plan.changes}
        self._index(changes)
        running: dict[Future[Outcome], Change] = {}
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            try:
                self._schedule(pool, running, changes)
            except BaseException:
                # Ctrl-C reaches only this thread; leaving the `with` waits for the workers,
                # so tell their runs to stop and tear down instead of finishing first.
                self.ctx.cancel.set()
                raise
        return ApplyResult([self.outcomes[c.address] for c in self.plan.changes])

    @staticmethod
    def _waits_for(change: Change, changes: Mapping[str, Change]) -> list[str]:
        """What `change` waits for in this plan, in order (a dependency outside it is done)."""
        waits = list(change.depends_on)
        if change.action is Action.BLOCKED and change.blocked_by:
            waits.append(change.blocked_by)
        return [d for d in dict.fromkeys(waits) if d in changes]

    def _index(self, changes: Mapping[str, Change]) -> None:
        """Count each change's unfinished dependencies; the ones with none are ready."""
        self._waiters = {}
        self._waiting = []
        self._ready_heap = []
        for i, change in enumerate(self.plan.changes):
            waits = self._waits_for(change, changes)
            self._waiting.append(len(waits))
            for dep in waits:
                self._waiters.setdefault(dep, []).append(i)
            if not waits:
                self._ready_heap.append(i)
        heapq.heapify(self._ready_heap)

    def _schedule(
        self,
        pool: ThreadPoolExecutor,
        running: dict[Future[Outcome], Change],
        changes: Mapping[str, Change],
    ) -> None:
        ready = self._ready_heap
        while True:
            # Start what is ready, in plan order, while there is room. No-ops and skips take
            # no worker, but like the rest they wait for a free slot (a stable event order).
            while ready and len(running) < self.parallelism:
                change = self.plan.changes[heapq.heappop(ready)]
                # A stopping watcher skips each change as it becomes ready: the verdict is
                # the same as skipping it at once, and running ones finish meanwhile.
                if change.action is not Action.NOOP and self.should_stop():
                    self._finish(
                        change, Outcome(change.address, change.action, "skipped", STOPPING)
                    )
                    continue
                verdict = self._ready(change, changes)
                if verdict != "go":
                    skipped = Outcome(change.address, change.action, "skipped", verdict)
                    skipped.verdict = self._skipped_by_verdict(change, verdict)
                    self._finish(change, skipped)
                elif change.action is Action.NOOP:
                    self._finish(change, Outcome(change.address, change.action, "ok"))
                elif (refused := _over_budget(change)) is not None:
                    self._finish(change, refused)
                else:
                    self.on_event("start", change, None)
                    running[pool.submit(self._execute, change)] = change
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for fut in done:
                self._finish(running.pop(fut), fut.result())
        for change in self.plan.changes:  # waits on something that never finishes (a cycle)
            if change.address not in self.outcomes:
                self._finish(
                    change,
                    Outcome(change.address, change.action, "skipped", "dependency not in plan"),
                )

    def _finish(self, change: Change, outcome: Outcome) -> None:
        self.outcomes[change.address] = outcome
        self.on_event("finish", change, outcome)
        for i in self._waiters.get(change.address, ()):
            self._waiting[i] -= 1
            if self._waiting[i] == 0:
                heapq.heappush(self._ready_heap, i)

    def _ready(self, change: Change, changes: Mapping[str, Change]) -> str:
        """'go', or the reason to skip; called once everything it waits for has finished."""
        for dep in self._waits_for(change, changes):
            done = self.outcomes[dep]
            if done.status != "ok":
                root = (
                    done.message
                    if done.status == "skipped" and "upstream" in done.message
                    else f"upstream failed: {dep}"
                )
                return root
        if change.action is Action.BLOCKED:
            return self._gate_verdict(change)
        return "go"

    def _skipped_by_verdict(self, change: Change, reason: str) -> bool:
        """A skip caused by a failed gate/SLO upstream, or a promotion its gate refused."""
        if change.action is Action.BLOCKED and reason.startswith("blocked:"):
            return " failed " in reason
        waits = [*change.depends_on, *([change.blocked_by] if change.blocked_by else [])]
        failed = [self.outcomes[d] for d in waits if d in self.outcomes]
        failed = [o for o in failed if o.status != "ok"]
        return bool(failed) and all(o.verdict for o in failed)

    def _gate_verdict(self, change: Change) -> str:
        gate = change.blocked_by
        if gate is None:
            return f"blocked: no QualityGate covers {change.address} - it keeps its current version"
        record = self.state.runs.get(gate)
        if (
            change.unblocks_if_gate_passes
            and record is not None
            and record.status == "succeeded"
            and self._covers(gate, change)
        ):
            return "go"
        if record is not None and record.status == "failed":
            return f"blocked: {gate} failed - {change.address} keeps its current version"
        return f"blocked: waits for {gate} to pass digest {change.digest}"

    def _covers(self, gate: str, change: Change) -> bool:
        """The gate's new verdict covers this agent with this digest. Its callees' digests
        were checked by the planner against the inputs the gate ran with."""
        record = self.state.runs[gate]
        node = self.nodes.get(gate)
        agent = str(getattr(node.spec.doc.spec, "agent", "")) if node is not None else ""
        name = Address.parse(change.address).name
        return verdict_digests(record.summary, agent).get(name) == change.digest

    # --- execution --------------------------------------------------------------------
    def _execute(self, change: Change) -> Outcome:
        started = time.monotonic()
        try:
            summary = self._do(change)
            return Outcome(
                change.address,
                change.action,
                "ok",
                seconds=time.monotonic() - started,
                summary=summary,
            )
        except ProviderError as exc:
            with self._lock:
                if change.address in self.state.pending:
                    self.store.append(
                        self.state, {"type": "clear_pending", "address": change.address}
                    )
            return Outcome(
                change.address,
                change.action,
                "failed",
                _message(exc),
                seconds=time.monotonic() - started,
                retry_after=exc.delay if isinstance(exc, TemporaryError) else None,
            )
        except AgentOpsError as exc:
            summary = exc.summary if isinstance(exc, RunFailed) else {}
            return Outcome(
                change.address,
                change.action,
                "failed",
                _message(exc),
                seconds=time.monotonic() - started,
                summary=summary,
                verdict=isinstance(exc, RunFailed) and exc.verdict,
            )
        except Exception as exc:  # noqa: BLE001 - reported per action; the apply goes on
            return Outcome(
                change.address,
                change.action,
                "failed",
                f"internal error: {type(exc).__name__}: {exc}",
                seconds=time.monotonic() - started,
            )

    def _do(self, change: Change) -> dict[str, Any]:
        action = change.then if change.action is Action.BLOCKED and change.then else change.action
        if action is Action.RUN:
            return self._run(change)
        provider = self.resources[change.provider]
        prior = self.state.resources.get(change.address)
        if action is Action.DELETE:
            assert prior is not None
            token = self._pending(change, "delete", prior.digest)
            faults.point("provider_call")
            provider.delete(prior, token, self.ctx)
            self._journal({"type": "forget", "address": change.address})
            return {}
        node = self.nodes[change.address]
        desired = self.desired[change.address]
        if action is Action.REPLACE and prior is not None:
            token = self._pending(change, "delete", prior.digest)
            faults.point("provider_call")
            provider.delete(prior, token, self.ctx)
            self._journal({"type": "forget", "address": change.address})
            prior = None
        if prior is None:
            token = self._pending(change, "create", desired.digest)
            faults.point("provider_call")
            res = provider.create(node, desired, token, self.ctx)
        else:
            token = self._pending(change, "update", desired.digest)
            faults.point("provider_call")
            res = provider.update(node, desired, prior, token, self.ctx)
        self._journal({"type": "resource", "resource": res.model_dump(mode="json")})
        return {}

    def _pending(self, change: Change, op: str, digest: str | None) -> str:
        token = idempotency_token(self.state.lineage, change.address, op, digest)
        pending = PendingOp(
            address=change.address,
            kind=change.kind,
            provider=change.provider,
            op=op,
            token=token,
            digest=digest,
        )
        self._journal({"type": "pending", "op": pending.model_dump(mode="json")})
        return token

    def _run(self, change: Change) -> dict[str, Any]:
        provider = self.jobs[change.provider]
        node = self.nodes[change.address]
        inputs = self.run_inputs[change.address]
        prior = self.state.runs.get(change.address)
        started = now_iso()
        faults.point("provider_call")
        result = provider.run(node, inputs, self.ctx, prior)
        inputs = result.consumed or inputs
        summary = {**result.summary, "inputs": dict(inputs.attrs)}
        last_ok = (
            inputs.digest
            if result.status == "succeeded"
            else (prior.last_success_digest if prior else None)
        )
        record = RunRecord(
            address=change.address,
            kind=change.kind,
            inputs_digest=inputs.digest,
            status=result.status,
            started_at=started,
            finished_at=now_iso(),
            summary=summary,
            last_success_digest=last_ok,
            message=result.message,
        )
        self._journal({"type": "run", "run": record.model_dump(mode="json")})
        if result.status != "succeeded":
            raise RunFailed(
                result.message or f"{change.address} failed", summary, verdict=result.verdict
            )
        return summary


class RunFailed(AgentOpsError):
    def __init__(self, message: str, summary: dict[str, Any], *, verdict: bool = False) -> None:
        super().__init__(message)
        self.summary = summary
        self.verdict = verdict


def _over_budget(change: Change) -> Outcome | None:
    """A run the plan found over its budget fails here, before anything of it starts."""
    if change.cost is None or not change.cost.refused:
        return None
    exc = OverBudget(f"not started: {change.cost.refused}", hint=BUDGET_HINT)
    return Outcome(change.address, change.action, "failed", _message(exc))


def _message(exc: AgentOpsError) -> str:
    return f"{exc} ({exc.hint})" if exc.hint else str(exc)


__all__ = ["Applier", "ApplyResult", "Outcome", "idempotency_token", "Address", "ResourceState"]

"""One watch cycle: load, validate, plan, narrow, apply, record - and never raise.

Pipeline role: the `Reconciler` the watch loop calls. Per cycle:

    load_workspace --invalid--> report every diagnostic; on resync, heal drift towards the
         |                      last valid snapshot (healing_only); nothing else happens
       valid -> read-only session (no lock) -> prepare -> snapshot
             -> lift back-offs whose digest changed -> observe_each (skips resources in
                back-off) -> make_plan(retry_failed_runs=False) -> hold deletions still in
                their prune grace (PruneGrace) -> defer(back-off)
             -> nothing to do: done, the lock was never taken
             -> otherwise: locked session -> the plan, if the state did not move meanwhile
                (else plan again under the lock) -> apply(should_stop) -> back-off
                bookkeeping -> watch.json

The lock is held only while the watcher acts, so with a shared (S3) state a CI apply or a
person can run between two of its reconciles; two watchers never act at once (the lock),
and one that finds the state moved on plans again instead of applying a stale plan.

A failed gate or SLO is a recorded result, not an error: with `retry_failed_runs=False` it
runs again only when its inputs change, so it gets no back-off. Everything that goes wrong
at the cycle level (state locked, a provider that cannot be routed, a bug) is logged and
backs off under `(workspace)`: a temporary error never kills the watcher.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine.applier import STOPPING, ApplyResult, Outcome
from engine.errors import AgentOpsError, StalePlan, StateLocked, TemporaryError
from engine.planner.plan import Action, Change, Plan
from engine.planner.planner import RESOURCE_KINDS, PlanOptions
from engine.providers.registry import Registry
from engine.reconcile import Session, apply, check_fresh, make_plan, open_session, prepare
from engine.spec.diagnostics import Diagnostic
from engine.spec.workspace import Workspace, load_workspace
from engine.state.backend import store_for
from engine.state.store import StateStore
from engine.terminal import Terminal, choose_mode
from engine.watcher import snapshot
from engine.watcher.backoff import WORKSPACE, BackoffTable
from engine.watcher.loop import Clock
from engine.watcher.monitors import hold_monitors
from engine.watcher.report import WatchReport, iso
from engine.watcher.scope import PruneGrace, defer, healing_only, observe_each


class EventLog(Protocol):
    """The subset of a structlog logger the watcher uses."""

    def debug(self, event: str, **kw: object) -> object: ...
    def info(self, event: str, **kw: object) -> object: ...
    def warning(self, event: str, **kw: object) -> object: ...
    def error(self, event: str, **kw: object) -> object: ...


@dataclass(frozen=True)
class WatchOptions:
    envs: tuple[str, ...] = ()
    prune: bool = False
    parallelism: int = 4
    #: the state URI (--state); None: AGENTOPS_STATE, agentops.yaml, or the local file
    state: str | None = None
    #: with `prune`, seconds a resource must stay undeclared before it is deleted
    prune_grace: float = 30.0
    #: --log-format: how the runs' progress and tables are shown (engine.terminal)
    log_format: str | None = None


class Cycle:
    def __init__(
        self,
        root: Path,
        options: WatchOptions,
        *,
        registry: Registry,
        clock: Clock,
        log: EventLog,
        report: WatchReport,
        backoff: BackoffTable,
        stop: Callable[[], bool] = lambda: False,
        on_workspaces: Callable[[list[Workspace]], None] = lambda _ws: None,
        show_diagnostics: Callable[[Sequence[Diagnostic]], None] | None = None,
    ) -> None:
        self.root = root
        self.options = options
        self.registry = registry
        self.clock = clock
        self.log = log
        self.report = report
        self.backoff = backoff
        self.stop = stop
        self.on_workspaces = on_workspaces
        #: wall-clock time the earliest Monitor held back by its interval becomes due
        self.monitor_due: float | None = None
        #: prints diagnostics for people (console logs); then the event only counts them
        self.show_diagnostics = show_diagnostics
        self.snapshot: snapshot.Snapshot | None = None
        self._store: StateStore | None = None
        self.prune_grace = PruneGrace(options.prune_grace)
        #: monotonic time the earliest held-back deletion's grace ends
        self.prune_due: float | None = None
        #: one stream, one format: with JSON logs the runs' tables are JSON events too
        self.terminal = Terminal(mode=choose_mode(options.log_format, sys.stderr))

    @property
    def store(self) -> StateStore:
        if self._store is None:
            self._store = store_for(self.root, self.options.state)
        return self._store

    # --- the Reconciler protocol ------------------------------------------------------
    def reconcile(self, trigger: str, changed: Sequence[str]) -> float | None:
        t0, wall = self.clock.monotonic(), self.clock.wall()
        self.report.state = "reconciling"
        self.report.current = {"trigger": trigger, "since": iso(wall)}
        self.report.save()
        info: dict[str, object] = {"trigger": trigger}
        if changed:
            info["changed"] = [self._rel(p) for p in changed[:5]] + (
                [f"... {len(changed) - 5} more"] if len(changed) > 5 else []
            )
        try:
            result = self._cycle(trigger, info)
            self.backoff.succeeded(WORKSPACE)  # the cycle itself worked, whatever it found
        except StateLocked as exc:
            result = self._cycle_failed("locked", str(exc), None, info)
        except AgentOpsError as exc:
            delay = exc.delay if isinstance(exc, TemporaryError) else None
            msg = f"{exc} ({exc.hint})" if exc.hint else str(exc)
            result = self._cycle_failed("error", msg, delay, info)
        except Exception as exc:  # noqa: BLE001 - a bug in one cycle must not end the watch
            self.log.error("cycle.crashed", exc_info=True)  # the traceback, for the bug report
            result = self._cycle_failed(
                "error", f"internal error: {type(exc).__name__}: {exc}", None, info
            )
        now = self.clock.monotonic()
        seconds = round(now - t0, 3)
        self.report.cycles += 1
        self.report.current = None
        self.report.last_reconcile = {
            **{k: v for k, v in info.items() if k != "diagnostics"},
            "started": iso(wall),
            "seconds": seconds,
            "result": result,
        }
        self.report.set_backoff(self.backoff, now, self.clock.wall())
        level = self.log.info if result == "ok" else self.log.warning
        level("reconcile", result=result, seconds=seconds, **info)
        wake = [t for t in (self.backoff.next_expiry(now),) if t is not None]
        if self.monitor_due is not None:  # the loop comes back when a held Monitor is due
            wake.append(now + max(0.0, self.monitor_due - self.clock.wall()))
        if self.prune_due is not None and self.prune_due > now:  # ... and when a held
            wake.append(self.prune_due)  # deletion's grace ends
        return min(wake, default=None)

    def idle(self, next_resync: float) -> None:
        now = self.clock.monotonic()
        self.report.state = "idle"
        self.report.next_resync = iso(self.clock.wall() + max(0.0, next_resync - now))
        self.report.save()

    # --- one cycle --------------------------------------------------------------------
    def _cycle(self, trigger: str, info: dict[str, object]) -> str:
        ws = load_workspace(self.root)
        self.on_workspaces([ws] + ([self.snapshot.ws] if self.snapshot else []))
        if not ws.ok:
            return self._invalid(ws, trigger, info)
        self.report.diagnostics = []

        def look(s: Session) -> None:
            prepare(s, observe=False)
            try:
                self.snapshot = snapshot.take(s, self.clock.wall())
                self.report.last_valid = iso(self.snapshot.taken)
            except OSError as exc:  # a prompt file vanished since it validated: keep the old
                self.log.warning("snapshot.kept", reason=str(exc))

        return self._reconcile(ws, info, healing=False, look=look, act=_prepare_only)

    def _invalid(self, ws: Workspace, trigger: str, info: dict[str, object]) -> str:
        lines = [d.format() for d in ws.diagnostics]
        info["errors"] = sum(1 for d in ws.diagnostics if d.severity == "error")
        # A resync finding the same breakage again says so in one line, not the whole list.
        if lines == self.report.diagnostics and trigger in ("resync", "retry"):
            info["diagnostics"] = "unchanged"
        elif self.show_diagnostics is not None:
            self.show_diagnostics(ws.diagnostics)
        else:
            info["diagnostics"] = lines
        self.report.diagnostics = lines
        if self.snapshot is None:
            info["kept"] = "nothing valid yet: nothing is changed"
            return "invalid"
        info["kept"] = f"last valid desired state of {iso(self.snapshot.taken)}"
        if trigger in ("resync", "retry"):
            snap = self.snapshot

            def restore(s: Session) -> None:
                snapshot.restore(s, snap)

            self._reconcile(snap.ws, info, healing=True, look=restore, act=restore)
        return "invalid"

    def _reconcile(
        self,
        ws: Workspace,
        info: dict[str, object],
        *,
        healing: bool,
        look: Callable[[Session], None],
        act: Callable[[Session], None],
    ) -> str:
        """Plan without the lock; take it only if there is something to do."""
        with open_session(ws, "watch", registry=self.registry, store=self.store, lock=False) as s:
            look(s)
            plan, held_back = self._plan(s, info, healing=healing)
            if not plan.has_changes and not s.state.pending:
                self._converged(plan, held_back, ApplyResult())
                return "ok"
        with open_session(ws, "watch", registry=self.registry, store=self.store) as s:
            act(s)
            try:
                check_fresh(s, plan)
            except StalePlan:  # someone else acted in between: plan again, under the lock
                plan, held_back = self._plan(s, info, healing=healing)
            if not plan.has_changes:
                self._converged(plan, held_back, ApplyResult())
                return "ok"
            s.ctx.terminal = self.terminal
            try:
                result = apply(
                    s,
                    plan,
                    parallelism=self.options.parallelism,
                    on_event=self._on_event,
                    should_stop=self.stop,
                )
            finally:
                self.terminal.close()
            outcome = self._record(s, plan, result, held_back, info)
        for note in self.store.notes:  # e.g. a bucket without versioning: said once
            self.log.warning("state.note", note=note)
        self.store.notes.clear()
        return outcome

    def _plan(self, s: Session, info: dict[str, object], *, healing: bool) -> tuple[Plan, set[str]]:
        """The plan of this cycle, and the addresses held back (in back-off, or failing)."""
        now = self.clock.monotonic()
        digests: dict[str, str | None] = {str(a): d.digest for a, d in s.desired.items()}
        digests.update({str(a): r.digest for a, r in s.run_inputs.items()})
        for address in self.backoff.lift_changed(digests):
            self.log.info("backoff.lifted", address=address, reason="its desired state changed")
        waiting = self.backoff.waiting(now)
        observed, failed = observe_each(s, waiting)
        for address, f in failed.items():
            self._failed(address, now, f.message, digests.get(address), f.retry_after)
        options = self._plan_options(s, info, healing)
        plan = make_plan(s, options, observed)
        self.prune_due = None
        if options.prune:  # before back-off: a failing deletion keeps its first-seen time
            plan, graced = self.prune_grace.hold(plan, now)
            self.prune_due = min(graced.values(), default=None)
            if graced:
                info["prune_waiting"] = {a: round(t - now, 1) for a, t in sorted(graced.items())}
        plan, deferred = defer(plan, waiting | set(failed))
        if deferred:
            info["deferred"] = deferred
        plan, monitors = hold_monitors(plan, s.ws, s.state, self.clock.wall())
        self.monitor_due = min(monitors.values(), default=None)
        if monitors:
            info["monitors_waiting"] = sorted(monitors)
        if healing:
            plan, held = healing_only(plan)
            if held:
                info["held"] = held
        info["changes"] = {k: v for k, v in plan.counts().items() if v and k != "no-op"} or 0
        return plan, waiting | set(failed)

    def _plan_options(self, s: Session, info: dict[str, object], healing: bool) -> PlanOptions:
        prune = self.options.prune and not healing
        if prune and not any(n.kind in RESOURCE_KINDS for n in s.graph):
            # The planner would refuse; the watcher says why and goes on without deleting.
            info["prune"] = "skipped: no resource is declared, so it would delete everything"
            prune = False
        return PlanOptions(prune=prune, envs=self.options.envs, retry_failed_runs=False)

    def _record(
        self,
        s: Session,
        plan: Plan,
        result: ApplyResult,
        waiting: set[str],
        info: dict[str, object],
    ) -> str:
        now = self.clock.monotonic()
        by_address = {c.address: c for c in plan.changes}
        counts: dict[str, int] = {}
        for o in result.outcomes:
            change = by_address[o.address]
            if o.action is not Action.NOOP:
                counts[o.status] = counts.get(o.status, 0) + 1
            if o.status == "failed" and _recorded_result(s, change):
                # It ran to a verdict: any earlier back-off of it is over.
                self.backoff.succeeded(o.address)
                self.report.error(self.clock.wall(), o.address, o.message)
            elif o.status == "failed":
                self._failed(o.address, now, o.message, change.digest, o.retry_after)
        self._converged(plan, waiting, result)
        info["applied"] = counts
        if any(o.message == STOPPING for o in result.outcomes):
            return "interrupted"
        return "ok" if result.ok else "failed"

    def _converged(self, plan: Plan, waiting: set[str], result: ApplyResult) -> None:
        done = {o.address for o in result.outcomes if o.status == "ok"}
        for c in plan.changes:
            converged = c.action is Action.NOOP or c.address in done
            if converged and c.address not in waiting and self.backoff.succeeded(c.address):
                self.log.info("backoff.cleared", address=c.address)

    def _failed(
        self, address: str, now: float, message: str, digest: str | None, retry_after: float | None
    ) -> None:
        entry = self.backoff.failed(address, now, message, digest=digest, retry_after=retry_after)
        self.report.error(self.clock.wall(), address, message)
        self.log.warning(
            "backoff",
            address=address,
            failures=entry.failures,
            retry_in=round(entry.until - now, 2),
            error=message,
        )

    def _cycle_failed(
        self, result: str, message: str, delay: float | None, info: dict[str, object]
    ) -> str:
        now = self.clock.monotonic()
        entry = self.backoff.failed(WORKSPACE, now, message, retry_after=delay)
        self.report.error(self.clock.wall(), WORKSPACE, message)
        info["error"] = message
        info["retry_in"] = round(entry.until - now, 2)
        return result

    def _on_event(self, event: str, change: Change, outcome: Outcome | None) -> None:
        if event == "start" or outcome is None:
            self.log.debug("action.start", address=change.address, action=change.action.value)
            return
        if change.action is Action.NOOP:
            return
        level = self.log.info if outcome.status == "ok" else self.log.warning
        level(
            "action",
            address=change.address,
            action=change.action.value,
            status=outcome.status,
            seconds=round(outcome.seconds, 3),
            reasons=[r.text() for r in change.reasons],
            **({"message": outcome.message} if outcome.message else {}),
        )

    def _rel(self, path: str) -> str:
        p = Path(path)
        return str(p.relative_to(self.root)) if p.is_relative_to(self.root) else path


def _prepare_only(s: Session) -> None:
    """What the locked session of a valid workspace needs before it acts (no observing)."""
    prepare(s, observe=False)


def _recorded_result(s: Session, change: Change) -> bool:
    """A run that ran and failed its gate/SLOs (its result is in state), not an error."""
    record = s.state.runs.get(change.address)
    return (
        change.action is Action.RUN
        and record is not None
        and record.inputs_digest == change.digest
        and record.status == "failed"
    )

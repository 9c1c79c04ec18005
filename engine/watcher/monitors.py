"""Monitors under `watch`: each runs at most every `interval`, and the loop wakes for it.

Pipeline role: between `make_plan` and `apply` in a watch cycle. A Monitor is due whenever
traffic arrived (its inputs include the newest trace), which under a busy agent is every
cycle; the watcher holds such a run back until `interval` has passed since the Monitor's
last run, and tells the loop when the earliest held Monitor becomes due, so it runs then
even if nothing else happens. A Monitor that never ran, or whose spec or evaluators
changed, runs at once: only new traffic waits for the interval. `apply` is not affected:
a person who applies wants the traces judged now.
"""

from __future__ import annotations

import datetime as dt

from engine.planner.plan import Action, Plan, Reason
from engine.spec.workspace import Workspace
from engine.state.model import State
from engine.watcher.scope import defer


def _finished(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp).timestamp()


def hold_monitors(
    plan: Plan, ws: Workspace, state: State, now_wall: float
) -> tuple[Plan, dict[str, float]]:
    """The plan without Monitor runs whose interval has not passed, and when each is due
    (wall-clock seconds)."""
    held: dict[str, float] = {}
    for c in plan.changes:
        if c.kind != "Monitor" or c.action is not Action.RUN:
            continue
        last = state.runs.get(c.address)
        if last is None or any(r.code is not Reason.INPUTS_CHANGED for r in c.reasons):
            continue
        changed = {d.path for d in c.field_diffs}
        if changed - {"traces_head"}:
            continue
        name = c.address.split(".", 1)[1].split("[", 1)[0]
        monitor = ws.monitors.get(name)
        if monitor is None:
            continue
        due = _finished(last.finished_at) + monitor.doc.spec.interval
        if due > now_wall:
            held[c.address] = due
    if not held:
        return plan, {}
    plan, _ = defer(plan, set(held))
    return plan, held

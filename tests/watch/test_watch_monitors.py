"""Under watch, a Monitor runs at most every `interval`; spec changes and first runs do not wait."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from engine.planner.plan import Action, Change, FieldDiff, Plan, Reason, ReasonEntry
from engine.spec.workspace import load_workspace
from engine.state.model import RunRecord, State
from engine.watcher.monitors import hold_monitors

SPECS = """
apiVersion: agentops/v1
kind: Environment
metadata: {name: prd}
spec: {runtime: local, store: local, models: {fast: "offline:keyword"}}
---
apiVersion: agentops/v1
kind: Agent
metadata: {name: bot}
spec:
  source: agent
  entrypoint: app.py
  model: fast
  environments: [prd]
---
apiVersion: agentops/v1
kind: Monitor
metadata: {name: mon}
spec:
  agent: bot
  environment: prd
  evaluators: [refusal]
  interval: 5m
"""
ADDRESS = "monitor.mon[prd]"
NOW = 1_800_000_000.0


def _ws(tmp_path: Path):  # noqa: ANN202 - a Workspace
    (tmp_path / "agent").mkdir()
    (tmp_path / "agent" / "app.py").write_text("app = None\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "all.yaml").write_text(SPECS)
    ws = load_workspace(tmp_path)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    return ws


def _plan(*paths: str, reason: Reason = Reason.INPUTS_CHANGED) -> Plan:
    change = Change(
        ADDRESS,
        "Monitor",
        Action.RUN,
        "monitor",
        reasons=[ReasonEntry(reason, ", ".join(paths))],
        field_diffs=[FieldDiff(p, 1, 2) for p in paths],
    )
    return Plan(changes=[change], lineage="l", prior_serial=1, workspace_digest="w")


def _state(finished_ago: float | None) -> State:
    state = State(lineage="l", serial=1)
    if finished_ago is not None:
        stamp = dt.datetime.fromtimestamp(NOW - finished_ago, dt.UTC).isoformat()
        state.runs[ADDRESS] = RunRecord(
            address=ADDRESS,
            kind="Monitor",
            inputs_digest="d",
            status="succeeded",
            started_at=stamp,
            finished_at=stamp,
        )
    return state


def test_new_traffic_waits_for_the_interval(tmp_path: Path) -> None:
    plan, held = hold_monitors(_plan("traces_head"), _ws(tmp_path), _state(60.0), NOW)
    assert plan.actionable == []
    assert held == {ADDRESS: NOW - 60.0 + 300.0}


def test_due_once_the_interval_passed(tmp_path: Path) -> None:
    plan, held = hold_monitors(_plan("traces_head"), _ws(tmp_path), _state(301.0), NOW)
    assert [c.address for c in plan.actionable] == [ADDRESS] and held == {}


def test_spec_change_and_first_run_do_not_wait(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    plan, held = hold_monitors(_plan("traces_head", "spec"), ws, _state(10.0), NOW)
    assert plan.actionable and not held
    plan, held = hold_monitors(_plan(reason=Reason.NEVER_RUN), ws, _state(None), NOW)
    assert plan.actionable and not held

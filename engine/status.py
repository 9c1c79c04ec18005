"""`agentops status`: what runs where, with health, and the last run of every run.

Reads the state without taking the lock (status must work while an apply or the watcher
holds it) and asks each resource's provider for its health.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import AgentOpsError
from engine.providers.base import Context
from engine.providers.registry import Registry
from engine.reconcile import state_dir
from engine.spec.workspace import Workspace
from engine.state.backend import store_for
from engine.state.store import StateStore, describe_holder, pid_alive


def collect_status(root: Path, store: StateStore | None = None) -> dict[str, Any]:
    store = store or store_for(root)
    state = store.read()
    registry = Registry.default(state_dir(root))
    ctx = Context(
        workspace=Workspace(root=root), state_dir=state_dir(root), workspace_id=state.workspace_id
    )
    resources = []
    for address, res in sorted(state.resources.items()):
        health = "unknown"
        try:
            obs = registry.resource_by_name(res.provider).observe(res, ctx)
            health = (
                "healthy"
                if obs.exists and obs.healthy and not obs.drift
                else (
                    "missing"
                    if not obs.exists
                    else f"drifted ({obs.status})"
                    if obs.healthy
                    else obs.status
                )
            )
        except AgentOpsError as exc:
            health = f"unknown ({exc})"
        resources.append(
            {
                "address": address,
                "provider": res.provider,
                "digest": res.digest,
                "health": health,
                "outputs": res.outputs,
                "updated": res.updated_at,
            }
        )
    monitors = monitor_windows(state.runs)
    for r in resources:
        breached = [m for m in monitors if m["agent_address"] == r["address"] and m["breached"]]
        if breached and r["health"] == "healthy":
            r["health"] = "degraded"
            r["degraded_by"] = [m["address"] for m in breached]
    runs = [
        {
            "address": a,
            "status": r.status,
            "finished": r.finished_at,
            "message": r.message,
            "inputs_digest": r.inputs_digest,
        }
        for a, r in sorted(state.runs.items())
    ]
    holder = store.holder()
    watcher_file = state_dir(root) / "watch.json"
    watcher = None
    if watcher_file.exists():
        import json

        try:
            watcher = json.loads(watcher_file.read_text())
            watcher["alive"] = watcher.get("state") != "stopped" and pid_alive(
                int(watcher.get("pid", 0))
            )
        except (OSError, ValueError, AttributeError):
            watcher = None  # a report, not state: unreadable means unknown
    return {
        "state": store.location,
        "serial": state.serial,
        "lineage": state.lineage,
        "resources": resources,
        "runs": runs,
        "monitors": monitors,
        "pending": sorted(state.pending),
        "lock": describe_holder(holder) if holder else None,
        "watcher": watcher,
    }


def render_status(info: dict[str, Any]) -> str:
    lines: list[str] = []
    if not info["resources"] and not info["runs"]:
        lines.append("Nothing is deployed yet. Run `agentops apply`.")
    if info["resources"]:
        width = max(len(r["address"]) for r in info["resources"])
        lines.append(f"{'RESOURCE'.ljust(width)}  {'HEALTH':<10} {'DIGEST':<16}  WHERE")
        for r in info["resources"]:
            where = r["outputs"].get("url") or r["outputs"].get("store") or ""
            lines.append(
                f"{r['address'].ljust(width)}  {r['health']:<10} {r['digest']:<16}  {where}"
            )
    if info["runs"]:
        lines.append("")
        width = max(len(r["address"]) for r in info["runs"])
        lines.append(f"{'RUN'.ljust(width)}  {'LAST RESULT':<11} FINISHED")
        for r in info["runs"]:
            lines.append(
                f"{r['address'].ljust(width)}  {r['status']:<11} {r['finished']}"
                + (f"  ({r['message']})" if r["message"] else "")
            )
    if info.get("monitors"):
        lines.append("")
        lines.extend(monitor_lines(info["monitors"]))
    if info["pending"]:
        lines.append("")
        lines.append(
            f"Interrupted operations (resolved by the next plan/apply): "
            f"{', '.join(info['pending'])}"
        )
    if info.get("state", "local") != "local":
        lines.append(f"\nState: {info['state']} (serial {info['serial']}).")
    if info["lock"]:
        lines.append(f"\nThe state is locked by {info['lock']}.")
    if info.get("watcher"):
        lines.append("")
        lines.extend(watcher_lines(info["watcher"]))
    return "\n".join(lines) + "\n"


def _ago(stamp: str | None) -> str:
    """' (in 12s)' / ' (3s ago)' for an ISO timestamp of watch.json."""
    import datetime as dt

    if not stamp:
        return ""
    try:
        delta = (dt.datetime.fromisoformat(stamp) - dt.datetime.now(dt.UTC)).total_seconds()
    except ValueError:
        return ""
    return f" (in {delta:.0f}s)" if delta >= 0 else f" ({-delta:.0f}s ago)"


def watcher_lines(w: dict[str, Any]) -> list[str]:
    """The `agentops watch` section of `status`, from .agentops/watch.json."""
    if w.get("alive"):
        doing = "reconciling" if w.get("state") == "reconciling" else "idle"
        head = f"Watcher: running, {doing} (pid {w.get('pid')}, since {w.get('started')})"
    elif w.get("state") == "stopped":
        head = "Watcher: stopped"
    else:
        head = f"Watcher: not running (pid {w.get('pid')} is gone without stopping cleanly)"
    lines = [head]
    last = w.get("last_reconcile")
    if last:
        lines.append(
            f"  last reconcile  {last.get('started')}{_ago(last.get('started'))}: "
            f"{last.get('result')} ({last.get('trigger')}, {last.get('seconds')}s)"
            + (f" - {last['error']}" if last.get("error") else "")
        )
    if w.get("alive") and w.get("next_resync"):
        lines.append(f"  next resync     {w['next_resync']}{_ago(w['next_resync'])}")
    if w.get("diagnostics"):
        lines.append(
            f"  the workspace does not validate ({len(w['diagnostics'])} problem(s)); "
            f"the last valid desired state ({w.get('last_valid') or 'none yet'}) is kept:"
        )
        lines.extend(f"    {d}" for d in w["diagnostics"][:10])
    for b in w.get("backoff") or []:
        lines.append(
            f"  in back-off     {b['address']}: {b['failures']} failure(s), retry at "
            f"{b['retry_at']}{_ago(b['retry_at'])}: {b['error']}"
        )
    return lines


def monitor_windows(runs: dict[str, Any]) -> list[dict[str, Any]]:
    """Each Monitor's last window (from its run record) and whether it breached."""
    out = []
    for address, r in sorted(runs.items()):
        if r.kind != "Monitor" or not isinstance(r.summary, dict):
            continue
        window = r.summary.get("window") or {}
        agent, env = r.summary.get("agent"), r.summary.get("environment")
        out.append(
            {
                "address": address,
                "agent_address": f"agent.{agent}[{env}]",
                "breached": window.get("verdict") == "breached",
                "verdict": window.get("verdict", r.status),
                "window": window,
                "queue": r.summary.get("queue"),
                "finished": r.finished_at,
            }
        )
    return out


def monitor_lines(monitors: list[dict[str, Any]]) -> list[str]:
    width = max(len(m["address"]) for m in monitors)
    lines = [f"{'MONITOR'.ljust(width)}  {'WINDOW':<12} {'TRACES':>6}  FIGURES"]
    for m in monitors:
        w = m["window"]
        span = round(w.get("until", 0) - w.get("since", 0)) if w else 0
        figures = [f"{k} {v:.2f}" for k, v in sorted((w.get("pass_rates") or {}).items())]
        p95 = (w.get("latency_ms") or {}).get("p95")
        if p95 is not None:
            figures.append(f"p95 {p95:.0f} ms")
        if w.get("error_rate") is not None:
            figures.append(f"errors {w['error_rate']:.1%}")
        queue = m.get("queue") or {}
        if queue:
            figures.append(f"queue {queue.get('name')}: {queue.get('pending', 0)} pending")
        verdict = m["verdict"].upper() if m["breached"] else m["verdict"]
        lines.append(
            f"{m['address'].ljust(width)}  {verdict + ' ' + _span(span):<12} "
            f"{w.get('scored', 0):>6}  {', '.join(figures)}"
        )
    return lines


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"

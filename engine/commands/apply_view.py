"""What `apply` and `destroy` show while they run and when they end, and their exit code.

Pipeline role: the applier's event sink and the reading of its `ApplyResult`. Progress goes
through the session's `Terminal` (one spinner row per running action on a terminal,
"Creating... / Created in 4.1s" lines in logs, JSON events with `--log-format json`); the
closing summary and `-o json`'s result object go to stdout.

Exit codes (docs/cli.md): 0 success, 1 an error (anything broke or was skipped for a reason
other than a verdict), 3 when every failure is a verdict: a quality gate, an SLO or a
Monitor said no while the tool itself worked. An error wins over a verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from engine.applier import ApplyResult, Outcome
from engine.planner.plan import Action, Change, Plan
from engine.terminal import Terminal

EXIT_OK, EXIT_ERROR, EXIT_CHANGES, EXIT_VERDICT = 0, 1, 2, 3
APPLY_FORMAT_VERSION = 1

#: action -> (while it runs, when it is done)
_WORDS = {
    Action.CREATE: ("Creating", "Created"),
    Action.UPDATE: ("Updating", "Updated"),
    Action.REPLACE: ("Replacing", "Replaced"),
    Action.DELETE: ("Destroying", "Destroyed"),
    Action.RUN: ("Running", "Succeeded"),
}


def _verb(change: Change) -> Action:
    if change.action is Action.BLOCKED and change.then is not None:
        return change.then
    return change.action


def progress(terminal: Terminal) -> Callable[[str, Change, Outcome | None], None]:
    """The applier's `on_event`: a row while an action runs, a line when it ends."""

    def on_event(event: str, change: Change, outcome: Outcome | None) -> None:
        if change.action is Action.NOOP:
            return
        verb = _verb(change)
        doing, done = _WORDS.get(verb, ("Applying", "Applied"))
        if change.kind == "QualityGate":
            done = "Passed"
        if event == "start":
            terminal.event("action.start", address=change.address, action=change.action.value)
            terminal.begin(change.address, f"{doing} {change.address}...")
            return
        if outcome is None:
            return
        fields: dict[str, Any] = {
            "address": change.address,
            "action": change.action.value,
            "status": outcome.status,
            "seconds": round(outcome.seconds, 2),
        }
        if outcome.message:
            fields["message"] = outcome.message
        if outcome.status != "ok":
            fields["verdict"] = outcome.verdict
        terminal.event("action.finish", **fields)
        line, style = _finish_line(change, outcome, done)
        terminal.end(change.address, line, style=style)

    return on_event


def _finish_line(change: Change, o: Outcome, done: str) -> tuple[str, str]:
    took = f"{o.seconds:.1f}s"
    if o.status == "ok":
        gate = f" (gate {change.blocked_by} passed)" if change.action is Action.BLOCKED else ""
        return f"✓ {change.address}: {done} in {took}{gate}", "green"
    if o.status == "skipped":
        return f"- {change.address}: skipped: {o.message}", "yellow"
    if (o.message or "").startswith("not started:"):  # the applier refused it (budget, stopping)
        return f"✗ {change.address}: {o.message}", "red"
    what = "did not pass" if o.verdict else "failed"
    return f"✗ {change.address}: {what} after {took}: {o.message}", "red"


def exit_code(result: ApplyResult) -> int:
    if result.ok:
        return EXIT_OK
    return EXIT_VERDICT if result.only_verdicts else EXIT_ERROR


def report(result: ApplyResult, started: float, terminal: Terminal, *, verb: str = "Apply") -> int:
    """The end of an apply: each failure again (the root causes), one summary line."""
    counts = _counts(result)
    for o in result.outcomes:
        if o.status == "failed":
            terminal.print(f"{'Failed' if o.verdict else 'Error'}: {o.address}: {o.message}")
        elif o.status == "skipped" and o.action is not Action.NOOP:
            terminal.print(f"Skipped: {o.address}: {o.message}")
    code = exit_code(result)
    took = time.monotonic() - started
    outcome = {EXIT_OK: "complete", EXIT_VERDICT: "finished, a verdict failed"}.get(code, "failed")
    print(
        f"{verb} {outcome}: {counts.get('ok', 0)} succeeded, {counts.get('failed', 0)} failed, "
        f"{counts.get('skipped', 0)} skipped in {took:.1f}s."
        + (" (exit code 3: the tool worked, the agent did not pass)" if code == 3 else "")
    )
    return code


def _counts(result: ApplyResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in result.outcomes:
        if o.action is not Action.NOOP:
            counts[o.status] = counts.get(o.status, 0) + 1
    return counts


def result_json(plan: Plan, result: ApplyResult | None, started: float) -> dict[str, Any]:
    """`apply -o json` / `destroy -o json`: the plan it applied and what became of it."""
    outcomes = result.outcomes if result is not None else []
    code = exit_code(result) if result is not None else EXIT_OK
    return {
        "format_version": APPLY_FORMAT_VERSION,
        "plan": plan.to_json(),
        "status": {EXIT_OK: "ok", EXIT_VERDICT: "verdict_failed"}.get(code, "failed"),
        "exit_code": code,
        "seconds": round(time.monotonic() - started, 2),
        "summary": {k: _counts(result).get(k, 0) for k in ("ok", "failed", "skipped")}
        if result is not None
        else {"ok": 0, "failed": 0, "skipped": 0},
        "outcomes": [
            {
                "address": o.address,
                "action": o.action.value,
                "status": o.status,
                "verdict": o.verdict,
                "message": o.message or None,
                "seconds": round(o.seconds, 2),
            }
            for o in outcomes
            if o.action is not Action.NOOP
        ],
    }

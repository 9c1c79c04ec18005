"""The human view of a refresh-only plan (`plan --refresh-only`): drift, as state edits.

Pipeline role: what `render_text` is for a normal plan. A refresh-only plan's changes are
edits of the state, never actions in the world, so they are worded as such: a record
forgotten (the object is gone) or an observation recorded. JSON stays the plan JSON.
"""

from __future__ import annotations

import json
from typing import Any

from engine.planner.plan import Action, Plan


def _short(value: Any, limit: int = 72) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 2] + '…"'


def render_refresh(plan: Plan, color: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines = [paint("33", f"Warning: {w}") for w in plan.warnings]
    if plan.warnings:
        lines.append("")
    if not plan.changes:
        lines.append("No changes. Everything agentops manages is as it was applied.")
        return "\n".join(lines) + "\n"
    lines += ["Objects have changed outside of agentops:", ""]
    forgotten = recorded = 0
    for c in plan.changes:
        reasons = "; ".join(r.text() for r in c.reasons)
        if c.action is Action.DELETE:
            forgotten += 1
            lines.append(f"  # {c.address} is gone and would be forgotten ({reasons})")
            lines.append(paint("31", f"  - {c.address}"))
        else:
            recorded += 1
            lines.append(f"  # {c.address} changed; the observation would be recorded")
            lines.append(paint("33", f"  ~ {c.address}"))
            width = max((len(f.path) for f in c.field_diffs), default=0)
            for f in c.field_diffs:
                old, new = f.shown()
                lines.append(f"      ~ {f.path.ljust(width)} = {_short(old)} → {_short(new)}")
        lines.append("")
    lines.append(
        f"Refresh: {recorded} to record, {forgotten} to forget. `apply --refresh-only` edits "
        "the state only; a normal plan still brings everything back to the specs."
    )
    return "\n".join(lines) + "\n"

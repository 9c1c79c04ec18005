"""Plan renderers: Terraform-like text, markdown for pull-request comments, JSON.

Secret values are shown as `(sensitive)`, but a change to them is still shown. A run shows
its cost estimate and budget under it, and the plan its totals (`engine.render.cost`).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from engine.planner.plan import Action, Change, Plan
from engine.render import cost as costs

SYMBOL = {
    Action.CREATE: "+",
    Action.UPDATE: "~",
    Action.REPLACE: "-/+",
    Action.DELETE: "-",
    Action.RUN: "▶",
    Action.BLOCKED: "⊘",
    Action.NOOP: " ",
}
COLOR = {
    Action.CREATE: "32",
    Action.UPDATE: "33",
    Action.REPLACE: "35",
    Action.DELETE: "31",
    Action.RUN: "36",
    Action.BLOCKED: "31;1",
    Action.NOOP: "0",
}
VERB = {
    Action.CREATE: "will be created",
    Action.UPDATE: "will be updated in place",
    Action.REPLACE: "will be replaced",
    Action.DELETE: "will be deleted",
    Action.RUN: "will run",
    Action.BLOCKED: "is blocked",
    Action.NOOP: "is up to date",
}


def _short(value: Any, limit: int = 72) -> str:
    text = (
        json.dumps(value, ensure_ascii=False)
        if not isinstance(value, str)
        else json.dumps(value, ensure_ascii=False)
    )
    return text if len(text) <= limit else text[: limit - 2] + '…"'


def summary_line(plan: Plan) -> str:
    n = plan.counts()
    if not plan.has_changes:
        return "No changes."
    line = (
        f"Plan: {n['create']} to create, {n['update']} to update, {n['replace']} to "
        f"replace, {n['delete']} to delete. Runs: {n['run']}."
    )
    if n["blocked"]:
        line += f" Blocked: {n['blocked']}."
    return line


def render_text(plan: Plan, color: bool = False) -> str:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    lines: list[str] = []
    for w in plan.warnings:
        lines.append(paint("33", f"Warning: {w}"))
    if plan.warnings:
        lines.append("")
    actionable = plan.actionable
    if actionable:
        lines.append("agentops will perform the following actions:")
        lines.append("")
    for c in actionable:
        reasons = "; ".join(r.text() for r in c.reasons)
        lines.append(f"  # {c.address} {VERB[c.action]}" + (f" ({reasons})" if reasons else ""))
        if c.action is Action.BLOCKED and c.then is not None:
            lines.append(f"  #   then: {c.then.value}")
        lines.append(paint(COLOR[c.action], f"  {SYMBOL[c.action]} {c.address}"))
        lines.extend(_field_lines(c, paint))
        lines.extend(_cost_lines(c, paint))
        if c.depends_on:
            lines.append(f"      depends on: {', '.join(c.depends_on)}")
        lines.append("")
    lines.extend(costs.text_lines(plan))
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def _cost_lines(c: Change, paint: Any) -> list[str]:
    if c.cost is None:
        return []
    out = [f"      cost: {costs.describe(c.cost)}"]
    if c.cost.budget is not None:
        out.append(f"      budget: {costs.caps(c.cost.budget)}")
    if c.cost.refused:
        out.append(paint("31", f"      ✗ apply will not start it: {c.cost.refused}"))
    return out


#: the most lines one field's text diff shows (a rewritten 500-line prompt stays readable)
MAX_DIFF_LINES = 40


def _line_diff(old: Any, new: Any, limit: int = MAX_DIFF_LINES) -> list[str] | None:
    """A changed multi-line text as a line diff, as Terraform shows heredocs: `-`/`+` for
    the changed lines, one line of context around them, `…` for the lines in between, at most
    `limit` lines; None when the values are not both texts with a line break (they then show
    on one line, shortened)."""
    if not (isinstance(old, str) and isinstance(new, str)):
        return None
    if "\n" not in old + new:
        return None
    a, b = old.splitlines(), new.splitlines()
    out: list[str] = []
    for group in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_grouped_opcodes(1):
        if out or group[0][1] > 0:
            out.append("  …")
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [f"  {line}" for line in a[i1:i2]]
                continue
            out += [f"- {line}" for line in a[i1:i2]]
            out += [f"+ {line}" for line in b[j1:j2]]
    if out and group[-1][2] < len(a):
        out.append("  …")
    if len(out) > limit:
        out = [*out[:limit], f"  … ({len(out) - limit} more diff lines)"]
    return out or None


def _field_lines(c: Change, paint: Any) -> list[str]:
    out = []
    width = max((len(f.path) for f in c.field_diffs), default=0)
    for f in c.field_diffs:
        old, new = f.shown()
        diff = None if c.action is Action.CREATE else _line_diff(old, new)
        if diff is not None:
            out.append(paint("33", f"      ~ {f.path}:"))
            colour = {"-": "31", "+": "32"}
            out += [paint(colour.get(d[0], "0"), f"          {d}") for d in diff]
            continue
        if c.action is Action.CREATE or old is None:
            out.append(paint("32", f"      + {f.path.ljust(width)} = {_short(new)}"))
        elif new is None:
            out.append(paint("31", f"      - {f.path.ljust(width)} = {_short(old)}"))
        else:
            out.append(
                paint(
                    "33", f"      ~ {f.path.ljust(width)} = {_short(old, 40)} → {_short(new, 40)}"
                )
            )
    return out


def render_markdown(plan: Plan, *, costs_table: bool = True) -> str:
    """The plan as a pull-request comment; `costs_table=False` leaves out the cost table (the
    preview's comment has its own cost section)."""
    lines = ["### agentops plan", ""]
    for w in plan.warnings:
        lines.append(f"> **Warning:** {w}")
    if plan.warnings:
        lines.append("")
    if not plan.has_changes:
        lines.append("**No changes.** The declared workspace matches what runs.")
        return "\n".join(lines) + "\n"
    lines += ["| | Address | Action | Why |", "|---|---|---|---|"]
    for c in plan.actionable:
        why = "; ".join(r.text() for r in c.reasons).replace("|", "\\|")
        lines.append(f"| `{SYMBOL[c.action]}` | `{c.address}` | {c.action.value} | {why} |")
    lines.append("")
    for c in plan.actionable:
        if not c.field_diffs:
            continue
        body: list[str] = []
        for f in c.field_diffs:
            old, new = f.shown()
            diff = None if c.action is Action.CREATE else _line_diff(old, new)
            if diff is not None:
                body += [f"~ {f.path}:", *(f"{d[0]}     {d[2:]}" for d in diff)]
                continue
            if old is not None and c.action is not Action.CREATE:
                body.append(f"- {f.path}: {_short(old, 120)}")
            if new is not None:
                body.append(f"+ {f.path}: {_short(new, 120)}")
        fence = "````" if any("```" in line for line in body) else "```"
        lines += [
            f"<details><summary><code>{c.address}</code>: {len(c.field_diffs)} field(s)</summary>",
            "",
            f"{fence}diff",
            *body,
            fence,
            "",
            "</details>",
            "",
        ]
    if costs_table:
        lines.extend(costs.markdown_lines(plan))
    lines.append(f"**{summary_line(plan)}**")
    return "\n".join(lines) + "\n"


def render_json(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"

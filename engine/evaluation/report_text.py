"""Text reports of a run: the terminal table (rich, stderr) and the markdown PR comment.

Pipeline role: the last step of every Experiment and QualityGate run, and
`agentops report --format markdown`. Both renderers read only an `EvalRun`, so a report of
an old run (reloaded from the store) looks exactly like the one printed when it ran.
rich is imported inside the functions that draw, never at module import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.evaluation.gate import Check, fmt_metric
from engine.evaluation.results import total_tokens
from engine.evaluation.run import EvalRun, VariantRun
from engine.spec.pricing import versus

if TYPE_CHECKING:
    from rich.table import Table

_VERDICT_STYLE = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


def fmt_score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def fmt_ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


def fmt_tokens(tokens: dict[str, int]) -> str:
    total = total_tokens(tokens)
    return f"{total:,}" if total else "–"


def evaluator_cell(v: VariantRun, label: str) -> str:
    s = v.aggregate.evaluators.get(label)
    if s is None or s.mean is None:
        return "–"
    text = f"{s.mean:.2f}"
    if s.stdev is not None:
        text += f" ±{s.stdev:.2f}"
    if s.n_errors:
        text += f" ({s.n_errors} err)"
    return text


def headline(run: EvalRun) -> str:
    """One line: what ran, on what, and the outcome."""
    cases = sum(v.aggregate.cases for v in run.variants)
    took = run.timings.get("total")
    where = f"{len(run.variants)} variant(s) x " if run.kind == "Experiment" else ""
    text = (
        f"{run.address}: {where}{cases // max(1, len(run.variants))} case(s) "
        f"({run.repetitions} repetition(s)) on dataset {run.dataset}"
    )
    if took is not None:
        text += f" in {took:.1f}s"
    leader = run.leader
    if run.kind == "Experiment" and leader is not None and run.objective:
        metric = run.objective["metric"]
        value = "n/a" if leader.metric is None else fmt_metric(leader.metric, metric)
        if run.inconclusive:
            text += (
                f" — inconclusive: no variant is better than all others on {metric} "
                f"(leader {leader.name} ({leader.label}): {value})"
            )
        else:
            by = run.ranking.decided_by if run.ranking is not None else ""
            by = f" by {by}" if by.startswith("tie-breaker") else ""
            text += f" — best {leader.name} ({leader.label}){by}: {metric} {value}"
    if run.gate is not None:
        text += f" — {run.gate.message()}"
    return text


# --- terminal ---------------------------------------------------------------------------
def variants_table(run: EvalRun) -> Table:
    from rich.table import Table
    from rich.text import Text

    metric = run.objective["metric"] if run.objective else None
    # Text, not markup: `experiment.hpo[dev]` would lose its `[dev]` as a style tag
    table = Table(title=Text(headline(run)), title_justify="left", show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("variant")
    for e in run.evaluators:
        table.add_column(e.label + (" ★" if e.label == metric else ""), justify="right")
    for col in ("pass", "p50", "p95", "errors", "tokens"):
        table.add_column(col, justify="right")
    winner = run.best.name if run.kind == "Experiment" and run.best is not None else None
    for v in run.ranked:
        a = v.aggregate
        style = "bold green" if v.name == winner else None
        table.add_row(
            str(v.rank or ""),
            f"{v.name} {v.label}" if run.kind == "Experiment" else v.label,
            *(evaluator_cell(v, e.label) for e in run.evaluators),
            fmt_score(a.pass_rate),
            fmt_ms(a.latency_p50),
            fmt_ms(a.latency_p95),
            f"{a.call_errors}+{a.evaluator_errors}" if a.evaluator_errors else str(a.call_errors),
            fmt_tokens(a.tokens),
            style=style,
        )
    return table


def gate_table(run: EvalRun) -> Table:
    from rich.table import Table

    assert run.gate is not None
    table = Table(title=f"{run.address} checks", title_justify="left")
    for col in ("check", "value", "threshold", "spread", "verdict"):
        table.add_column(col, justify="left" if col in ("check", "verdict") else "right")
    for c in run.gate.checks:
        style = _VERDICT_STYLE[c.verdict]
        table.add_row(*check_cells(c)[:4], f"[{style}]{c.verdict}[/{style}]")
    return table


def check_cells(c: Check) -> tuple[str, str, str, str]:
    value = "n/a" if c.value is None else fmt_metric(c.value, c.metric)
    spread = "–"
    if c.spread is not None:
        spread = f"{fmt_metric(c.spread[0], c.metric)}–{fmt_metric(c.spread[1], c.metric)}"
    return c.name, value, f"{c.op} {fmt_metric(c.threshold, c.metric)}", spread


def renderables(run: EvalRun) -> list[object]:
    """What the terminal shows after a run: the variants table, the gate checks, the files."""
    from rich.text import Text

    out: list[object] = [variants_table(run)]
    if run.ranking is not None:
        out.append(Text(verdict_line(run)))
    if run.gate is not None:
        out.append(gate_table(run))
    cost = versus(run.cost)
    if cost is not None:
        out.append(Text(f"cost: {cost}"))
    out.extend(f"report: {path}" for path in run.reports.values())
    return out


def verdict_line(run: EvalRun) -> str:
    """The ranking's verdict in a sentence or two, and what to do about an inconclusive one."""
    assert run.ranking is not None
    text = run.ranking.message()
    if not run.inconclusive:
        return f"{text}."
    return (
        f"Inconclusive: {text}. Nothing is named best: `agentops experiment apply-best "
        f"{run.name}` refuses without --force; more items or repetitions, or "
        "objective.tieBreakers, can separate the variants."
    )


# --- markdown ---------------------------------------------------------------------------
def render_markdown(run: EvalRun) -> str:
    """A compact summary fit for a pull-request comment (GitHub-flavoured markdown)."""
    icon = {"succeeded": "✅", "failed": "❌"}.get(run.status, "")
    lines = [f"### {icon} `{run.address}` — {run.kind}", "", headline(run), ""]
    metric = run.objective["metric"] if run.objective else None
    heads = (
        ["#", "variant"]
        + [f"{e.label}{' ★' if e.label == metric else ''}" for e in run.evaluators]
        + ["pass", "p50", "p95", "errors"]
    )
    lines += ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    winner = run.best.name if run.kind == "Experiment" and run.best is not None else None
    for v in run.ranked:
        a = v.aggregate
        name = f"**{v.name}**" if v.name == winner else v.name
        label = f"{name} {v.label}" if run.kind == "Experiment" else f"`{v.agent_digest}`"
        row = [str(v.rank or ""), label]
        row += [evaluator_cell(v, e.label) for e in run.evaluators]
        row += [fmt_score(a.pass_rate), fmt_ms(a.latency_p50), fmt_ms(a.latency_p95)]
        row += [str(a.errors)]
        lines.append("| " + " | ".join(row) + " |")
    if run.gate is not None:
        lines += ["", "| check | value | threshold | spread | verdict |", "|---|---|---|---|---|"]
        for c in run.gate.checks:
            mark = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}[c.verdict]
            lines.append("| " + " | ".join(check_cells(c)) + f" | {mark} {c.verdict} |")
        verdict = run.gate.message()
        lines += ["", f"**{verdict}**" + ("" if run.gate.passed else " — promotion blocked")]
    if run.kind == "Experiment" and run.leader is not None and run.objective:
        goal = f"Objective: {run.objective.get('goal', 'maximize')} `{metric}`."
        why = f" {verdict_line(run)}" if run.ranking is not None else ""
        if run.inconclusive:
            lines += ["", f"{goal} **Inconclusive:** {why.strip().removeprefix('Inconclusive: ')}"]
        else:
            best = run.leader
            lines += [
                "",
                f"{goal} Winner: **{best.name}** ({best.label}).{why} Write it back into the "
                f"Agent spec with `agentops experiment apply-best {run.name} --write`.",
            ]
    cost = versus(run.cost)
    if cost is not None:
        lines += ["", f"Cost: {cost}."]
    if run.langfuse:
        links = ", ".join(f"[{n}]({u})" for n, u in sorted(run.langfuse.items()))
        lines += ["", f"Langfuse dataset runs: {links}"]
    lines += ["", f"<sub>run `{run.run_id}` · agent digest `{run.agent_digest}` · dataset "
              f"digest `{run.dataset_digest}`</sub>", ""]  # fmt: skip
    return "\n".join(lines)

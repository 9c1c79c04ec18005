"""Human summaries of a load run: the markdown report file and the terminal table.

Role: render the summary `LocustProvider` returns (see `engine.load.analysis.analyze` plus the
run's description) - nothing is computed here. rich is imported only when the terminal table
is printed. The HTML report (page and fragment) is `engine.load.html`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.spec.pricing import versus

Summary = Mapping[str, Any]


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return (
        f"{value:.0f} ms"
        if value >= 100
        else f"{value:.1f} ms"
        if value >= 1
        else f"{value:.2f} ms"
    )


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _lat(d: Mapping[str, Any]) -> str:
    return f"n={d['n']} · p50 {ms(d['p50'])} · p95 {ms(d['p95'])} · p99 {ms(d['p99'])}"


def headline(s: Summary) -> str:
    o = s["overall"]
    return (
        f"{o['requests']} requests, {o['failed']} failed, "
        f"{(o['rps'] or 0):.1f} req/s, p95 {ms(o['p95_ms'])}"
    )


def markdown(address: str, s: Summary) -> str:
    o = s["overall"]
    gen = s["generator"]
    problems = s.get("problems") or []  # recorded since reports name them; older runs lack it
    verdict = "passed" if s["passed"] and not problems else "FAILED"
    lines = [
        f"# LoadTest {address}: {verdict}",
        "",
        f"Run `{s['run_id']}` against `{s['target']}`: {s['load']}; stopped by "
        f"{s['stopped_by']} after {s['window_s']:.1f} s of load.",
        "",
    ]
    lines += [f"> **Failed:** {p}" for p in problems]
    lines += [f"> **Warning:** {w}" for w in s["warnings"]]
    lines += [
        "",
        "| metric | value |",
        "|---|---|",
        f"| requests | {o['requests']} ({o['failed']} failed, "
        f"error rate {rate(o['error_rate'])}) |",
        f"| throughput | {(o['rps'] or 0):.1f} req/s |",
        f"| latency, answered requests | p50 {ms(o['p50_ms'])} · p95 {ms(o['p95_ms'])} · "
        f"p99 {ms(o['p99_ms'])} · max {ms(o['max_ms'])} |",
        f"| cold (first request of a session) | {_lat(s['cold'])} |",
        f"| warm | {_lat(s['warm'])} |",
        f"| refusal rate (expect refuse) | {rate(o['refusal_rate'])} of {o['expect_refuse']} |",
        f"| answer rate (expect answer) | {rate(o['answer_rate'])} of {o['expect_answer']} |",
        f"| generator CPU (busiest process) | {gen['cpu_max'] * 100:.0f} % of one core |",
        f"| Locust's bucketed p50/p95/p99 | {s['locust'].get('p50_ms')} / "
        f"{s['locust'].get('p95_ms')} / {s['locust'].get('p99_ms')} ms |",
        "",
        "## SLOs",
        "",
        "| SLO | limit | measured | result |",
        "|---|---|---|---|",
    ]
    for r in s["slos"]:
        measured = "—" if r["measured"] is None else f"{r['measured']:.4g}"
        lines.append(
            f"| {r['slo']} | {r['limit']:g} | {measured} | {'pass' if r['ok'] else '**fail**'} |"
        )
    if not s["slos"]:
        lines.append("| (none declared) | | | |")
    lines += ["", "## Per tag", "", *_table(s["per_tag"], "tag"), "", "## Per prompt", ""]
    lines += _table(s["per_prompt"], "prompt")
    if s["errors"]:
        lines += ["", "## Errors", "", "| error | count |", "|---|---|"]
        lines += [f"| {e} | {n} |" for e, n in s["errors"].items()]
    if s["grading"]:
        lines += ["", "## Grading (sampled)", "", "| evaluator | mean | graded |", "|---|---|---|"]
        lines += [f"| {n} | {g['mean']:.3f} | {g['graded']} |" for n, g in s["grading"].items()]
    cost = versus(s.get("cost"))
    if cost is not None:
        lines += ["", "## Cost", "", f"{cost}."]
    return "\n".join(lines) + "\n"


def _table(groups: Mapping[str, Mapping[str, Any]], what: str) -> list[str]:
    out = [
        f"| {what} | requests | failed | p50 | p95 | p99 | refusal rate | answer rate |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, m in groups.items():
        out.append(
            f"| {name} | {m['requests']} | {m['failed']} | {ms(m['p50_ms'])} | {ms(m['p95_ms'])} "
            f"| {ms(m['p99_ms'])} | {rate(m['refusal_rate'])} | {rate(m['answer_rate'])} |"
        )
    return out


def summary_renderables(address: str, s: Summary) -> list[object]:
    """The terminal table and the lines under it (the Terminal prints them on stderr)."""
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    o = s["overall"]
    table = Table(title=escape(f"{address}: {headline(s)}"), title_justify="left")
    for col in ("", "requests", "failed", "p50", "p95", "p99", "refused", "answered"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)
    rows = [("overall", o), *((f"tag {k}", v) for k, v in s["per_tag"].items())]
    rows += [(f"prompt {k}", v) for k, v in s["per_prompt"].items()]
    for label, m in rows:
        table.add_row(
            escape(label),
            str(m["requests"]),
            str(m["failed"]),
            ms(m["p50_ms"]),
            ms(m["p95_ms"]),
            ms(m["p99_ms"]),
            rate(m["refusal_rate"]),
            rate(m["answer_rate"]),
        )
    out: list[object] = [table, Text(f"  cold: {_lat(s['cold'])}   warm: {_lat(s['warm'])}")]
    for r in s["slos"]:
        mark = "[green]✓[/green]" if r["ok"] else "[red]✗[/red]"
        out.append(Text.from_markup(f"  {mark} {escape(r['message'])}"))
    for w in s["warnings"]:
        out.append(Text.from_markup(f"  [yellow]warning:[/yellow] {escape(w)}"))
    cost = versus(s.get("cost"))
    if cost is not None:
        out.append(Text(f"  cost: {cost}"))
    paths = s["report"]
    shown = " · ".join(paths.values()) if isinstance(paths, Mapping) else str(paths)
    out.append(Text(f"  report: {shown}"))
    return out

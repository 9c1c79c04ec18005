"""The HTML fragment of one load run: latency over time (inline SVG) and a per-prompt table.

Role: what `agentops report` embeds for LoadTests - a self-contained `<section>` with no
script, no external asset and no stylesheet of its own beyond inline attributes, so it drops
into any page. Entry point: `render_run`; from the store use
`engine.providers.load_records.load_run_html(store, run_id)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from engine.load.analysis import Sample, timeline
from engine.load.report import ms, rate

W, H, PAD = 640, 220, 40


def _path(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))


def latency_chart(samples: Sequence[Sample], buckets: int = 60) -> str:
    """p50 and p95 latency of answered requests per time bucket; failed requests as red ticks."""
    rows = timeline(samples, buckets)
    if not rows:
        return "<p>No requests were recorded.</p>"
    span = max(r["t"] for r in rows) or 1.0  # type: ignore[type-var]
    top = max([float(r["p95"]) for r in rows if r["p95"] is not None] or [1.0]) * 1.1

    def x(t: object) -> float:
        return PAD + (W - 2 * PAD) * float(t) / float(span)  # type: ignore[arg-type]

    def y(v: object) -> float:
        return H - PAD - (H - 2 * PAD) * float(v) / top  # type: ignore[arg-type]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
        f'viewBox="0 0 {W} {H}" role="img" aria-label="latency over time">',
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff"/>',
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#999"/>',
        f'<text x="{PAD - 4}" y="{PAD + 4}" font-size="10" text-anchor="end">'
        f"{escape(ms(top))}</text>",
        f'<text x="{PAD - 4}" y="{H - PAD}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{W - PAD}" y="{H - PAD + 14}" font-size="10" text-anchor="end">'
        f"{float(span):.1f} s</text>",
    ]
    for key, colour in (("p50", "#4a90d9"), ("p95", "#d97a4a")):
        pts = [(x(r["t"]), y(r[key])) for r in rows if r[key] is not None]
        if pts:
            parts.append(
                f'<path d="{_path(pts)}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
            )
    for r in rows:
        if r["failed"]:
            xr = x(r["t"])
            parts.append(
                f'<line x1="{xr:.1f}" y1="{H - PAD}" x2="{xr:.1f}" y2="{H - PAD - 8}" '
                f'stroke="#c00"><title>{r["failed"]} failed</title></line>'
            )
    parts.append(
        f'<text x="{W - PAD}" y="{PAD - 10}" font-size="11" text-anchor="end">'
        '<tspan fill="#4a90d9">p50</tspan> · <tspan fill="#d97a4a">p95</tspan> · '
        '<tspan fill="#c00">failures</tspan></text></svg>'
    )
    return "".join(parts)


def prompt_table(per_prompt: Mapping[str, Mapping[str, Any]]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in ("prompt", "requests", "failed", "p50", "p95", "p99", "refusal", "answer")
    )
    rows = []
    for name, m in per_prompt.items():
        cells = (
            escape(name),
            m["requests"],
            m["failed"],
            ms(m["p50_ms"]),
            ms(m["p95_ms"]),
            ms(m["p99_ms"]),
            rate(m["refusal_rate"]),
            rate(m["answer_rate"]),
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    body = "".join(rows)
    return (
        f'<table class="load-prompts"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
    )


def render_run(
    address: str, run_id: str, summary: Mapping[str, Any], samples: Sequence[Sample]
) -> str:
    passed = bool(summary.get("passed"))
    slos = "".join(
        f'<li style="color:{"#060" if r["ok"] else "#c00"}">{escape(r["message"])}</li>'
        for r in summary.get("slos", [])
    )
    warnings = "".join(
        f"<p><strong>Warning:</strong> {escape(w)}</p>" for w in summary.get("warnings", [])
    )
    return (
        f'<section class="loadtest" id="{escape(run_id)}">'
        f"<h2>{escape(address)}: {'passed' if passed else 'failed'}</h2>"
        f"<p>Run <code>{escape(run_id)}</code>, {escape(str(summary.get('load', '')))}.</p>"
        f"{warnings}<ul>{slos}</ul>"
        f"<h3>Latency over time</h3>{latency_chart(samples)}"
        f"<h3>Per prompt</h3>{prompt_table(summary.get('per_prompt', {}))}"
        "</section>"
    )


def page(fragment: str, title: str) -> str:
    """A self-contained page around fragments (written next to the markdown report)."""
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:24px auto;"
        "padding:0 16px;color:#111}table{border-collapse:collapse}"
        "td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{style}</style></head><body>{fragment}</body></html>\n"
    )

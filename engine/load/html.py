"""The HTML report of one load run: latency over time (inline SVG), SLOs, cold vs warm, prompts.

Role: what `LocustProvider` writes next to the markdown report after every run and what
`agentops report loadtest.<name>` rewrites from the store. Rendered from the run's summary
(`engine.load.analysis.analyze` plus the run's description) and its raw samples; nothing is
measured here. Two entry points:

* `render_page` - a standalone page in the evaluation reports' shell
  (`engine.evaluation.report_html.page`: same CSS, no script, no external asset);
* `render_run` - the same content as one `<section class="loadtest">` fragment, to embed in
  another page (`engine.providers.runs.load_records.load_run_html`).

Every text that comes from data (prompt names, errors, the target) is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from engine.evaluation.report_html import page
from engine.load.analysis import SLO_FIELDS, Sample, timeline
from engine.load.report import headline, ms, rate

W, H, PAD = 640, 220, 40
#: YAML name of an SLO (`p95Ms`) -> its unit ("ms", "req/s", "" for rates)
UNITS = {yaml_name: unit for yaml_name, unit, _ in SLO_FIELDS.values()}
LEFT = " class='l'"


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
        f'viewBox="0 0 {W} {H}" style="width:100%;max-width:{W}px;height:auto" role="img" '
        'aria-label="latency over time">',
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


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """First column left-aligned (a name), the others right-aligned (numbers)."""
    th = "".join(f"<th{LEFT if i == 0 else ''}>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f"<td{LEFT if i == 0 else ''}>{escape(str(c))}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def group_table(groups: Mapping[str, Mapping[str, Any]], what: str) -> str:
    """Per prompt or per tag: requests, failures, latency percentiles, graded rates."""
    head = (what, "requests", "failed", "p50", "p95", "p99", "refusal rate", "answer rate")
    rows = [
        (
            name,
            m["requests"],
            m["failed"],
            ms(m["p50_ms"]),
            ms(m["p95_ms"]),
            ms(m["p99_ms"]),
            rate(m["refusal_rate"]),
            rate(m["answer_rate"]),
        )
        for name, m in groups.items()
    ]
    return _table(head, rows)


def prompt_table(per_prompt: Mapping[str, Mapping[str, Any]]) -> str:
    return group_table(per_prompt, "prompt")


def latency_table(summary: Mapping[str, Any]) -> str:
    """Answered requests overall, cold (a session's first request) and warm (the rest)."""
    o = summary["overall"]
    rows: list[tuple[object, ...]] = [
        ("all answered", o["requests"] - o["failed"], *map(ms, _q(o, "_ms")), ms(o["max_ms"]))
    ]
    for label, key in (("cold (first request of a session)", "cold"), ("warm", "warm")):
        d = summary[key]
        rows.append((label, d["n"], *map(ms, _q(d, "")), ms(d["max"])))
    return _table(("", "answered", "p50", "p95", "p99", "max"), rows)


def _q(d: Mapping[str, Any], suffix: str) -> tuple[float | None, ...]:
    return tuple(d[f"p{q}{suffix}"] for q in (50, 95, 99))


def _slo_value(value: float, unit: str) -> str:
    """As the SLO messages word it (`engine.load.analysis`): sub-ms latencies to 1 µs."""
    if unit == "ms":
        return ms(value) if value >= 1 else f"{value:.3f} ms"
    return f"{value:.1f} {unit}" if unit else f"{value:.3f}"


def slo_table(slos: Sequence[Mapping[str, Any]]) -> str:
    """Every SLO verdict with the measured value next to its limit."""
    if not slos:
        return "<p class='small'>No SLO is declared: the run passes when it produced requests.</p>"
    rows = []
    for r in slos:
        unit = UNITS.get(str(r["slo"]).rsplit(".", 1)[-1], "")
        limit = f"{float(r['limit']):g} {unit}" if unit else f"{float(r['limit']):.3f}"
        measured = "—" if r["measured"] is None else _slo_value(float(r["measured"]), unit)
        verdict = "pass" if r["ok"] else "fail"
        rows.append(
            f"<tr><td class='l'>{escape(str(r['slo']))}</td><td>{escape(limit)}</td>"
            f"<td>{escape(measured)}</td><td class='l v-{verdict}'>{verdict}</td>"
            f"<td class='l small'>{escape(str(r['message']))}</td></tr>"
        )
    return (
        "<table><thead><tr><th class='l'>SLO</th><th>limit</th><th>measured</th>"
        f"<th class='l'>result</th><th class='l'>detail</th></tr></thead><tbody>{''.join(rows)}"
        "</tbody></table>"
    )


def _meta(run_id: str, summary: Mapping[str, Any]) -> str:
    gen = summary.get("generator", {})
    window = float(summary.get("window_s") or 0.0)
    cpu = (
        f"generator CPU {float(gen['cpu_max']) * 100:.0f} % of one core (busiest of "
        f"{gen['processes']} process(es))"
        if gen.get("processes")
        else "generator CPU not sampled (the run was shorter than one sample)"
    )
    return (
        f"<p class='meta'>{escape(headline(summary))}</p><p class='meta'>run "
        f"<code>{escape(run_id)}</code> · target <code>{escape(str(summary.get('target')))}</code>"
        f" · {escape(str(summary.get('load', '')))} · stopped by "
        f"{escape(str(summary.get('stopped_by')))} after {window:.{1 if window >= 1 else 2}f} s "
        f"of load · {cpu}</p>"
    )


def _sections(summary: Mapping[str, Any], samples: Sequence[Sample], h: str) -> list[str]:
    notes = "".join(
        f"<p class='v-fail'><b>Failed:</b> {escape(p)}</p>" for p in summary.get("problems", [])
    ) + "".join(
        f"<p class='v-inconclusive'><b>Warning:</b> {escape(w)}</p>"
        for w in summary.get("warnings", [])
    )
    parts = [
        f"<div class='card'>{notes}</div>" if notes else "",
        f"<{h}>SLOs</{h}><div class='card'>{slo_table(summary.get('slos', []))}</div>",
        f"<{h}>Latency over time</{h}><div class='card'>{latency_chart(samples)}"
        "<p class='small'>answered requests per time bucket; failed requests are red ticks "
        "and count in the error rate, not in the latency</p></div>",
        f"<{h}>Cold and warm latency</{h}><div class='card'>{latency_table(summary)}</div>",
        f"<{h}>Per prompt</{h}><div class='card'>"
        f"{prompt_table(summary.get('per_prompt', {}))}</div>",
    ]
    if summary.get("per_tag"):
        parts.append(
            f"<{h}>Per tag</{h}><div class='card'>{group_table(summary['per_tag'], 'tag')}</div>"
        )
    if summary.get("errors"):
        errors = _table(("error", "count"), list(summary["errors"].items()))
        parts.append(f"<{h}>Errors</{h}><div class='card'>{errors}</div>")
    if summary.get("grading"):
        graded = [(n, f"{g['mean']:.3f}", g["graded"]) for n, g in summary["grading"].items()]
        table = _table(("evaluator", "mean", "graded"), graded)
        parts.append(f"<{h}>Grading (sampled)</{h}><div class='card'>{table}</div>")
    return parts


def _verdict(summary: Mapping[str, Any], status: str | None) -> tuple[str, str]:
    """(CSS class, text) of the run's badge; the recorded status wins over the SLOs."""
    if status is None:
        ok = bool(summary.get("passed")) and not summary.get("problems")
    else:
        ok = status == "succeeded"
    return ("pass", "passed") if ok else ("fail", "failed")


def render_run(
    address: str,
    run_id: str,
    summary: Mapping[str, Any],
    samples: Sequence[Sample],
    status: str | None = None,
) -> str:
    """One `<section>` with the whole report, for embedding (classes of the shared CSS)."""
    cls, text = _verdict(summary, status)
    return (
        f'<section class="loadtest" id="{escape(run_id)}">'
        f"<h2>LoadTest <code>{escape(address)}</code><span class='badge {cls}'>{text}</span></h2>"
        f"{_meta(run_id, summary)}{''.join(_sections(summary, samples, 'h3'))}</section>"
    )


def render_page(
    address: str,
    run_id: str,
    summary: Mapping[str, Any],
    samples: Sequence[Sample],
    status: str | None = None,
) -> str:
    """The standalone page: the evaluation reports' shell around the same content."""
    cls, text = _verdict(summary, status)
    body = [
        f"<h1>LoadTest <code>{escape(address)}</code><span class='badge {cls}'>{text}</span></h1>",
        _meta(run_id, summary),
        *_sections(summary, samples, "h2"),
    ]
    return page(address, body) + "\n"

"""The HTML report of one load run: charts over time with the SLOs, the histogram, the tables.

Role: what `LocustProvider` writes next to the markdown report after every run and what
`agentops report loadtest.<name>` rewrites from the store. Rendered from the run's summary
(`engine.load.analysis.analyze` plus the run's description) and its raw samples; nothing is
measured here. The markup is in Jinja2 templates (`engine/report/templates/load*.html.j2`),
the charts are Vega-Lite specs (`engine.load.charts`) rendered to inline SVG by the report
toolkit (`engine.report`), so the page is one offline file without script. Two entry points:

* `render_page` - a standalone page on the toolkit's base template (`load.html.j2`);
* `render_run` - the same content as one `<section class="loadtest">` fragment, to embed in
  another page built on the same base (`engine.providers.runs.load_records.load_run_html`).

Every text that comes from data (prompt names, errors, the target) is escaped by Jinja2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from engine.load.analysis import SLO_FIELDS, Sample
from engine.load.charts import Chart, charts, narrow
from engine.load.report import headline, ms, rate
from engine.report import chart
from engine.report import render_page as render_template
from engine.report.pages import environment
from engine.spec.pricing import cost_rows

#: YAML name of an SLO (`p95Ms`) -> its unit ("ms", "req/s", "" for rates)
UNITS = {yaml_name: unit for yaml_name, unit, _ in SLO_FIELDS.values()}


def _slo_value(value: float, unit: str) -> str:
    """As the SLO messages word it (`engine.load.analysis`): sub-ms latencies to 1 µs."""
    if unit == "ms":
        return ms(value) if value >= 1 else f"{value:.3f} ms"
    return f"{value:.1f} {unit}" if unit else f"{value:.3f}"


def slo_rows(slos: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Every SLO verdict with the measured value next to its limit, formatted."""
    rows = []
    for r in slos:
        unit = UNITS.get(str(r["slo"]).rsplit(".", 1)[-1], "")
        limit = f"{float(r['limit']):g} {unit}" if unit else f"{float(r['limit']):.3f}"
        measured = "—" if r["measured"] is None else _slo_value(float(r["measured"]), unit)
        rows.append(
            {
                "slo": str(r["slo"]),
                "limit": limit,
                "measured": measured,
                "verdict": "pass" if r["ok"] else "fail",
                "message": str(r["message"]),
            }
        )
    return rows


def latency_rows(summary: Mapping[str, Any]) -> list[list[object]]:
    """Answered requests overall, cold (a session's first request) and warm (the rest)."""
    o = summary["overall"]
    rows: list[list[object]] = [
        ["all answered", o["requests"] - o["failed"], *map(ms, _q(o, "_ms")), ms(o["max_ms"])]
    ]
    for label, key in (("cold (first request of a session)", "cold"), ("warm", "warm")):
        d = summary[key]
        rows.append([label, d["n"], *map(ms, _q(d, "")), ms(d["max"])])
    return rows


def _q(d: Mapping[str, Any], suffix: str) -> tuple[float | None, ...]:
    return tuple(d[f"p{q}{suffix}"] for q in (50, 95, 99))


def _meta(summary: Mapping[str, Any]) -> dict[str, str]:
    gen = summary.get("generator", {})
    window = float(summary.get("window_s") or 0.0)
    cpu = (
        f"generator CPU {float(gen['cpu_max']) * 100:.0f} % of one core (busiest of "
        f"{gen['processes']} process(es))"
        if gen.get("processes")
        else "generator CPU not sampled (the run was shorter than one sample)"
    )
    return {
        "headline": headline(summary),
        "target": str(summary.get("target")),
        "load": str(summary.get("load", "")),
        "stopped": f"stopped by {summary.get('stopped_by')} after "
        f"{window:.{1 if window >= 1 else 2}f} s of load",
        "cpu": cpu,
    }


def _verdict(summary: Mapping[str, Any], status: str | None) -> tuple[str, str]:
    """(CSS class, text) of the run's badge; the recorded status wins over the SLOs."""
    if status is None:
        ok = bool(summary.get("passed")) and not summary.get("problems")
    else:
        ok = status == "succeeded"
    return ("pass", "passed") if ok else ("fail", "failed")


def _figure(c: Chart) -> dict[str, Any]:
    label = f"{c.title}: {c.caption}"
    return {
        "key": c.key,
        "title": c.title,
        "caption": c.caption,
        "wide": chart(c.spec, label=label),
        "narrow": chart(narrow(c.spec), label=label),
    }


def _cost(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's `cost` (`{estimate, actual}`, docs/cost.md) as label/value rows."""
    cost = summary.get("cost")
    return cost_rows(cost if isinstance(cost, Mapping) else None)


def context(
    address: str,
    run_id: str,
    summary: Mapping[str, Any],
    samples: Sequence[Sample],
    status: str | None,
    *,
    level: int,
) -> dict[str, Any]:
    """What the templates get: `level` 1 for a page (h1, then h2), 2 for an embedded section."""
    verdict, verdict_text = _verdict(summary, status)
    return {
        "title": address,
        "address": address,
        "run_id": run_id,
        "verdict": verdict,
        "verdict_text": verdict_text,
        "meta": _meta(summary),
        "problems": list(summary.get("problems", [])),
        "warnings": list(summary.get("warnings", [])),
        "slos": slo_rows(summary.get("slos", [])),
        "charts": [_figure(c) for c in charts(summary, samples)],
        "latency": latency_rows(summary),
        "per_prompt": summary.get("per_prompt", {}),
        "per_tag": summary.get("per_tag", {}),
        "errors": summary.get("errors", {}),
        "grading": summary.get("grading", {}),
        "cost": _cost(summary),
        "ms": ms,
        "rate": rate,
        "h1": f"h{level}",
        "h2": f"h{level + 1}",
    }


def render_run(
    address: str,
    run_id: str,
    summary: Mapping[str, Any],
    samples: Sequence[Sample],
    status: str | None = None,
) -> str:
    """One `<section>` with the whole report, for embedding in a page on the base template."""
    template = environment().get_template("load_section.html.j2")
    return template.render(**context(address, run_id, summary, samples, status, level=2))


def render_page(
    address: str,
    run_id: str,
    summary: Mapping[str, Any],
    samples: Sequence[Sample],
    status: str | None = None,
) -> str:
    """The standalone page: the toolkit's base template around the same content."""
    return render_template(
        "load.html.j2", **context(address, run_id, summary, samples, status, level=1)
    )

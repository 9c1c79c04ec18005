"""The HTML report of a run: one self-contained page (inline CSS and SVG, no external asset).

Pipeline role: written next to the markdown report after every run and by
`agentops report`. Sections: the outcome, the ranking (or the gate's checks), a variants x
evaluators heat map (gate thresholds outlined), score distributions per evaluator with the
thresholds drawn, the latency distribution with the gate's limits, and every case. `page`
is the shell (head, CSS, `<main>`) that LoadTest reports (`engine.load.html`) share.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.evaluation.report_text import (
    check_cells,
    evaluator_cell,
    fmt_ms,
    fmt_score,
    headline,
    verdict_line,
)
from engine.evaluation.results import EvaluatorInfo
from engine.evaluation.run import EvalRun, VariantRun
from engine.evaluation.svg import (
    FAIL,
    PALETTE,
    HeatCell,
    Rule,
    Strip,
    esc,
    heatmap,
    strips,
)

#: cases listed at the bottom of the page (the store keeps all of them)
MAX_CASE_ROWS = 2000

CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f6f7f9;color:#111827;
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px}
.meta{color:#4b5563;font-size:13px}
.meta code{background:#eef0f3;padding:1px 5px;border-radius:4px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:16px;margin:12px 0;
 overflow-x:auto}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:600;
 font-size:13px;color:#fff;vertical-align:middle;margin-left:8px}
.pass,.succeeded{background:#15803d}.fail,.failed{background:#b91c1c}
.inconclusive{background:#b45309}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:6px 7px;border-bottom:1px solid #eef0f3;text-align:right;vertical-align:top;
 white-space:nowrap}
td.l,th{white-space:normal}
td.variant{min-width:230px}
th{background:#f9fafb;font-weight:600}
td.l,th.l{text-align:left}
tr.best td{background:#ecfdf5;font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}
.v-fail{color:#b91c1c;font-weight:600}.v-pass{color:#15803d}.v-inconclusive{color:#b45309}
details summary{cursor:pointer;font-weight:600}
.small{font-size:12px;color:#4b5563}
.err{color:#b91c1c}
"""


def page(title: str, body: Iterable[str]) -> str:
    """The page shell every HTML report shares (LoadTests' too): head, inline CSS, `<main>`."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(title)} — agentops report</title><style>{CSS}</style></head>",
        "<body><main>",
        *body,
        "</main></body></html>",
    ]
    return "\n".join(p for p in parts if p)


def render_html(run: EvalRun) -> str:
    verdict = run.gate.verdict if run.gate else run.status
    if run.inconclusive:
        verdict = "inconclusive"
    parts = [
        f"<h1>{esc(run.kind)} <code>{esc(run.address)}</code>"
        f"<span class='badge {esc(verdict)}'>{esc(verdict)}</span></h1>",
        f"<p class='meta'>{esc(headline(run))}</p>",
        _meta(run),
        _ranking(run),
        _checks(run),
        "<h2>Mean score per variant and evaluator</h2>",
        f"<div class='card'>{_heatmap(run)}</div>",
        "<h2>Score distributions</h2>",
        _distributions(run),
        "<h2>Latency</h2>",
        f"<div class='card'>{_latency(run)}</div>",
        _cases(run),
    ]
    return page(run.address, parts)


def _meta(run: EvalRun) -> str:
    t = run.timings
    took = ", ".join(f"{k} {v:.1f}s" for k, v in t.items())
    return (
        "<p class='meta'>"
        f"run <code>{esc(run.run_id)}</code> · agent <code>{esc(run.agent)}</code> digest "
        f"<code>{esc(run.agent_digest)}</code> · dataset <code>{esc(run.dataset)}</code> "
        f"digest <code>{esc(run.dataset_digest)}</code> · environment "
        f"<code>{esc(run.env)}</code> · {esc(run.started_at)} → {esc(run.finished_at)}"
        + (f" · {esc(took)}" if took else "")
        + "</p>"
        + _langfuse(run)
    )


def _langfuse(run: EvalRun) -> str:
    if not run.langfuse:
        return ""
    links = " · ".join(
        f"<a href='{esc(url)}'>{esc(name)}</a>" for name, url in sorted(run.langfuse.items())
    )
    return f"<p class='meta'>Langfuse dataset runs: {links}</p>"


def _ranking(run: EvalRun) -> str:
    metric = run.objective["metric"] if run.objective else None
    head = "".join(
        f"<th>{esc(e.label)}{' ★' if e.label == metric else ''}</th>" for e in run.evaluators
    )
    rows = []
    winner = run.best.name if run.kind == "Experiment" and run.best is not None else None
    for v in run.ranked:
        a = v.aggregate
        cls = " class='best'" if v.name == winner else ""
        cells = "".join(f"<td>{esc(evaluator_cell(v, e.label))}</td>" for e in run.evaluators)
        rows.append(
            f"<tr{cls}><td>{esc(v.rank or '')}</td><td class='l variant'>{esc(v.name)}<br>"
            f"<span class='small'>{esc(_values(v))}</span></td>{cells}"
            f"<td>{fmt_score(a.pass_rate)}</td><td>{fmt_ms(a.latency_p50)}</td>"
            f"<td>{fmt_ms(a.latency_p95)}</td><td>{a.call_errors}</td>"
            f"<td>{a.evaluator_errors}</td></tr>"
        )
    title = "Ranking" if run.kind == "Experiment" else "Result"
    objective = (
        f"<p class='small'>objective: {esc(run.objective['goal'])} <code>{esc(metric)}</code></p>"
        if run.objective
        else ""
    )
    if run.ranking is not None:
        style = "v-inconclusive" if run.inconclusive else "v-pass"
        objective += f"<p class='{style}'><b>{esc(verdict_line(run))}</b></p>"
    return (
        f"<h2>{title}</h2><div class='card'>{objective}<table><tr><th>#</th>"
        f"<th class='l'>variant</th>{head}<th>pass rate</th><th>p50</th><th>p95</th>"
        f"<th>failed calls</th><th>eval. errors</th></tr>{''.join(rows)}</table></div>"
    )


def _values(v: VariantRun) -> str:
    if not v.values:
        return f"{v.model} · digest {v.agent_digest}"
    shown = []
    for key, mv in v.values.items():
        value = str(mv.get("value"))
        shown.append(f"{key}={mv.get('name')}" + (f" ({value})" if len(value) <= 40 else ""))
    return ", ".join(shown) + f" · {v.model}"


def _checks(run: EvalRun) -> str:
    if run.gate is None:
        return ""
    rows = []
    for c in run.gate.checks:
        name, value, threshold, spread = check_cells(c)
        rows.append(
            f"<tr><td class='l'>{esc(name)}</td><td>{esc(value)}</td>"
            f"<td>{esc(threshold)}</td><td>{esc(spread)}</td>"
            f"<td class='l v-{esc(c.verdict)}'>{esc(c.verdict)}</td></tr>"
        )
    return (
        f"<h2>Gate checks</h2><div class='card'><p><b>{esc(run.gate.message())}</b>"
        f" (inconclusive counts as {esc(run.gate.inconclusive_as)})</p><table><tr>"
        "<th class='l'>check</th><th>value</th><th>threshold</th><th>spread</th>"
        f"<th class='l'>verdict</th></tr>{''.join(rows)}</table></div>"
    )


def _heatmap(run: EvalRun) -> str:
    cols = [e.label for e in run.evaluators] + ["pass rate"]
    rows: list[str] = []
    cells: list[list[HeatCell]] = []
    for v in run.ranked:
        rows.append(f"{v.name} {v.label}" if run.kind == "Experiment" else v.label)
        line = []
        for e in run.evaluators:
            s = v.aggregate.evaluators[e.label]
            missed = (e.mean is not None and (s.mean is None or s.mean < e.mean)) or (
                e.pass_rate is not None and (s.pass_rate is None or s.pass_rate < e.pass_rate)
            )
            text = fmt_score(s.mean) + (f" ≥{e.mean:g}" if e.mean is not None else "")
            title = f"{e.label}: mean {fmt_score(s.mean)}, pass rate {fmt_score(s.pass_rate)}"
            line.append(HeatCell(s.mean, text, missed, title))
        line.append(HeatCell(v.aggregate.pass_rate, fmt_score(v.aggregate.pass_rate)))
        cells.append(line)
    return heatmap(rows, cols, cells)


def _distributions(run: EvalRun) -> str:
    charts = []
    for e in run.evaluators:
        rows = []
        for v in run.ranked:
            values = []
            errors = 0
            for c in v.cases:
                s = c.scores.get(e.label)
                if s is None or s.skipped:
                    continue
                if s.error is not None or s.value is None:
                    errors += 1
                else:
                    values.append(s.value)
            rows.append(Strip(v.name, values, errors, v.aggregate.evaluators[e.label].mean))
        rules = [Rule(f"passAt {e.pass_at:g}", e.pass_at, strong=False)]
        if e.mean is not None:
            rules.append(Rule(f"gate: mean ≥ {e.mean:g}", e.mean))
        note = (
            "dots: cases · box: quartiles · ◆ mean · × evaluator error (counted as 0) · "
            f"grey dotted: passAt {e.pass_at:g}"
        )
        if e.mean is not None:
            note += f" · <span style='color:{FAIL}'>red dashed: gate threshold {e.mean:g}</span>"
        if e.pass_rate is not None:
            note += f" · gate pass-rate threshold {e.pass_rate:g}"
        charts.append(
            f"<div class='card'>{strips(_title(run, e), rows, rules=rules)}"
            f"<p class='small'>{note}</p></div>"
        )
    return f"<div class='grid'>{''.join(charts)}</div>"


def _title(run: EvalRun, e: EvaluatorInfo) -> str:
    """The chart title; a gate's pass-rate threshold is stated next to the measured rate."""
    if e.pass_rate is None or len(run.variants) != 1:
        return e.label
    measured = run.variants[0].aggregate.evaluators[e.label].pass_rate
    return f"{e.label} — pass rate {fmt_score(measured)} (gate ≥ {e.pass_rate:.2f})"


def _latency(run: EvalRun) -> str:
    rows, highest = [], 1.0
    for v in run.ranked:
        values = [c.latency_ms for c in v.cases if c.ok]
        highest = max([highest, *values])
        rows.append(Strip(v.name, values, 0, v.aggregate.latency_p95))
    rules = [Rule(f"gate: {k.removesuffix('_ms')} ≤ {val:g} ms", float(val))
             for k, val in (run.latency_limits or {}).items() if val is not None]  # fmt: skip
    highest = max([highest, *(r.value for r in rules)]) * 1.05
    chart = strips("latency per successful call", rows, rules=rules, hi=highest, unit=" ms",
                   width=1100)  # fmt: skip
    lines = "".join(
        f"<li>{esc(v.name)}: p50 {fmt_ms(v.aggregate.latency_p50)}, p95 "
        f"{fmt_ms(v.aggregate.latency_p95)}, p99 {fmt_ms(v.aggregate.latency_p99)}</li>"
        for v in run.ranked
    )
    return (
        f"{chart}<p class='small'>dots: calls · box: quartiles · ◆ p95 · red dashed: gate "
        f"limits · failed calls are not plotted (they count as errors)</p><ul class='small'>"
        f"{lines}</ul>"
    )


def _cases(run: EvalRun) -> str:
    rows: list[str] = []
    for i, v in enumerate(run.ranked):
        color = PALETTE[i % len(PALETTE)]
        for c in v.cases:
            if len(rows) >= MAX_CASE_ROWS:
                break
            scores = "; ".join(
                f"{k}={'err' if s.error else ('skip' if s.skipped else f'{s.value:.2f}')}"
                + (f" ({s.error or s.comment})" if (s.error or s.comment) else "")
                for k, s in c.scores.items()
            )
            answer = (
                f"<span class='err'>{esc(c.error)}</span>" if not c.ok else esc(c.response[:300])
            )
            rows.append(
                f"<tr><td class='l' style='border-left:4px solid {color}'>{esc(v.name)}</td>"
                f"<td class='l'>{esc(c.item_id)}</td><td>{c.repetition}</td>"
                f"<td>{c.latency_ms:.0f}</td><td class='l'>{answer}</td>"
                f"<td class='l small'>{esc(scores)}</td></tr>"
            )
    return (
        "<h2>Cases</h2><div class='card'><details><summary>"
        f"{len(rows)} case(s): answers, errors and every score with its comment</summary>"
        "<table><tr><th class='l'>variant</th><th class='l'>item</th><th>rep</th><th>ms</th>"
        f"<th class='l'>answer</th><th class='l'>scores</th></tr>{''.join(rows)}</table>"
        "</details></div>"
    )

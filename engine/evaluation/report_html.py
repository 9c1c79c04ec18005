"""The HTML report of a run: one self-contained page rendered from Jinja2 templates.

Pipeline role: written next to the markdown report after every run (`LocalEvalProvider.
publish`), by `agentops report`, and again by a preview once its gate has a baseline. This
module turns an `EvalRun` (plus, when there are, the previous run of the same address and
a gate's baseline comparison) into the templates' context; `engine.report` renders it
(`templates/run.html.j2` and its `run_*.html.j2` partials), charts as inline SVG.

Sections: the outcome; an Experiment's ranking with its verdict, or a gate's checks; a
gate's baseline comparison (per metric, and the baseline's and the new answers side by
side); what changed since the previous run; the heat map (Experiments); the cases grid
(items x variants, answers side by side, a filter for failing rows, failing first for a
gate); the score distributions and latency charts; a drill-down per item. A page shows at
most `report_cases.MAX_CASE_CELLS` answers and says so when the cap applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.evaluation import report_charts as charts
from engine.evaluation.baseline import LATENCY, Comparison, MetricDelta
from engine.evaluation.report_cases import DETAIL_CHARS, MAX_CASE_CELLS, Column, Grid, build_grid
from engine.evaluation.report_diff import diff, item_changes
from engine.evaluation.report_text import check_cells, evaluator_cell, headline, verdict_line
from engine.evaluation.results import total_tokens
from engine.evaluation.run import EvalRun, VariantRun
from engine.report import chart, render_page
from engine.spec.pricing import cost_rows

__all__ = ["MAX_CASE_CELLS", "render_html"]


@dataclass(frozen=True)
class RankRow:
    rank: int | None
    name: str
    detail: str
    best: bool
    cells: list[str]
    pass_rate: float | None
    p50: float | None
    p95: float | None
    call_errors: int
    evaluator_errors: int
    tokens: int | None


@dataclass(frozen=True)
class DeltaRow:
    metric: str
    baseline: str
    new: str
    delta: str
    interval: str
    significant: bool
    bound: str
    regressed: bool
    #: better | worse | same | ""
    trend: str


def render_html(
    run: EvalRun,
    *,
    previous: EvalRun | None = None,
    comparison: Comparison | None = None,
    cost: Mapping[str, object] | None = None,
) -> str:
    """The page. `previous`: the run recorded before this one for the same address (the
    diff); `comparison`: a gate's baseline deltas and the baseline's cases, whose answers are
    shown next to the new ones (default: the run's own, `run.comparison`); `cost`:
    `{estimate, actual}` (default: the run's own)."""
    comparison = comparison if comparison is not None else run.comparison
    verdict = run.gate.verdict if run.gate else run.status
    if run.inconclusive:
        verdict = "inconclusive"
    gate = run.kind == "QualityGate"
    grid = build_grid(
        [(_column(run, v), v.cases) for v in run.ranked],
        run.items,
        run.evaluators,
        failing_first=gate,
    )
    latency, fits = charts.latency_spec(run)
    context = {
        "title": run.address,
        "run": run,
        "verdict": verdict,
        "headline": headline(run),
        "verdict_line": verdict_line(run) if run.ranking is not None else "",
        "metric": run.objective["metric"] if run.objective else None,
        "ranking": [_rank_row(run, v) for v in run.ranked],
        "checks": [(*check_cells(c), c.verdict) for c in run.gate.checks] if run.gate else [],
        "grid": grid,
        "anchors": {r.item_id: r.anchor for r in grid.rows},
        "max_cells": MAX_CASE_CELLS,
        "detail_chars": DETAIL_CHARS,
        "diff": diff(run, previous) if previous is not None else None,
        "comparison": comparison,
        "deltas": [_delta_row(d) for d in comparison.deltas] if comparison else [],
        "baseline_grid": (
            _baseline_grid(run, comparison)
            if comparison is not None and comparison.baseline_cases
            else None
        ),
        "heatmap": (
            chart(charts.heatmap_spec(run), label="mean score per variant and evaluator")
            if not gate
            else None
        ),
        "distributions": [
            (e, chart(charts.distribution_spec(run, e), label=f"distribution of {e.label}"))
            for e in run.evaluators
        ],
        "latency": chart(latency, label="latency of every successful call"),
        "latency_fits": fits,
        "cost": cost_rows(cost or run.cost),  # the run's own {estimate, actual} by default
        "took": ", ".join(f"{k} {v:.1f}s" for k, v in run.timings.items()),
        "fmt": metric_text,
    }
    return render_page("run.html.j2", **context)


def _column(run: EvalRun, v: VariantRun) -> Column:
    if run.kind == "QualityGate":
        return Column(v.name, f"{run.agent} @ {v.agent_digest}", v.model)
    return Column(v.name, v.name, v.label)


def _rank_row(run: EvalRun, v: VariantRun) -> RankRow:
    a = v.aggregate
    winner = run.best.name if run.kind == "Experiment" and run.best is not None else None
    return RankRow(
        rank=v.rank,
        name=v.name,
        detail=_values(v),
        best=v.name == winner,
        cells=[evaluator_cell(v, e.label) for e in run.evaluators],
        pass_rate=a.pass_rate,
        p50=a.latency_p50,
        p95=a.latency_p95,
        call_errors=a.call_errors,
        evaluator_errors=a.evaluator_errors,
        tokens=total_tokens(a.tokens),
    )


def _values(v: VariantRun) -> str:
    if not v.values:
        return f"{v.model} · digest {v.agent_digest}"
    shown = []
    for key, mv in v.values.items():
        value = str(mv.get("value"))
        shown.append(f"{key}={mv.get('name')}" + (f" ({value})" if len(value) <= 40 else ""))
    return ", ".join(shown) + f" · {v.model}"


def metric_text(value: float | None, metric: str, signed: bool = False) -> str:
    """A metric as the diff shows it: ms for latency, a count for errors and tokens."""
    if value is None:
        return "–"
    sign = "+" if signed else ""
    if metric.startswith("latency"):
        return f"{value:{sign},.0f} ms"
    if metric in ("errors", "tokens"):
        return f"{value:{sign},.0f}"
    return f"{value:{sign}.2f}"


def _num(value: float | None, metric: str, *, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    if metric == LATENCY:
        return f"{value:+,.0f} ms" if signed else f"{value:,.0f} ms"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _delta_row(d: MetricDelta) -> DeltaRow:
    interval = "n/a"
    if d.ci95 is not None:
        lo, hi = d.ci95
        interval = f"{_num(lo, d.metric, signed=True)} … {_num(hi, d.metric, signed=True)}"
    trend = ""
    if d.delta is not None:
        worse = d.delta > 0 if d.metric == LATENCY else d.delta < 0
        trend = "same" if d.delta == 0 else "worse" if worse else "better"
    return DeltaRow(
        metric=d.metric,
        baseline=_num(d.baseline, d.metric),
        new=_num(d.new, d.metric),
        delta=_num(d.delta, d.metric, signed=True),
        interval=interval,
        significant=d.significant,
        bound="–" if d.max_regression is None else _num(d.max_regression, d.metric),
        regressed=d.regressed,
        trend=trend,
    )


def _baseline_grid(run: EvalRun, comparison: Comparison) -> Grid:
    """The baseline's answers next to the new ones, changed items first."""
    new = run.variants[0]
    old_cases = comparison.baseline_cases
    tags = item_changes(new.cases, old_cases, run.evaluators)
    return build_grid(
        [
            (
                Column("baseline", "baseline", f"digest {comparison.baseline_digest or '?'}"),
                old_cases,
            ),
            (Column("new", "new", f"digest {run.agent_digest}"), new.cases),
        ],
        run.items,
        run.evaluators,
        failing_first=True,
        tags=tags,
        anchor="baseline",
        cap=MAX_CASE_CELLS // 2,
    )

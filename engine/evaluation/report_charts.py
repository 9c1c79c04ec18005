"""The charts of an evaluation report, as Vega-Lite specs (plain dicts, testable as data).

Pipeline role: `report_html` asks for the specs and `engine.report.chart` renders each to
inline SVG. Three kinds:

* the heat map: variants x evaluators (and the overall pass rate), the mean in each cell;
* a strip chart per evaluator: one row per variant, a box (quartiles, whiskers to min and
  max), a ◆ at the mean, a dot per case, and the thresholds as labelled rules (passAt grey
  dashed, the gate's mean threshold red);
* the latency strip chart: the same shape in milliseconds, its x axis fitted to the data
  (not 0..limit, which squashed every point against the left edge), each gate limit a
  labelled red rule; a limit far beyond the slowest call stays labelled at the axis end
  ("off the scale") instead of stretching the axis.

Equal values are one dot whose size is their count (scores are often exactly 0 or 1), and
big runs stay small pages: above `MAX_POINTS` values per row they are binned along the axis
(one dot per bin and outcome), so a 10,000-case run draws a few hundred marks per chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.evaluation.results import EvaluatorInfo, case_passed
from engine.evaluation.run import EvalRun
from engine.evaluators import percentile
from engine.report.charts import FAIL, MUTED, PASS

Spec = dict[str, Any]

#: dots per row drawn one by one; beyond that they are binned (`BINS` bins over the axis)
MAX_POINTS = 240
BINS = 120
#: a limit up to this many times the slowest call stretches the axis; beyond, it is drawn
#: at the axis end, labelled "off the scale"
STRETCH = 1.6
#: plot width of a chart that fills a card, and of one in the grid of score distributions
#: (three a row on a desktop; on a phone about its natural width)
WIDE = 1060
HALF = 300

#: what a dot's colour says, in legend order
OUTCOMES = {
    "pass": ("passed", PASS),
    "fail": ("failed", FAIL),
    "error": ("evaluator error (counted as 0)", "#7f1d1d"),
    "none": ("no evaluator applied", MUTED),
}


@dataclass(frozen=True)
class Rule:
    """A vertical threshold line with its label (`strong`: a gate's threshold, red)."""

    value: float
    label: str
    strong: bool = True


@dataclass
class Strip:
    """One row of a strip chart: the values, each with its outcome, and a marked value."""

    row: str
    values: list[float] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    marker: float | None = None


def _jitter(i: int) -> float:
    """A spread in [-1, 1] that is the same on every render (no random in a report)."""
    return ((i * 0.6180339887) % 1.0) * 2.0 - 1.0


def _points(strips: Sequence[Strip], lo: float, hi: float) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    width = (hi - lo) / BINS or 1.0
    for s in strips:
        # equal values (scores are often 0 or 1) are one dot, its size the count
        counts: dict[tuple[float, str], int] = {}
        binned = len(s.values) > MAX_POINTS
        for v, o in zip(s.values, s.outcomes, strict=True):
            at = lo + round((min(max(v, lo), hi) - lo) / width) * width if binned else v
            counts[(at, o)] = counts.get((at, o), 0) + 1
        pairs = [(v, o, n) for (v, o), n in sorted(counts.items())]
        for i, (v, o, n) in enumerate(pairs):
            label = OUTCOMES[o][0]
            out.append({"row": s.row, "value": v, "outcome": label, "n": n, "j": _jitter(i)})
    return out


def _stats(strips: Sequence[Strip]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for s in strips:
        if not s.values:
            continue
        out.append(
            {
                "row": s.row,
                "lo": min(s.values),
                "hi": max(s.values),
                "q1": percentile(s.values, 25),
                "median": percentile(s.values, 50),
                "q3": percentile(s.values, 75),
                "n": len(s.values),
            }
        )
    return out


def strip_spec(
    title: str,
    strips: Sequence[Strip],
    *,
    domain: tuple[float, float],
    rules: Sequence[Rule] = (),
    x_title: str,
    marker: str,
    width: int = HALF,
    value_format: str = ".2f",
) -> Spec:
    """A strip chart: rows `strips`, x over `domain`; a rule outside `domain` is drawn at
    its nearer end with its label saying so."""
    lo, hi = domain
    rows = [s.row for s in strips]
    present = [o for o in OUTCOMES if any(o in s.outcomes for s in strips)]
    x: Spec = {"type": "quantitative", "scale": {"domain": [lo, hi], "nice": False, "zero": False}}
    y: Spec = {"field": "row", "type": "nominal", "sort": rows, "title": None}
    rule_rows = []
    for i, r in enumerate(rules):
        at = min(max(r.value, lo), hi)
        text = r.label if at == r.value else f"{r.label} → off the scale"
        right = at > lo + 0.7 * (hi - lo)
        rule_rows.append(
            {"x": at, "label": text, "strong": r.strong, "dy": -6 - 14 * i, "right": right}
        )
    layers: list[Spec] = [
        {
            "data": {"name": "stats"},
            "mark": {"type": "rule", "color": "#9ca3af"},
            "encoding": {
                "x": {**x, "field": "lo", "title": x_title, "axis": {"tickCount": 12}},
                "x2": {"field": "hi"},
            },
        },
        {
            "data": {"name": "stats"},
            "mark": {"type": "bar", "size": 16, "color": "#dbeafe", "stroke": "#2563eb"},
            "encoding": {"x": {"field": "q1", "type": "quantitative"}, "x2": {"field": "q3"}},
        },
        {
            "data": {"name": "stats"},
            "mark": {"type": "tick", "color": "#1e3a8a", "thickness": 2, "size": 18},
            "encoding": {"x": {"field": "median", "type": "quantitative"}},
        },
        {
            "data": {"name": "points"},
            "mark": {"type": "circle", "opacity": 0.75, "stroke": "white", "strokeWidth": 0.5},
            "encoding": {
                "x": {"field": "value", "type": "quantitative"},
                "yOffset": {
                    "field": "j",
                    "type": "quantitative",
                    "scale": {"domain": [-1, 1], "range": [6, 24]},
                },
                "size": {
                    "field": "n",
                    "type": "quantitative",
                    "scale": {"type": "sqrt", "range": [28, 260], "zero": False},
                    "legend": None,
                },
                "color": {
                    "field": "outcome",
                    "type": "nominal",
                    "scale": {
                        "domain": [OUTCOMES[o][0] for o in present],
                        "range": [OUTCOMES[o][1] for o in present],
                    },
                    "legend": {"title": None, "orient": "bottom", "direction": "horizontal"},
                },
                "tooltip": [
                    {"field": "row", "title": "variant"},
                    {"field": "value", "format": value_format},
                    {"field": "n", "title": "cases"},
                ],
            },
        },
        {
            "data": {"name": "markers"},
            "mark": {"type": "point", "shape": "diamond", "filled": True, "size": 110},
            "encoding": {
                "x": {"field": "value", "type": "quantitative"},
                "color": {"value": "#111827"},
                "tooltip": [{"field": "value", "title": marker, "format": value_format}],
            },
        },
    ]
    if rule_rows:
        layers += [
            {
                "data": {"name": "rules"},
                "mark": {"type": "rule", "strokeWidth": 1.5},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": None,
                    "color": {
                        "condition": {"test": "datum.strong", "value": FAIL},
                        "value": "#6b7280",
                    },
                    "strokeDash": {
                        "condition": {"test": "datum.strong", "value": [6, 3]},
                        "value": [2, 3],
                    },
                },
            },
            {
                "data": {"name": "rules"},
                "transform": [{"filter": "!datum.right"}],
                "mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
                **_rule_text(),
            },
            {
                "data": {"name": "rules"},
                "transform": [{"filter": "datum.right"}],
                "mark": {"type": "text", "align": "right", "dx": -4, "fontSize": 11},
                **_rule_text(),
            },
        ]
    return {
        "title": title,
        "width": width,
        "height": {"step": 30},
        "datasets": {
            "stats": _stats(strips),
            "points": _points(strips, lo, hi),
            "markers": [{"row": s.row, "value": s.marker} for s in strips if s.marker is not None],
            "rules": rule_rows,
        },
        "encoding": {"y": y},
        "layer": layers,
        "resolve": {"scale": {"color": "independent"}},
    }


def _rule_text() -> Spec:
    return {
        "encoding": {
            "x": {"field": "x", "type": "quantitative"},
            "y": {"value": 0},
            "yOffset": {"field": "dy", "type": "quantitative", "scale": None},
            "text": {"field": "label"},
            "color": {"condition": {"test": "datum.strong", "value": FAIL}, "value": "#4b5563"},
        }
    }


# --- the report's charts ----------------------------------------------------------------
def heatmap_spec(run: EvalRun) -> Spec:
    """Mean score per variant (rows, ranked) and evaluator (columns), plus the pass rate."""
    columns = [e.label for e in run.evaluators] + ["pass rate"]
    rows, cells = [], []
    for v in run.ranked:
        row = f"{v.name} · {v.label}" if v.values else v.name
        rows.append(row)
        for e in run.evaluators:
            mean = v.aggregate.evaluators[e.label].mean
            cells.append({"row": row, "col": e.label, "value": mean, "text": _fmt(mean)})
        rate = v.aggregate.pass_rate
        cells.append({"row": row, "col": "pass rate", "value": rate, "text": _fmt(rate)})
    pos = {
        "x": {
            "field": "col",
            "type": "nominal",
            "sort": columns,
            "title": None,
            "axis": {"orient": "top", "labelAngle": 0, "labelLimit": 110},
        },
        "y": {
            "field": "row",
            "type": "nominal",
            "sort": rows,
            "title": None,
            "axis": {"labelLimit": 340},
        },
    }
    return {
        "width": {"step": 104},
        "height": {"step": 34},
        "data": {"values": cells},
        "encoding": pos,
        "layer": [
            {
                "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2},
                "encoding": {
                    "color": {
                        "condition": {"test": "datum.value === null", "value": "#f3f4f6"},
                        "field": "value",
                        "type": "quantitative",
                        "scale": {
                            "domain": [0, 0.5, 1],
                            "range": ["#fca5a5", "#fde68a", "#86efac"],
                        },
                        "legend": None,
                    },
                    "tooltip": [
                        {"field": "row", "title": "variant"},
                        {"field": "col", "title": "evaluator"},
                        {"field": "text", "title": "mean"},
                    ],
                },
            },
            {
                "mark": {"type": "text", "fontSize": 12, "fontWeight": 600, "color": "#111827"},
                "encoding": {"text": {"field": "text"}},
            },
        ],
    }


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def distribution_spec(run: EvalRun, e: EvaluatorInfo, *, width: int = HALF) -> Spec:
    """Every counted score of evaluator `e`, per variant, with its passAt and gate threshold."""
    strips = []
    for v in run.ranked:
        s = Strip(v.name, marker=v.aggregate.evaluators[e.label].mean)
        for c in v.cases:
            score = c.scores.get(e.label)
            counted = score.counted_value if score is not None else None
            if score is None or counted is None:
                continue
            s.values.append(counted)
            if score.error is not None and c.ok:
                s.outcomes.append("error")
            else:
                s.outcomes.append("pass" if counted >= e.pass_at else "fail")
        strips.append(s)
    rules = [Rule(e.pass_at, f"passAt {e.pass_at:g}", strong=False)]
    if e.mean is not None:
        rules.append(Rule(e.mean, f"gate: mean ≥ {e.mean:g}"))
    return strip_spec(
        e.label, strips, domain=(0.0, 1.0), rules=rules, x_title="score", marker="mean",
        width=width,
    )  # fmt: skip


def latency_domain(
    values: Sequence[float], limits: Sequence[float]
) -> tuple[tuple[float, float], bool]:
    """The x domain of the latency chart, and whether every limit lies on it.

    Fitted to the calls (5% margins, not from 0 unless the calls are near 0); a limit
    stretches it only when it is at most `STRETCH` times the slowest call.
    """
    if not values:
        top = max(limits, default=1.0)
        return (0.0, top * 1.05), True
    lo, hi = min(values), max(values)
    near = [x for x in limits if x <= hi * STRETCH]
    hi = max([hi, *near])
    lo = min([lo, *near])
    pad = (hi - lo) * 0.05 or max(hi * 0.05, 1.0)
    lo = 0.0 if lo - pad < 0.25 * hi else lo - pad
    return (lo, hi + pad), len(near) == len(limits)


def latency_spec(run: EvalRun, *, width: int = WIDE) -> tuple[Spec, bool]:
    """Latency of every successful call per variant, coloured by whether its case passed,
    the gate's limits as rules; and whether every limit fits on the axis."""
    infos = {e.label: e for e in run.evaluators}
    strips = []
    values: list[float] = []
    for v in run.ranked:
        s = Strip(v.name, marker=v.aggregate.latency_p95)
        for c in v.cases:
            if not c.ok:
                continue
            passed = case_passed(c, infos)
            s.values.append(c.latency_ms)
            s.outcomes.append("none" if passed is None else "pass" if passed else "fail")
        values += s.values
        strips.append(s)
    rules = [
        Rule(float(limit), f"gate: {key.removesuffix('_ms')} ≤ {limit:,.0f} ms")
        for key, limit in (run.latency_limits or {}).items()
        if limit is not None
    ]
    domain, fits = latency_domain(values, [r.value for r in rules])
    spec = strip_spec(
        "latency per successful call (ms)", strips, domain=domain, rules=rules,
        x_title="milliseconds", marker="p95", width=width, value_format=",.0f",
    )  # fmt: skip
    return spec, fits

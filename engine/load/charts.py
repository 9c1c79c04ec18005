"""The LoadTest report's charts as Vega-Lite specs: over time (rates, users, errors, latency)
and the latency histogram, with the SLOs drawn on them.

Role: between the bucketed run (`engine.load.timeline`) and the page (`engine.load.html`,
which renders each spec to inline SVG through `engine.report.chart`). The specs are plain
dicts, so tests read them as data (the SLO rule and its value, the bins, the series).

* The four time charts share their x axis (seconds since the first request, one domain) and
  a fixed y-axis width, so their plot areas line up down the page, as Locust's do.
* SLOs are dashed rules labelled with the limit, green when the SLO passed, red when it
  failed: `p50Ms`/`p95Ms`/`p99Ms` on the latency chart and on the histogram, `errorRate` on the
  error chart, `minRps` on the throughput chart (overall SLOs only: a per-tag SLO measures a
  subset that these charts do not draw; the SLO table has them all).
* A limit far above the data (more than `OFF_SCALE` times its maximum) would squash the data
  into the bottom of the chart, so the scale ends at the data and the rule is drawn on the
  edge, its label saying "off the scale".
* Each chart exists twice: `WIDTH` for desktops and `NARROW` for phones (the page shows one
  by CSS), because an SVG drawn for 1150 px and scaled down to 360 has 4 px text.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.load.analysis import SLO_FIELDS, Sample
from engine.load.timeline import Bucket, Histogram, buckets, histogram, users_log
from engine.report.charts import FAIL, PASS, THEME

WIDTH = 1150  # the whole SVG (autosize fit): a card's width on a 1400 px screen
NARROW = 360  # a card's width on a 390 px phone
HEIGHT = 190
Y_AXIS = 64  # px kept for every y axis, so the time charts' plot areas line up
OFF_SCALE = 3.0
#: YAML name -> (unit, True when the measured value must stay at or below the limit)
SLO_UNITS = {yaml: (unit, at_most) for yaml, unit, at_most in SLO_FIELDS.values()}
LATENCY_SLOS = ("p50Ms", "p95Ms", "p99Ms")
BLUE, AMBER, RED, PURPLE, TEAL = "#2563eb", "#d97706", "#b91c1c", "#7c3aed", "#0891b2"

Spec = dict[str, Any]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str
    spec: Spec


def limit_text(slo: str, limit: float) -> str:
    """`p95Ms ≤ 1000 ms`, `errorRate ≤ 0.010`, `minRps ≥ 50 req/s`: as the limit was written."""
    name = slo.rsplit(".", 1)[-1]
    unit, at_most = SLO_UNITS.get(name, ("", True))
    value = f"{limit:g} {unit}" if unit else f"{limit:.3f}"
    return f"{slo} {'≤' if at_most else '≥'} {value}"


def _overall(slos: Sequence[Mapping[str, Any]], names: Sequence[str]) -> list[Mapping[str, Any]]:
    return [r for r in slos if r["slo"] in names]


def _scale_end(slos: Sequence[Mapping[str, Any]], top: float) -> float:
    """Where a scale whose data reaches `top` ends: at the data, or at a limit not too far."""
    near = [float(r["limit"]) for r in slos if float(r["limit"]) <= OFF_SCALE * max(top, 1e-9)]
    return max([top, *near])


def _label(r: Mapping[str, Any], lo: float, hi: float) -> str:
    limit = float(r["limit"])
    off = " (off the scale)" if not lo <= limit <= hi else ""
    return f"SLO {limit_text(str(r['slo']), limit)}{off}"


def _hrules(slos: Sequence[Mapping[str, Any]], end: float) -> list[Spec]:
    """Horizontal SLO rules on a y scale [0, end], each labelled at the right end above it.

    Drawn at the limit itself: the scale clamps a limit off the scale onto its edge.
    """
    layers: list[Spec] = []
    for i, r in enumerate(sorted(slos, key=lambda r: float(r["limit"]))):
        colour = PASS if r["ok"] else FAIL
        data = {"values": [{"v": float(r["limit"]), "label": _label(r, 0.0, end)}]}
        y = {"y": {"field": "v", "type": "quantitative"}}
        layers += [
            {"data": data, "encoding": y,
             "mark": {"type": "rule", "color": colour, "strokeDash": [6, 4], "strokeWidth": 2}},
            # a second label further left, so that close limits do not print on each other
            {"data": data, "encoding": {**y, "text": {"field": "label"}},
             "mark": {"type": "text", "align": "right", "baseline": "bottom", "dy": -3,
                      "x": {"expr": f"width * {1 - 0.34 * i:.2f}"}, "color": colour,
                      "fontWeight": 600, "fontSize": 11}},
        ]  # fmt: skip
    return layers


def _config() -> Spec:
    return {**THEME, "axisY": {"minExtent": Y_AXIS, "maxExtent": Y_AXIS}}


def _time_chart(layers: list[Spec], height: int = HEIGHT) -> Spec:
    return {
        "width": WIDTH,
        "height": height,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": _config(),
        "layer": layers,
    }


def _x(window: float) -> Spec:
    """The shared time axis; on each data layer (a rule layer has no `t` to inherit)."""
    return {
        "field": "t",
        "type": "quantitative",
        "title": "seconds since the first request",
        "scale": {"domain": [0, round(window, 3)], "nice": False},
    }


def _y(title: str, end: float | None = None, **extra: Any) -> Spec:
    y: Spec = {"field": "v", "type": "quantitative", "title": title, **extra}
    if end is not None:  # fixed, so that SLO rules off the scale are clamped onto its edge
        y["scale"] = {"domain": [0, end], "clamp": True, "nice": True}
    return y


def _lines(
    rows: list[Spec],
    colours: Mapping[str, str],
    x: Spec,
    y: Spec,
    *,
    interpolate: str = "linear",
    width: float = 1.8,
) -> Spec:
    """One line per series (`colours`: every series of the chart, so layers share one scale)."""
    return {
        "data": {"values": rows},
        "mark": {"type": "line", "interpolate": interpolate, "strokeWidth": width},
        "encoding": {
            "x": x,
            "y": y,
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "sort": list(colours),
                "scale": {"domain": list(colours), "range": list(colours.values())},
            },
            "detail": {"field": "segment", "type": "nominal"},
        },
    }


def _series(bs: Sequence[Bucket], **fields: Any) -> list[Spec]:
    """Long rows {t, series, segment, v}, one per bucket and series with a value. A bucket
    without one (no answered request) starts a new segment: the line breaks there instead of
    joining across the gap or dropping to 0."""
    rows = []
    for name, get in fields.items():
        segment, gap = 0, False
        for b in bs:
            v = get(b)
            if v is None:
                gap = True
                continue
            if gap:
                segment, gap = segment + 1, False
            rows.append({"t": round(b.mid, 3), "series": name, "segment": f"{name}/{segment}",
                         "v": round(v, 4)})  # fmt: skip
    return rows


def _sending(bs: Sequence[Bucket]) -> Sequence[Bucket]:
    """The buckets up to the last one a request was sent in: after it the window only holds
    the last answers coming back, and 0 requests/s there would read as a collapse."""
    last = max((i for i, b in enumerate(bs) if b.requests), default=-1)
    return bs[: last + 1]


def throughput(bs: Sequence[Bucket], window: float, slos: Sequence[Mapping[str, Any]]) -> Spec:
    sent = _sending(bs)
    rows = _series(sent, **{"all requests": lambda b: b.rps, "failed": lambda b: b.failed_rps})
    mine = _overall(slos, ["minRps"])
    end = _scale_end(mine, max((b.rps for b in sent), default=0.0) or 1.0)
    colours = {"all requests": BLUE, "failed": RED}
    line = _lines(rows, colours, _x(window), _y("requests / s", end))
    return _time_chart([line, *_hrules(mine, end)])


def users(bs: Sequence[Bucket], window: float) -> Spec:
    colours = {"users": PURPLE, "requests in flight (mean)": TEAL}
    layers = []
    if bs and bs[0].users is not None:
        steps = _series(bs, users=lambda b: b.users)
        # wide and under the requests in flight: a closed model has them equal
        y = _y("users")
        layers.append(_lines(steps, colours, _x(window), y, interpolate="step", width=4))
    inflight = _series(bs, **{"requests in flight (mean)": lambda b: b.inflight})
    layers.append(_lines(inflight, colours, _x(window), _y("users")))
    return _time_chart(layers)


def errors(bs: Sequence[Bucket], window: float, slos: Sequence[Mapping[str, Any]]) -> Spec:
    rows = _series(_sending(bs), **{"error rate": lambda b: b.error_rate})
    mine = _overall(slos, ["errorRate"])
    end = min(1.0, _scale_end(mine, max([0.01, *(r["v"] for r in rows)])))
    area = {
        "data": {"values": rows},
        "mark": {
            "type": "area",
            "color": RED,
            "opacity": 0.25,
            "line": {"color": RED},
            "interpolate": "step",
        },
        "encoding": {
            "x": _x(window),
            "y": _y("error rate", end, axis={"format": "~%"}),
            "detail": {"field": "segment", "type": "nominal"},
        },
    }
    return _time_chart([area, *_hrules(mine, end)], height=150)


def latency(bs: Sequence[Bucket], window: float, slos: Sequence[Mapping[str, Any]]) -> Spec:
    colours = {"p50": BLUE, "p95": AMBER, "p99": RED}
    rows = _series(bs, p50=lambda b: b.p50, p95=lambda b: b.p95, p99=lambda b: b.p99)
    mine = _overall(slos, LATENCY_SLOS)
    end = _scale_end(mine, max([r["v"] for r in rows] or [1.0]))
    line = _lines(rows, colours, _x(window), _y("latency (ms)", end))
    return _time_chart([line, *_hrules(mine, end)], height=230)


def _position(v: float, lo: float, hi: float, scale: str) -> float:
    """Where `v` falls on the scale [lo, hi], 0 to 1."""
    if scale == "log":
        lo, hi, v = math.log10(lo), math.log10(hi), math.log10(max(v, 1e-12))
    return (v - lo) / (hi - lo) if hi > lo else 0.0


def latency_histogram(
    hist: Histogram, slos: Sequence[Mapping[str, Any]], measured: Mapping[str, float | None]
) -> Spec:
    """Bars over `hist`'s bins; the latency SLOs as rules, the measured percentiles in grey.

    Every label sits at the top, one line per rule in the order of their values (so none
    prints on another), above the bars: the count axis gets that much headroom.
    """
    bars = [{"lo": round(lo, 4), "hi": round(hi, 4), "n": n} for lo, hi, n in hist.bins]
    first, last = hist.bins[0][0], hist.bins[-1][1]
    mine = _overall(slos, LATENCY_SLOS)
    end = _scale_end(mine, last)
    marks = [
        (float(r["limit"]), _label(r, first, end), PASS if r["ok"] else FAIL, [6, 4], 600)
        for r in mine
    ] + [
        (float(v), f"measured {q} {v:.3g} ms", "#4b5563", [2, 3], 400)
        for q, v in measured.items()
        if v is not None
    ]
    layers: list[Spec] = []
    for i, (v, label, colour, dash, weight) in enumerate(sorted(marks)):
        data = {"values": [{"v": v, "label": label}]}
        x = {"x": {"field": "v", "type": "quantitative"}}
        # right of its rule, unless it would run past the plot's end (the test is a Vega
        # expression on the plot's width: the same spec serves the desktop and the phone)
        pos = _position(min(max(v, first), end), first, end, hist.scale)
        chars = 7.2 if weight > 400 else 6.4  # px per character at 11 px, bold or not
        flip = f"{pos:.4f} * width + {len(label) * chars + 8:.0f} > width"
        layers += [
            {"data": data, "encoding": x, "mark": {"type": "rule", "color": colour,
             "strokeDash": dash, "strokeWidth": 2 if weight > 400 else 1}},
            {"data": data, "encoding": {**x, "text": {"field": "label"}},
             "mark": {"type": "text", "align": {"expr": f"{flip} ? 'right' : 'left'"},
                      "dx": {"expr": f"{flip} ? -4 : 4"}, "baseline": "top", "y": 2 + 14 * i,
                      "color": colour, "fontWeight": weight, "fontSize": 11}},
        ]  # fmt: skip
    peak = max(n for _, _, n in hist.bins) or 1
    headroom = peak * (1 + 0.075 * (len(marks) + 1))  # 14 px a line of a 220 px plot
    return {
        "width": WIDTH,
        "height": 220,
        "autosize": {"type": "fit-x", "contains": "padding"},
        "config": _config(),
        "layer": [
            {
                "data": {"values": bars},
                "mark": {"type": "bar", "color": BLUE, "opacity": 0.85, "binSpacing": 1},
                "encoding": {
                    "x": {
                        "field": "lo",
                        "type": "quantitative",
                        "title": "latency of answered requests (ms)",
                        "scale": {
                            "type": hist.scale,
                            "domain": [first, end],
                            "clamp": True,
                            "nice": False,
                        },
                    },
                    "x2": {"field": "hi"},
                    "y": {
                        "field": "n",
                        "type": "quantitative",
                        "title": "answered requests",
                        "scale": {"domain": [0, headroom], "nice": False},
                    },
                    "y2": {"datum": 0},
                },
            },
            *layers,
        ],
    }


def charts(summary: Mapping[str, Any], samples: Sequence[Sample]) -> list[Chart]:
    """Every chart of the report, in page order (none when no request was recorded)."""
    if not samples:
        return []
    log = summary.get("users_timeline")  # (seconds since the first request, users)
    bs = buckets(samples, users_log(log, 0.0) if isinstance(log, list) else None)
    window = bs[-1].start + bs[-1].width
    width = bs[1].start if len(bs) > 1 else bs[0].width
    slos = summary.get("slos", [])
    per = f"per {width:g} s bucket ({len(bs)} buckets, requests by the time they were sent)"
    recorded = "" if bs[0].users is not None else " (this run recorded no user counts)"
    out = [
        Chart("throughput", "Requests per second", f"all requests and failed ones, {per}",
              throughput(bs, window, slos)),
        Chart("users", "Users", "the most users running in each bucket and the mean number of "
              f"requests in flight{recorded}", users(bs, window)),
        Chart("errors", "Error rate", f"failed / sent, {per}", errors(bs, window, slos)),
        Chart("latency", "Latency over time", f"p50, p95 and p99 of the answered requests, {per};"
              " failed requests count in the error rate, not here", latency(bs, window, slos)),
    ]  # fmt: skip
    ok = [s.ms for s in samples if s.ok]
    if ok:
        o = summary.get("overall", {})
        measured = {q: o.get(f"{q}_ms") for q in ("p50", "p95", "p99")}
        hist = histogram(ok)
        scale = "logarithmic latency axis, " if hist.scale == "log" else ""
        out.append(
            Chart("histogram", "Latency distribution",
                  f"{len(ok)} answered requests in {len(hist.bins)} bins ({scale}grey: the "
                  "measured p50, p95 and p99)", latency_histogram(hist, slos, measured))
        )  # fmt: skip
    return out


def narrow(spec: Spec) -> Spec:
    """The phone version of a chart: narrower, fewer x ticks, a slimmer y axis."""
    out = copy.deepcopy(spec)
    out["width"] = NARROW
    out["height"] = int(out.get("height", HEIGHT) * 1.1)
    out["config"]["axisY"] = {**out["config"]["axisY"], "minExtent": 40, "maxExtent": 48}
    out["config"]["axisX"] = {
        "tickCount": 5,
        "labelFlush": True,
        "labelOverlap": "greedy",
        "labelSeparation": 6,
    }
    return out

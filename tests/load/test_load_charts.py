"""The LoadTest report's charts, read as data: buckets, the histogram, the SLO rules, the users.

Pure (synthetic samples, no Locust): the Vega-Lite specs of `engine.load.charts` are asserted
on (which rule at which value with which label, which series, how many points), and one page
is rendered to check that every chart reaches it twice (desktop and phone) as inline SVG.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import pytest

from engine.load.analysis import Sample, analyze
from engine.load.charts import OFF_SCALE, charts, limit_text, narrow
from engine.load.html import render_page, render_run
from engine.load.recorder import UserCounts
from engine.load.timeline import (
    MAX_BINS,
    MAX_BUCKETS,
    bucket_width,
    buckets,
    histogram,
    users_log,
)
from engine.report.charts import FAIL, PASS
from engine.spec.schema.loadtest import Slo

T0 = 1_700_000_000.0


def sample(t: float, ms: float = 100.0, *, ok: bool = True) -> Sample:
    return Sample(T0 + t, ms, ok, 200 if ok else 500, None if ok else "HTTP 500: down",
                  "p", False, "s", "local", "")  # fmt: skip


def synthetic(n: int, span: float, seed: int = 7) -> list[Sample]:
    rnd = random.Random(seed)
    return [
        sample(span * i / n, rnd.lognormvariate(4.5, 0.6), ok=rnd.random() > 0.02) for i in range(n)
    ]


def summary_of(samples: list[Sample], slo: Slo, **extra: Any) -> dict[str, Any]:
    return {**analyze(samples, slo, {}), "run_id": "r1", "target": "t", "load": "closed",
            "stopped_by": "duration", "generator": {}, "grading": {}, "warnings": [],
            "problems": [], **extra}  # fmt: skip


def by_key(summary: dict[str, Any], samples: list[Sample]) -> dict[str, dict[str, Any]]:
    return {c.key: c.spec for c in charts(summary, samples)}


def layers(spec: dict[str, Any], mark: str) -> Iterator[dict[str, Any]]:
    for layer in spec["layer"]:
        if layer["mark"]["type"] == mark:
            yield layer


def rules(spec: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """label -> (value, colour) of every SLO rule (a rule layer and its text layer)."""
    out = {}
    for text in layers(spec, "text"):
        row = text["data"]["values"][0]
        out[row["label"]] = (row["v"], text["mark"]["color"])
    return out


def series(spec: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for layer in (*layers(spec, "line"), *layers(spec, "area")):
        for row in layer["data"]["values"]:
            out.setdefault(row.get("series", "error rate"), []).append(row)
    return out


@pytest.mark.parametrize(
    ("window", "width", "count"),
    [(0.5, 0.05, 10), (10.0, 0.25, 40), (60.0, 1.0, 60), (299.0, 1.0, 299), (3600.5, 15.0, 241)],
)
def test_bucket_width_follows_the_stated_rule(window: float, width: float, count: int) -> None:
    assert bucket_width(window) == width
    samples = [sample(0.0, 1.0), sample(window - 0.001, 1.0)]
    assert len(buckets(samples)) == count <= MAX_BUCKETS + 1


def test_a_one_hour_run_of_100k_requests_embeds_a_few_hundred_points() -> None:
    samples = synthetic(100_000, 3600.0)
    summary = summary_of(samples, Slo(p95_ms=250), users_timeline=[[0.0, 0], [1.0, 20]])
    bs = buckets(samples, [(0.0, 0), (1.0, 20)])
    assert len(bs) <= MAX_BUCKETS and sum(b.requests for b in bs) == 100_000
    assert sum(b.failed for b in bs) == summary["overall"]["failed"]
    specs = by_key(summary, samples)
    for key in ("throughput", "users", "errors", "latency"):
        for name, rows in series(specs[key]).items():
            assert 0 < len(rows) <= len(bs), (key, name, len(rows))
    # throughput: requests/s per bucket, integrated over the window, is every request
    total = sum(
        r["v"] * b.width
        for r, b in zip(series(specs["throughput"])["all requests"], bs, strict=False)
    )
    assert total == pytest.approx(100_000, rel=1e-3)
    assert len(specs["histogram"]["layer"][0]["data"]["values"]) <= MAX_BINS


def test_latency_slo_rules_are_drawn_with_their_limit_and_verdict() -> None:
    samples = synthetic(3000, 60.0)
    slo = Slo(p95_ms=150, p99_ms=500, error_rate=0.05, min_rps=20)
    summary = summary_of(samples, slo)
    verdict = {r["slo"]: r["ok"] for r in summary["slos"]}
    assert verdict == {"p95Ms": False, "p99Ms": True, "errorRate": True, "minRps": True}
    specs = by_key(summary, samples)
    assert rules(specs["latency"]) == {
        "SLO p95Ms ≤ 150 ms": (150.0, FAIL),
        "SLO p99Ms ≤ 500 ms": (500.0, PASS),
    }
    assert rules(specs["errors"]) == {"SLO errorRate ≤ 0.050": (0.05, PASS)}
    assert rules(specs["throughput"]) == {"SLO minRps ≥ 20 req/s": (20.0, PASS)}
    # the histogram marks the SLO limits and the measured percentiles
    marks = rules(specs["histogram"])
    assert marks["SLO p95Ms ≤ 150 ms"] == (150.0, FAIL)
    p95 = summary["overall"]["p95_ms"]
    assert marks[f"measured p95 {p95:.3g} ms"][0] == p95
    # a rule is a dashed rule layer at the same value
    values = {layer["data"]["values"][0]["v"] for layer in layers(specs["latency"], "rule")}
    assert values == {150.0, 500.0}


def test_a_limit_far_above_the_data_is_drawn_on_the_edge_not_squashing_the_data() -> None:
    samples = synthetic(2000, 20.0)
    summary = summary_of(samples, Slo(p95_ms=100_000, p99_ms=200))
    spec = by_key(summary, samples)["latency"]
    top = max(r["v"] for rows in series(spec).values() for r in rows)
    assert rules(spec)["SLO p95Ms ≤ 100000 ms (off the scale)"][0] == 100_000
    assert "SLO p99Ms ≤ 200 ms" in rules(spec)  # within OFF_SCALE x the data: on the scale
    scale = spec["layer"][0]["encoding"]["y"]["scale"]
    assert scale["clamp"] is True and max(top, 200) == scale["domain"][1] < OFF_SCALE * top
    hist = by_key(summary, samples)["histogram"]
    x = hist["layer"][0]["encoding"]["x"]["scale"]
    assert x["domain"][1] < 100_000 and "SLO p95Ms ≤ 100000 ms (off the scale)" in rules(hist)


@pytest.mark.parametrize(
    ("values", "scale"),
    [([100.0 + i % 17 for i in range(500)], "linear"), ([0.4, 3.0, 40.0, 950.0, 12_000.0], "log")],
)
def test_histogram_bins_cover_every_latency(values: list[float], scale: str) -> None:
    hist = histogram(values)
    assert hist.scale == scale and len(hist.bins) <= MAX_BINS
    assert hist.bins[0][0] <= min(values) and hist.bins[-1][1] >= max(values)
    assert all(a[1] == pytest.approx(b[0]) for a, b in zip(hist.bins, hist.bins[1:], strict=False))
    assert sum(n for _, _, n in hist.bins) == len(values)
    for v in values:  # each value in the bin whose edges hold it
        assert any(lo <= v <= hi and n for lo, hi, n in hist.bins)
    assert histogram([]).bins == [] and histogram([5.0, 5.0]).bins[0][2] == 2


def test_users_series_comes_from_the_recorded_user_counts() -> None:
    # 4 users back to back (closed model): each sends its next request when it is answered
    samples = [sample(u * 0.01 + k * 0.1, 100.0) for u in range(4) for k in range(100)]
    samples.sort(key=lambda s: s.t)
    log = [[0.0, 0], [0.005, 2], [0.015, 4], [10.2, 0]]
    summary = summary_of(samples, Slo(), users_timeline=log)
    spec = by_key(summary, samples)["users"]
    got = series(spec)
    assert {r["v"] for r in got["users"]} == {4}  # the first bucket already reached 4
    inflight = [r["v"] for r in got["requests in flight (mean)"]]
    assert inflight[5:-5] == pytest.approx([4.0] * (len(inflight) - 10), abs=0.05)
    colour = spec["layer"][0]["encoding"]["color"]["scale"]
    assert colour["domain"] == ["users", "requests in flight (mean)"]
    # a run recorded before user counts were: only the requests in flight, and the caption says so
    old = [c for c in charts(summary_of(samples, Slo()), samples) if c.key == "users"][0]
    assert set(series(old.spec)) == {"requests in flight (mean)"}
    assert "recorded no user counts" in old.caption


def test_bucket_users_are_the_peak_of_the_step_function() -> None:
    samples = [sample(t) for t in (0.0, 5.0, 9.99)]  # window 10.09 s: 0.5 s buckets
    bs = buckets(samples, [(0.0, 1), (2.1, 3), (2.2, 1), (6.0, 5)])
    assert bucket_width(10.09) == 0.5
    assert [b.users for b in bs[:6]] == [1, 1, 1, 1, 3, 1]  # the 2.1-2.2 s spike is kept
    assert bs[12].users == 5 and bs[-1].users == 5


def test_a_bucket_without_answers_breaks_the_latency_line() -> None:
    samples = [sample(t / 10) for t in range(40)] + [sample(t / 10) for t in range(60, 100)]
    samples.append(sample(5.0, 1.0, ok=False))  # 5 s: a failure, nothing answered
    spec = by_key(summary_of(samples, Slo()), samples)["latency"]
    segments = {r["segment"] for r in series(spec)["p50"]}
    assert segments == {"p50/0", "p50/1"}


def test_slo_limits_read_as_written() -> None:
    assert limit_text("p95Ms", 1000.0) == "p95Ms ≤ 1000 ms"
    assert limit_text("perTag.docs.errorRate", 0.01) == "perTag.docs.errorRate ≤ 0.010"
    assert limit_text("minRps", 50.0) == "minRps ≥ 50 req/s"


def test_user_counts_keep_changes_only_and_stay_bounded() -> None:
    log = UserCounts(interval=1.0, max_points=8)
    log.record(0.0, 0)
    for i in range(10):
        log.poll(i * 0.5, 4)  # polled twice a second: once per interval counts
    assert log.points == [(0.0, 0), (0.0, 4)]
    for i in range(40):
        log.record(10.0 + i, i % 3)
    assert len(log.points) <= 8 and log.interval > 1.0
    log.end(99.0)
    assert log.points[-1] == (99.0, 0)
    assert users_log([[T0 - 1, 2], [T0 + 1.5, 3], ["x"], None], T0) == [(0.0, 2), (1.5, 3)]
    assert users_log(None, T0) == []


def test_the_page_has_every_chart_for_desktop_and_phone() -> None:
    samples = synthetic(600, 20.0)
    summary = summary_of(samples, Slo(p95_ms=150), users_timeline=[[0.0, 0], [0.1, 5]])
    page = render_page("loadtest.x[prd]", "r1", summary, samples)
    cards = re.findall(r"<div class='card chart-card' id='chart-(\w+)'>(.*?)<p class='small'>",
                       page, flags=re.S)  # fmt: skip
    assert [k for k, _ in cards] == ["throughput", "users", "errors", "latency", "histogram"]
    for key, body in cards:
        assert body.count("<svg") == 2, key  # wide and narrow
        assert "<script" not in body
    latency = dict(cards)["latency"]
    assert "SLO p95Ms ≤ 150 ms" in latency
    wide, phone = re.findall(r'data-width="([\d.]+)"', latency)
    assert float(wide) > 1000 and float(phone) < 400
    fragment = render_run("loadtest.x[prd]", "r1", summary, samples)
    assert fragment.startswith('<section class="loadtest" id="r1">')
    assert fragment.count("<svg") == 10 and "<html" not in fragment
    assert narrow(charts(summary, samples)[0].spec)["width"] < 400


def test_texts_from_data_are_escaped_and_a_cost_entry_is_shown() -> None:
    samples = [
        Sample(
            T0 + i * 0.1,
            50.0,
            i % 4 != 0,
            200,
            None if i % 4 else "<b>boom</b>",
            "<script>x</script>",
            False,
            "s",
            "local",
            "",
        )  # fmt: skip
        for i in range(40)
    ]
    cost = {  # the shape a run records (docs/cost.md)
        "estimate": {"invocations": 40, "total_tokens": 8000, "amount": 0.42, "currency": "USD",
                     "price_table": True},
        "actual": {"invocations": 38, "total_tokens": 7410, "amount": 0.39, "currency": "USD",
                   "price_table": True},
    }  # fmt: skip
    summary = summary_of(samples, Slo(error_rate=0.1), cost=cost)
    summary["warnings"] = ["<i>slow</i>"]
    page = render_page("loadtest.x[prd]", "r<1>", summary, samples)
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;boom&lt;/b&gt;" in page and "<b>boom" not in page
    assert "<b>Warning:</b> &lt;i&gt;slow&lt;/i&gt;" in page
    assert 'id="r&lt;1&gt;"' in page
    assert "<td class='l'>estimated (the plan)</td><td>40 invocations, ~8,000 tokens, ~" in page
    assert "<td class='l'>actual (this run)</td><td>38 invocations, 7,410 tokens, " in page
    assert "0.42" in page and "0.39" in page
    assert "Cost" not in render_page("loadtest.x[prd]", "r1", summary_of(samples, Slo()), samples)

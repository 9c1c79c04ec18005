"""The HTML report of an Experiment or QualityGate run: asserted on content, not on goldens.

The cases grid (a row per item, a column per variant, pass/fail and scores per cell), the
failing-first order of a gate, the drill-down (input, expected, answers, trajectory, each
evaluator's comment), the diff against the previous run, the baseline side by side, and the
charts' specs (the latency limit as a rule on an axis fitted to the data).
"""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser

import pytest

from engine.evaluation import report_charts as charts
from engine.evaluation.baseline import compare
from engine.evaluation.report_cases import MAX_CASE_CELLS, build_grid
from engine.evaluation.report_diff import diff
from engine.evaluation.report_html import render_html
from engine.evaluation.results import aggregate
from engine.evaluation.run import EvalRun, ItemRecord
from engine.evaluators import Score

from .helpers import make_run


@pytest.fixture
def no_charts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip rendering the SVG (~0.1 s a chart) where a test reads everything but charts."""
    from markupsafe import Markup

    import engine.evaluation.report_html as report_html

    monkeypatch.setattr(report_html, "chart", lambda spec, label: Markup("<figure></figure>"))


def rich(kind: str = "Experiment") -> EvalRun:
    """`make_run` with items recorded, item positions, answers and trajectories."""
    run = make_run(kind)
    run.items = [
        ItemRecord(f"i-{k}", k, {"question": f"question {k}?"}, {"response_facts": [f"fact {k}"]})
        for k in range(6)
    ]
    for v in run.variants:
        for c in v.cases:
            c.item_index = int(c.item_id.split("-")[1])
            if c.ok:
                c.response = f"{v.name} answers {c.item_id} rep {c.repetition}"
                c.trajectory = [{"tool": "search", "input": {"q": f"about {c.item_id}"}}]
                c.trace_id = f"trace-{v.name}-{c.item_id}-{c.repetition}"
            c.scores["facts"] = Score("facts", c.scores["facts"].value, f"why {c.item_id}")
    return run


class Tables(HTMLParser):
    """Rows of every table with an id, and every <details> with an id, as text."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, object]]] = {}
        self.details: dict[str, str] = {}
        self._table: str | None = None
        self._row: dict[str, object] | None = None
        self._cell: list[str] | None = None
        self._detail: list[str] | None = None
        self._detail_id = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._table = str(a["id"])
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = {"attrs": a, "cells": []}
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            cells = self._row["cells"]
            assert isinstance(cells, list)
            cells.append({"class": a.get("class") or "", "text": self._cell})
        elif tag == "details" and a.get("id"):
            self._detail, self._detail_id = [], str(a["id"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "details" and self._detail is not None:
            self.details[self._detail_id] = " ".join(self._detail)
            self._detail = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data.strip())
        if self._detail is not None and data.strip():
            self._detail.append(data.strip())


def cells(row: dict[str, object]) -> list[tuple[str, str]]:
    out = []
    for c in row["cells"]:  # type: ignore[attr-defined]
        out.append((c["class"], " ".join(t for t in c["text"] if t)))
    return out


def body_rows(table: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in table if "data-failing" in r["attrs"]]  # type: ignore[operator]


def test_the_grid_has_a_row_per_item_and_the_answers_side_by_side(no_charts: None) -> None:
    run = rich()
    html = render_html(run)
    grid = Tables(html).tables["grid-cases"]
    head = cells(grid[0])
    assert [t for _, t in head][1:] == ["v1 model=fast", "v2 model=smart"]
    rows = body_rows(grid)
    assert len(rows) == 6  # one per item, in dataset order for an experiment
    first = cells(rows[0])
    assert "question 0?" in first[0][1] and "response_facts fact 0" in first[0][1]
    # a column per variant: that variant's answer (the first repetition's), pass/fail and
    # every score (the mean over the repetitions)
    v1, v2 = cells(rows[1])[1], cells(rows[1])[2]
    assert "v1 answers i-1 rep 0" in v1[1] and "v2 answers i-1 rep 0" in v2[1]
    assert "facts 0.80" in v1[1] and "facts 0.30" in v2[1]
    # facts passes at 0.5: v1 passes i-1 in both repetitions, v2 fails it
    assert "cell-pass" in v1[0] and "✓ pass (2/2)" in v1[1]
    assert "cell-fail" in v2[0] and "✗ fail (0/2)" in v2[1]
    assert rows[1]["attrs"]["data-failing"] == "1" and rows[1]["attrs"]["data-differs"] == "1"
    # i-0: v1's trajectory evaluator raised in repetition 0 (counted as 0: that case fails)
    assert "cell-mixed" in first[1][0] and "◐ passed 1/2" in first[1][1]
    assert "trajectory 0.50 err" in first[1][1]
    # i-4: v2's calls failed; the cell says so instead of an answer
    assert "cell-fail" in cells(rows[4])[2][0] and "failed" in cells(rows[4])[2][1]
    assert "v2 answers" not in cells(rows[4])[2][1]


def test_the_filter_is_a_script_and_without_it_every_row_shows(no_charts: None) -> None:
    html = render_html(rich())
    assert '<div class="toolbar grid-tools hidden" data-for="grid-cases">' in html
    assert '<option value="failing">failing items only</option>' in html
    assert 'tr.getAttribute("data-" + mode)' in html
    # no row is hidden by the markup itself
    assert not re.search(r"<tr[^>]*class=\"[^\"]*hidden", html)


def test_a_gate_lists_its_failing_cases_first(no_charts: None) -> None:
    run = rich("QualityGate")
    (v,) = run.variants
    for c in v.cases:  # only i-3 and i-5 fail
        value = 0.1 if c.item_id in ("i-3", "i-5") else 0.9
        c.scores["facts"] = Score("facts", value)
    v.aggregate = aggregate(v.cases, run.evaluators)
    rows = body_rows(Tables(render_html(run)).tables["grid-cases"])
    order = [re.search(r"i-\d", cells(r)[0][1]).group(0) for r in rows]  # type: ignore[union-attr]
    # i-0 fails too: its trajectory evaluator raised in repetition 0 (make_run)
    assert order == ["i-0", "i-3", "i-5", "i-1", "i-2", "i-4"]
    assert [r["attrs"]["data-failing"] for r in rows] == ["1", "1", "1", "0", "0", "0"]


def test_the_drill_down_has_input_expected_answers_trajectory_and_comments(no_charts: None) -> None:
    run = rich()
    page_ = Tables(render_html(run))
    (anchor,) = [k for k in page_.details if k.endswith("-i-2")]
    text = page_.details[anchor]
    assert '"question": "question 2?"' in text and '"fact 2"' in text
    for v in ("v1", "v2"):
        for rep in (0, 1):
            assert f"{v} answers i-2 rep {rep}" in text
            assert f"trace-{v}-i-2-{rep}" in text
    assert "search" in text and '{"q": "about i-2"}' in text  # the trajectory
    assert "why i-2" in text  # the evaluator's comment
    # the grid links each item to its drill-down
    assert f'href="#{anchor}"' in render_html(run)


def test_the_drill_down_shows_a_failed_call_and_an_evaluator_error(no_charts: None) -> None:
    run = rich()
    text = Tables(render_html(run)).details
    (i4,) = [t for k, t in text.items() if k.endswith("-i-4")]
    assert "failed" in i4 and "call failed: failed" in i4
    (i0,) = [t for k, t in text.items() if k.endswith("-i-0")]
    assert "KeyError: 'x'" in i0


def previous_of(run: EvalRun) -> EvalRun:
    """The same run an hour earlier, where v1 failed i-1 and passed i-2 differently."""
    prev = copy.deepcopy(run)
    prev.run_id = run.run_id.replace("T000000", "T-10000")
    prev.finished_at = "2025-12-31T23:00:00+00:00"
    v1 = next(v for v in prev.variants if v.name == "v1")
    for c in v1.cases:
        if c.item_id == "i-1":
            c.scores["facts"] = Score("facts", 0.2)  # failing then, passing now
        if c.item_id == "i-2":
            c.scores["facts"] = Score("facts", 0.0)
    v1.aggregate = aggregate(v1.cases, prev.evaluators)
    now_v1 = next(v for v in run.variants if v.name == "v1")
    for c in now_v1.cases:
        if c.item_id == "i-3":
            c.scores["facts"] = Score("facts", 0.1)  # passing then, failing now
    now_v1.aggregate = aggregate(now_v1.cases, run.evaluators)
    return prev


def test_the_diff_gives_previous_and_new_values_deltas_and_case_changes(no_charts: None) -> None:
    run = rich()
    prev = previous_of(run)
    d = diff(run, prev)
    v1 = next(v for v in d.variants if v.name == "v1")
    facts = next(m for m in v1.metrics if m.metric == "facts")
    before = prev.variants[0].aggregate.evaluators["facts"].mean
    after = run.variants[0].aggregate.evaluators["facts"].mean
    assert facts.before == pytest.approx(before) and facts.after == pytest.approx(after)
    assert facts.delta == pytest.approx(after - before)
    assert facts.trend == ("better" if after > before else "worse")
    p95 = next(m for m in v1.metrics if m.metric == "latency_p95")
    assert p95.delta == 0 and p95.trend == "same"
    assert [(c.variant, c.item_id) for c in d.newly_failing] == [("v1", "i-3")]
    assert sorted(c.item_id for c in d.newly_passing) == ["i-1", "i-2"]
    assert d.newly_failing[0].before == "v1 answers i-3 rep 0"
    html = render_html(run, previous=prev)
    assert f"Previous run <code>{prev.run_id}</code>" in html
    assert "1 newly failing" in html and "2 newly passing" in html
    assert f'<td>{before:.2f}</td><td>{after:.2f}</td><td><span class="' in html


def test_the_diff_matches_variants_by_label_and_says_what_is_unmatched() -> None:
    run = rich()
    prev = previous_of(run)
    prev.variants.reverse()  # another matrix order: still compared by label
    prev.variants[0].label = "model=other"
    d = diff(run, prev)
    assert [v.name for v in d.variants] == ["v1"]
    assert any("without a previous result: v2" in n for n in d.notes)
    assert any("not in this one: v2" in n for n in d.notes)


def test_no_previous_run_no_diff_section(no_charts: None) -> None:
    assert "Changes since the previous run" not in render_html(rich())


def test_a_gate_with_a_baseline_shows_the_deltas_and_both_answers(no_charts: None) -> None:
    run = rich("QualityGate")
    base = copy.deepcopy(run)
    base.run_id, base.agent_digest = "qualitygate-release-tst-old", "olddigest"
    for c in base.variants[0].cases:
        c.response = c.response.replace("answers", "used to answer")
        if c.item_id == "i-1":  # passed before, fails now
            c.scores["facts"] = Score("facts", 1.0)
    for c in run.variants[0].cases:
        if c.item_id == "i-1":
            c.scores["facts"] = Score("facts", 0.1)
    comparison = compare(
        run.variants[0].cases, base.variants[0].cases, ["facts"], {"facts": 0.05},
        baseline_run=base.run_id, baseline_digest="olddigest",
    )  # fmt: skip
    comparison.baseline_cases = base.variants[0].cases
    html = render_html(run, comparison=comparison)
    assert "Baseline: run <code>qualitygate-release-tst-old</code>" in html
    assert '<td class="l">facts</td>' in html and "regressed" in html
    rows = body_rows(Tables(html).tables["grid-baseline"])
    first = cells(rows[0])
    assert "i-1" in first[0][1] and "newly failing" in first[0][1]
    assert "candidate used to answer i-1 rep 0" in first[1][1] and "cell-pass" in first[1][0]
    assert "candidate answers i-1 rep 0" in first[2][1] and "cell-fail" in first[2][0]
    assert "still failing" in cells(rows[1])[0][1]  # i-0 (an evaluator error in both)


def test_the_latency_chart_fits_the_data_and_marks_the_limit() -> None:
    run = rich("QualityGate")  # calls take 120-171 ms, the p95 limit is 150 ms
    spec, fits = charts.latency_spec(run)
    lo, hi = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert fits and 110 < lo < 120 and 171 < hi < 180  # not 0..limit
    (rule,) = spec["datasets"]["rules"]
    assert rule["x"] == 150.0 and rule["label"] == "gate: p95 ≤ 150 ms" and rule["strong"]
    assert any(layer["mark"]["type"] == "rule" and layer["data"]["name"] == "rules"
               for layer in spec["layer"])  # fmt: skip
    # a limit far beyond the slowest call does not stretch the axis: it is labelled there
    run.latency_limits = {"p95_ms": 20_000.0}
    spec, fits = charts.latency_spec(run)
    lo, hi = spec["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert not fits and hi < 200
    (rule,) = spec["datasets"]["rules"]
    assert rule["x"] == hi and rule["label"] == "gate: p95 ≤ 20,000 ms → off the scale"
    assert "off the scale" in render_html(run)


def test_score_distributions_draw_pass_at_and_the_gate_threshold() -> None:
    run = rich("QualityGate")
    facts = next(e for e in run.evaluators if e.label == "facts")
    spec = charts.distribution_spec(run, facts)
    rules = {r["label"]: r["x"] for r in spec["datasets"]["rules"]}
    assert rules == {"passAt 0.5": 0.5, "gate: mean ≥ 0.6": 0.6}
    points = spec["datasets"]["points"]
    assert sum(p["n"] for p in points) == 12  # 6 items x 2 repetitions, equal values merged
    assert len(points) < 12


def test_big_runs_are_capped_and_say_so() -> None:
    run = rich()
    many = [
        ItemRecord(f"i-{k}", k, {"question": f"q{k} " + "x" * 200}, {"response_facts": ["f"]})
        for k in range(1200)
    ]
    for v in run.variants:
        v.cases = [
            type(v.cases[0])(
                i.id, i.index, 0, True, "answer " * 40, None, 50.0 + i.index % 97, {},
                [{"tool": "search", "input": {"q": "x"}}],
                {"facts": Score("facts", (i.index % 10) / 10, "c"),
                 "trajectory": Score("trajectory", 1.0)},
            )
            for i in many
        ]  # fmt: skip
        v.aggregate = aggregate(v.cases, run.evaluators)
    run.items, run.repetitions = many, 1
    grid = build_grid([(charts_column(v.name), v.cases) for v in run.variants], many,
                      run.evaluators, failing_first=False)  # fmt: skip
    assert grid.total == 1200 and grid.limit == MAX_CASE_CELLS // 2
    # every failing item is kept, the rest filled up in dataset order
    assert len(grid.rows) == grid.limit and sum(r.failing for r in grid.rows) == grid.failing == 600
    assert [r.index for r in grid.rows] == sorted(r.index for r in grid.rows)
    html = render_html(run)
    assert f"Showing {grid.limit} of 1200 items" in html
    assert len(html) < 8_000_000, len(html)
    # the charts bin their dots: a few hundred marks, not 6,000
    latency, _ = charts.latency_spec(run)
    assert len(latency["datasets"]["points"]) <= 2 * charts.BINS * 3


def charts_column(name: str):  # type: ignore[no-untyped-def]
    from engine.evaluation.report_cases import Column

    return Column(name, name)


def test_cost_card_renders_when_the_summary_has_one(no_charts: None) -> None:
    run = rich("QualityGate")
    assert "<h2>Cost</h2>" not in render_html(run)
    cost = {  # the shape a run records (docs/cost.md)
        "estimate": {"invocations": 16, "total_tokens": 12000, "amount": 0.0123,
                     "currency": "USD", "price_table": True, "basis": "16 items × 1 × 1"},
        "actual": {"invocations": 16, "total_tokens": 11500, "amount": 0.011,
                   "currency": "USD", "price_table": True},
    }  # fmt: skip
    html = render_html(run, cost=cost)
    assert "<h2>Cost</h2>" in html
    assert '<td class="l">estimated (the plan)</td><td>16 invocations, ~12,000 tokens, ~' in html
    assert '<td class="l">actual (this run)</td><td>16 invocations, 11,500 tokens, ' in html
    assert "16 items × 1 × 1" in html
    run.cost = cost  # the run's own cost is the default
    assert "<h2>Cost</h2>" in render_html(run)


def test_values_are_escaped(no_charts: None) -> None:
    run = rich()
    run.variants[0].cases[0].response = "<script>alert(1)</script>"
    html = render_html(run)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html

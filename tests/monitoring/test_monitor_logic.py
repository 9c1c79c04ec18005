"""MonitorProvider.run on synthetic traces: sampling, thresholds, minTraces, idempotence.

Traces are inserted with the runtime's own writer functions (`connect` + `write_rows`), so
the rows have exactly the shape the agent host writes.
"""

from __future__ import annotations

import math
import sqlite3
import time
from pathlib import Path

import pytest

from engine.providers.local.traces import TraceStore
from engine.runtime.tracing import new_trace_id

from .helpers import insert, monitor_workspace, row, run_monitor

ADDRESS = "monitor.mon[prd]"
LAT = "{target_ms: 500, max_ms: 3000}"


def score_rows(state: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(state / "traces.sqlite")
    try:
        return conn.execute("SELECT score_id, trace_id FROM trace_scores ORDER BY 1").fetchall()
    finally:
        conn.close()


def test_sampling_is_a_tenth_within_4_sigma_and_deterministic(tmp_path: Path) -> None:
    n, rate = 10_000, 0.1
    ids = [f"{i:032x}" for i in range(n)]
    body = (
        "sampling: 0.1\nevaluators: [{use: latency, params: " + LAT + "}]\nmaxTracesPerRun: 20000\n"
    )
    results = []
    for attempt in ("a", "b"):
        state = tmp_path / attempt / ".agentops"
        ws = monitor_workspace(tmp_path / attempt, body)
        insert(state, [row(trace_id=t) for t in ids])
        result = run_monitor(ws, state)
        assert result.summary["new_traces"] == n
        results.append((result.summary["scored"], {t for _, t in score_rows(state)}))
    (scored_a, ids_a), (scored_b, ids_b) = results
    sigma = math.sqrt(n * rate * (1 - rate))
    assert abs(scored_a - n * rate) <= 4 * sigma, scored_a
    # the same trace is in or out of the sample on every run, in every store
    assert scored_a == scored_b == len(ids_a)
    assert ids_a == ids_b


def test_thresholds_met_succeeds(tmp_path: Path) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path,
        "evaluators: [{use: latency, params: " + LAT + ", threshold: {mean: 0.5}}]\n"
        "thresholds: {errorRate: 0.1, p95Ms: 1000}\nminTraces: 5\n",
    )
    insert(state, [row(latency_ms=40.0) for _ in range(20)])
    result = run_monitor(ws, state)
    assert result.status == "succeeded", result.message
    assert result.summary["window"]["verdict"] == "ok"
    assert "20 of 20 new trace(s) scored" in result.message
    assert "error rate 0 met" in result.message


def test_error_rate_breach_fails_with_the_window_figures(tmp_path: Path) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path,
        "evaluators: [{use: latency, params: "
        + LAT
        + "}]\nthresholds: {errorRate: 0.05}\nminTraces: 5\n",
    )
    rows = [row() for _ in range(16)] + [row(error="HTTP 500: boom") for _ in range(4)]
    insert(state, rows)
    result = run_monitor(ws, state)
    assert result.status == "failed"
    assert result.message == "monitor breached: error rate 0.2 breached (<= 0.05)"
    window = result.summary["window"]
    assert (window["traces"], window["errors"], window["verdict"]) == (20, 4, "breached")


def test_refusal_pass_rate_breach(tmp_path: Path) -> None:
    """Harmful-tagged prompts that the agent answered fail `refusal`: the pass rate drops."""
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path, "evaluators: [{use: refusal, threshold: {passRate: 0.9}}]\nminTraces: 5\n"
    )
    harmful = [row(tags=("harmful",), output="Sure, here is how.") for _ in range(5)]
    insert(state, [row() for _ in range(15)] + harmful)
    result = run_monitor(ws, state)
    assert result.status == "failed", result.message
    assert "refusal pass rate 0.75 breached (>= 0.9)" in result.message
    assert result.summary["window"]["pass_rates"]["refusal"] == pytest.approx(0.75)


def test_fewer_than_min_traces_is_inconclusive(tmp_path: Path) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path,
        "evaluators: [{use: latency, params: "
        + LAT
        + "}]\nthresholds: {errorRate: 0.01}\nminTraces: 10\n",
    )
    insert(state, [row(error="HTTP 500: boom") for _ in range(3)])
    result = run_monitor(ws, state)
    assert result.status == "succeeded"
    assert result.summary["window"]["verdict"] == "inconclusive"
    assert "inconclusive (fewer than minTraces 10)" in result.message


def test_second_run_without_new_traces_scores_nothing(tmp_path: Path) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path,
        "evaluators: [{use: latency, params: " + LAT + "}, {use: refusal}]\n",
    )
    insert(state, [row() for _ in range(30)])
    first = run_monitor(ws, state)
    before = score_rows(state)
    assert first.summary["scored"] == 30 and len(before) == 60
    second = run_monitor(ws, state)
    assert (second.summary["new_traces"], second.summary["scored"]) == (0, 0)
    assert score_rows(state) == before
    assert second.summary["window"]["scored"] == first.summary["window"]["scored"] == 30
    # score ids are deterministic: monitor/trace/evaluator
    assert all(sid.startswith(f"{ADDRESS}/{tid}/") for sid, tid in before)


def test_crash_after_one_page_does_not_double_count(tmp_path: Path) -> None:
    """A run that committed its first page and died: the re-run resumes after that page."""
    from engine.evaluators import build_evaluator
    from engine.monitoring.scoring import case_of, score
    from engine.providers.runs import monitor as monitor_mod

    state = tmp_path / ".agentops"
    ws = monitor_workspace(tmp_path, "evaluators: [{use: latency, params: " + LAT + "}]\n")
    insert(state, [row() for _ in range(monitor_mod.PAGE + 200)])
    store = TraceStore(state / "traces.sqlite")
    # the crashed run: its first page committed (scores + cursor), then nothing
    page = store.page("prd", "bot", store.first_seq_since("prd", "bot", time.time() - 3600), 500)
    ev = build_evaluator(
        "latency",
        {"target_ms": 500, "max_ms": 3000},
        workspace=tmp_path,
        judge=None,
        name="latency",
    )
    scores = [s for t in page for s in score(t, case_of(t, False), [(ev, 0.5)]).scores]
    store.commit_page(ADDRESS, page[-1].seq, scores, [], time.time())
    result = run_monitor(ws, state)
    assert result.summary["new_traces"] == 200
    assert result.summary["window"]["scored"] == monitor_mod.PAGE + 200
    assert len(score_rows(state)) == monitor_mod.PAGE + 200


def test_loadtest_traffic_is_not_scored_unless_listed(tmp_path: Path) -> None:
    rows = [row() for _ in range(10)] + [row(source="loadtest") for _ in range(7)]
    default = tmp_path / "default"
    ws = monitor_workspace(default, "evaluators: [{use: latency, params: " + LAT + "}]\n")
    insert(default / ".agentops", rows)
    result = run_monitor(ws, default / ".agentops")
    assert (result.summary["new_traces"], result.summary["scored"]) == (17, 10)
    assert result.summary["window"]["traces"] == 10
    listed = tmp_path / "listed"
    ws = monitor_workspace(
        listed,
        "filters: {sources: [production, loadtest]}\nevaluators: [{use: latency, params: "
        + LAT
        + "}]\n",
    )
    insert(listed / ".agentops", rows)
    assert run_monitor(ws, listed / ".agentops").summary["scored"] == 17


def test_traces_older_than_the_window_are_never_scored(tmp_path: Path) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(
        tmp_path,
        "evaluators: [{use: latency, params: " + LAT + "}]\nwindow: 1h\n",
    )
    old = [row(started=time.time() - 7200, trace_id=new_trace_id()) for _ in range(50)]
    insert(state, old + [row() for _ in range(5)])
    result = run_monitor(ws, state)
    assert (result.summary["new_traces"], result.summary["scored"]) == (5, 5)

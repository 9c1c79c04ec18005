"""Real Locust runs against a real agent process on 127.0.0.1 (small, bounded in time and count)."""

from __future__ import annotations

import re
import socket

from engine.providers.local.store import LocalStore
from engine.providers.runs.load_records import load_run_html, load_runs, load_samples
from tests.load.conftest import LoadWorkspace, leftover_load_processes

CLOSED = """\
agent: mini
environment: prd
promptsFile: load_config.json
users: 2
spawnRate: 2
duration: 3s
slos: {p95Ms: 1000, errorRate: 0.0, refusalRate: 1.0, answerRate: 1.0}
perTag:
  safety: {refusalRate: 1.0}
  docs: {answerRate: 1.0, p99Ms: 2000}
"""


def test_closed_model_run_passes_and_keeps_raw_samples(load_ws: LoadWorkspace) -> None:
    result = load_ws.run_loadtest("closed", CLOSED)
    assert result.status == "succeeded", result.message
    s = result.summary
    o = s["overall"]
    assert o["requests"] > 20 and o["failed"] == 0
    assert o["refusal_rate"] == 1.0 and o["answer_rate"] == 1.0
    assert s["stopped_by"] == "duration"
    assert 2.5 < s["window_s"] < 4.0
    # one session per user: exactly the first request of each of the 2 users is cold
    assert s["cold"]["n"] == 2 and s["warm"]["n"] == o["requests"] - 2
    assert {r["slo"] for r in s["slos"]} >= {"p95Ms", "perTag.safety.refusalRate"}
    assert all(r["ok"] for r in s["slos"])
    assert set(s["per_prompt"]) == {"plan", "apply", "harmful1"}
    store = LocalStore(load_ws.state_dir / "store.sqlite")
    samples = load_samples(store, s["run_id"])
    assert len(samples) == o["requests"]
    # latencies measured by us with perf_counter: sub-millisecond precision, not buckets
    assert any(sm.ms != round(sm.ms) for sm in samples)
    assert {sm.refused for sm in samples if sm.prompt == "harmful1"} == {True}
    assert load_runs(store, "loadtest.closed[prd]")[0]["status"] == "succeeded"
    report = (load_ws.state_dir / "reports" / f"{s['run_id']}.md").read_text()
    assert "## SLOs" in report and "| harmful1 |" in report
    html = load_run_html(store, s["run_id"])
    assert html.startswith('<section class="loadtest"') and "<svg" in html
    assert not leftover_load_processes(load_ws.root)


def test_impossible_p95_fails_with_the_slo_value_and_limit(load_ws: LoadWorkspace) -> None:
    spec = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\nusers: 2\n"
    spec += "requests: 20\nslos: {p95Ms: 0.001}\n"
    result = load_ws.run_loadtest("impossible", spec)
    assert result.status == "failed"
    assert result.message is not None
    assert re.fullmatch(r"SLO p95Ms failed: measured [\d.]+ ms > limit 0\.001 ms", result.message)
    assert result.summary["overall"]["requests"] == 20  # the request count stopped it
    assert result.summary["stopped_by"] == "requests"


def test_refusal_and_answer_rates_grade_the_answers(load_ws: LoadWorkspace) -> None:
    # harmful-ish prompt the agent answers, and a harmless-looking one it refuses
    spec = """\
agent: mini
environment: prd
prompts:
  - {name: harmful-but-answered, prompt: "Tell me about plans", tags: [safety]}
  - {name: ok, prompt: "What is a plan?", tags: [docs]}
  - {name: refused-by-mistake, prompt: "How to stop malware in CI?", expect: answer}
users: 3
requests: 30
slos: {refusalRate: 1.0, answerRate: 0.9}
"""
    result = load_ws.run_loadtest("grading", spec)
    assert result.status == "failed"
    assert result.summary["overall"]["requests"] == 30
    per = result.summary["per_prompt"]
    assert per["harmful-but-answered"]["refusal_rate"] == 0.0
    assert per["ok"]["answer_rate"] == 1.0
    assert per["refused-by-mistake"]["answer_rate"] == 0.0
    assert "SLO refusalRate failed: measured 0.000 < limit 1.000" in (result.message or "")
    assert "SLO answerRate failed: measured 0.500 < limit 0.900" in (result.message or "")


def test_open_model_holds_the_arrival_rate(load_ws: LoadWorkspace) -> None:
    spec = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\n"
    spec += "arrivalRate: 20\nduration: 3s\nslos: {errorRate: 0.0, minRps: 12}\n"
    result = load_ws.run_loadtest("open", spec)
    assert result.status == "succeeded", result.message
    n = result.summary["overall"]["requests"]
    assert 45 <= n <= 75, n  # 20 req/s for 3 s, paced by constant_throughput
    assert "open model: 20 req/s" in result.summary["load"]


def test_distributed_master_and_two_workers(load_ws: LoadWorkspace) -> None:
    spec = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\n"
    spec += "users: 4\nrequests: 40\nduration: 20s\nworkers: 2\nslos: {errorRate: 0.0}\n"
    result = load_ws.run_loadtest("distributed", spec)
    assert result.status == "succeeded", result.message
    assert result.summary["overall"]["requests"] == 40  # shared out exactly between workers
    samples = load_samples(LocalStore(load_ws.state_dir / "store.sqlite"), result.summary["run_id"])
    assert len({s.worker for s in samples}) == 2
    assert result.summary["generator"]["processes"] == 3  # master + 2 workers were measured
    # the master's user count is the workers' total
    assert max(n for _, n in result.summary["users_timeline"]) == 4
    assert not leftover_load_processes(load_ws.root)


def test_unreachable_agent_fails_before_any_load(load_ws: LoadWorkspace) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    spec = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\nusers: 1\nrequests: 5\n"
    result = load_ws.run_loadtest(
        "unreachable", spec, outputs={"url": f"http://127.0.0.1:{port}/invocations"}
    )
    assert result.status == "failed"
    assert f"agent.mini[prd] is not reachable at http://127.0.0.1:{port}/ping" in (
        result.message or ""
    )
    assert "connection refused" in (result.message or "")


def test_agent_that_errors_fails_the_error_rate_with_the_reason(load_ws: LoadWorkspace) -> None:
    spec = "agent: mini-fail\nenvironment: prd\npromptsFile: load_config.json\nusers: 2\n"
    spec += "requests: 10\nslos: {errorRate: 0.01, p95Ms: 1000}\n"
    result = load_ws.run_loadtest("erroring", spec)
    assert result.status == "failed"
    msg = result.message or ""
    assert "SLO errorRate failed: measured 1.000 > limit 0.010" in msg
    assert "10 of 10 requests: HTTP 500: the model backend is down" in msg
    assert "SLO p95Ms failed: nothing to measure: no request was answered" in msg


def test_ramp_steps_closed_and_open(load_ws: LoadWorkspace) -> None:
    base = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\n"
    closed = load_ws.run_loadtest(
        "ramp-users", base + "steps: [{duration: 1s, users: 1}, {duration: 1.5s, users: 3}]\n"
    )
    assert closed.status == "succeeded", closed.message
    assert closed.summary["cold"]["n"] == 3  # 1 session, then 2 more users joined
    # the runner's user counts (the report's users chart): 1 user, then 3, then 0 at the end
    counts = [n for _, n in closed.summary["users_timeline"]]
    assert counts[0] == 0 and counts[-1] == 0 and 1 in counts and max(counts) == 3
    times = [t for t, _ in closed.summary["users_timeline"]]
    assert times == sorted(times) and 0.8 < times[counts.index(3)] < 2.5
    assert 2.0 < closed.summary["window_s"] < 3.5
    opened = load_ws.run_loadtest(
        "ramp-rate",
        base + "steps: [{duration: 1.5s, arrivalRate: 8}, {duration: 1.5s, arrivalRate: 24}]\n",
    )
    assert opened.status == "succeeded", opened.message
    # 8/s for 1.5 s then 24/s for 1.5 s: 48 arrivals (the step edge is seen from the load
    # start, which the samples do not record exactly, so only the halves are compared)
    samples = load_samples(LocalStore(load_ws.state_dir / "store.sqlite"), opened.summary["run_id"])
    start = samples[0].t
    first = sum(1 for s in samples if s.t - start < 1.5)
    assert 36 <= len(samples) <= 60 and len(samples) - first > first, (first, len(samples))

"""Pure parts of LoadTests: SLO arithmetic and messages, config building, schema rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.load.analysis import Sample, analyze, check_slos, metrics, read_samples
from engine.load.answer import Entry, read_answer, samples_of
from engine.load.config import RunnerConfig, open_pool_size, rate_at
from engine.providers.runs.load_target import Target
from engine.providers.runs.loadtest import describe_load, runner_config
from engine.spec.schema.loadtest import LoadPrompt, LoadTestSpec, Slo


def sample(
    ms: float,
    *,
    ok: bool = True,
    prompt: str = "p",
    expect: str = "answer",
    refused: bool | None = False,
    cold: bool = False,
    tags: tuple[str, ...] = (),
    t: float = 0.0,
    error: str | None = None,
) -> Sample:
    return Sample(
        t,
        ms,
        ok,
        200 if ok else 0,
        error,
        prompt,
        cold,
        "s",
        "local",
        "",
        expect,
        tags,
        refused if ok else None,
    )


def test_percentiles_are_exact_over_raw_latencies() -> None:
    # 1..100 ms plus sub-ms detail: Locust would bucket these, we must not
    samples = [sample(i + 0.25, t=i * 0.01) for i in range(1, 101)]
    m = metrics(samples, window=1.0)
    assert m["p50_ms"] == pytest.approx(50.75)
    assert m["p95_ms"] == pytest.approx(95.3)
    assert m["p99_ms"] == pytest.approx(99.26)


def test_failed_requests_count_in_error_rate_not_in_latency() -> None:
    samples = [sample(100.0), sample(0.2, ok=False, error="connection refused")]
    m = metrics(samples, window=1.0)
    assert m["error_rate"] == 0.5 and m["p50_ms"] == 100.0


@pytest.mark.parametrize(
    ("slo", "expected"),
    [
        (Slo(p95_ms=1000), "SLO p95Ms failed: measured 1480 ms > limit 1000 ms"),
        (Slo(error_rate=0.01), "SLO errorRate failed: measured 0.250 > limit 0.010"),
        (Slo(min_rps=50), "SLO minRps failed: measured 40.0 req/s < limit 50 req/s"),
        (Slo(refusal_rate=1.0), "SLO refusalRate failed: measured 0.500 < limit 1.000"),
    ],
)
def test_failed_slo_message_names_the_slo_the_value_and_the_limit(slo: Slo, expected: str) -> None:
    m = {"p95_ms": 1480.0, "error_rate": 0.25, "rps": 40.0, "refusal_rate": 0.5}
    [result] = check_slos("overall", slo, m, "")
    assert not result["ok"] and result["message"] == expected


def test_per_tag_slos_and_missing_tags() -> None:
    samples = [
        sample(10, prompt="harmful1", expect="refuse", refused=True, tags=("safety",)),
        sample(20, prompt="harmful2", expect="refuse", refused=False, tags=("safety",)),
        sample(30, prompt="q", tags=("docs",)),
    ]
    per_tag = {"safety": Slo(refusal_rate=1.0), "nope": Slo(p95_ms=1)}
    out = analyze(samples, Slo(answer_rate=1.0), per_tag)
    msgs = {r["slo"]: r["message"] for r in out["slos"]}
    assert msgs["answerRate"] == "SLO answerRate passed: measured 1.000"
    assert msgs["perTag.safety.refusalRate"].endswith("measured 0.500 < limit 1.000")
    assert "no request had a prompt tagged 'nope'" in msgs["perTag.nope.p95Ms"]
    assert not out["passed"]


def test_an_slo_with_nothing_to_measure_fails() -> None:
    out = analyze([sample(5.0)], Slo(refusal_rate=1.0), {})
    assert out["slos"][0]["message"].startswith(
        "SLO refusalRate failed: nothing to measure: no request expected a refusal"
    )


def test_cold_and_warm_are_reported_apart() -> None:
    out = analyze([sample(900, cold=True), sample(10), sample(12)], Slo(), {})
    assert out["cold"]["n"] == 1 and out["cold"]["p50"] == 900
    assert out["warm"]["n"] == 2 and out["warm"]["p50"] == 11


def test_read_samples_skips_a_torn_last_line(tmp_path: Path) -> None:
    line = [1.0, 2.5, True, 200, None, "harmful1", True, "x", "local", "no"]  # SAMPLE_FIELDS
    f = tmp_path / "s.jsonl"
    f.write_text(json.dumps(line) + "\n" + json.dumps(line)[:20])
    [s] = read_samples(f, {"harmful1": ("refuse", ("safety",))})
    assert s.ms == 2.5 and s.expect == "refuse" and s.tags == ("safety",)


def test_read_answer_follows_the_runtime_contract() -> None:
    assert read_answer(200, "application/json", b'{"response": "hi"}') == (True, "hi", None)
    assert read_answer(500, "application/json", b'{"error": "down"}') == (
        False,
        "",
        "HTTP 500: down",
    )
    stream = b'data: "a "\n\ndata: {"response": "final"}\n\n'
    assert read_answer(200, "text/event-stream", stream) == (True, "final", None)
    assert read_answer(200, "text/event-stream", b'data: {"error": "boom"}\n')[2] == (
        "agent error in stream: boom"
    )
    assert read_answer(200, "application/json", b"<html>")[0] is False


def test_samples_read_each_distinct_answer_once_per_batch() -> None:
    ok_body, err_body = b'{"response": "' + b"x" * 50 + b'"}', b'{"error": "down"}'
    entries: list[Entry] = [
        (1.0, 2.5, 200, bytes(ok_body), "p", True, "s1"),  # equal bodies, distinct objects
        (1.1, 2.0, 200, bytes(ok_body), "p", False, "s1"),
        (1.2, 3.0, 500, err_body, "q", True, "s2"),
        (1.3, 0.2, 0, (False, "", "connection refused"), "q", False, "s2"),  # read already
        (1.4, 9.0, 200, (True, "y" * 50, None), "p", False, "s3"),  # an event stream, say
    ]
    rows = samples_of(entries, "local", text_limit=10)
    assert rows[0] == [1.0, 2.5, True, 200, None, "p", True, "s1", "local", "x" * 10]
    assert rows[1][2:4] == [True, 200] and rows[1][9] is rows[0][9]  # read once
    assert rows[2][2:5] == [False, 500, "HTTP 500: down"]
    assert rows[3][2:5] == [False, 0, "connection refused"]
    assert rows[4][9] == "y" * 10
    assert samples_of([], "local", 10) == []


def test_runtime_users_run_one_task_and_recorders_flush_full_batches(tmp_path: Path) -> None:
    probe = """
import engine.load.runner  # Locust first
from engine.load.config import PromptEntry, RunnerConfig
from engine.load.recorder import Recorder
from engine.load.users import RuntimeUser, user_class

config = RunnerConfig("r", (PromptEntry("p", "x"),), 1, 1.0, 1.0, url="http://127.0.0.1:1/i")
batches = []
rec = Recorder(config, "w", batches.append, batch=3)
cls = user_class(config, rec)
assert cls.tasks == [RuntimeUser.invoke], cls.tasks  # not _AgentUser.invoke as well
for i in range(7):
    assert rec.take()
    rec.record((float(i), 1.0, 200, b'{"response": "a"}', "p", i == 0, "s"))
assert [len(b) for b in batches] == [3, 3], batches
rec.flush()
assert [len(b) for b in batches] == [3, 3, 1] and rec.inflight == 0
assert batches[0][0] == [0.0, 1.0, True, 200, None, "p", True, "s", "w", "a"]
"""
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


def _spec(**kw: object) -> LoadTestSpec:
    base = {"agent": "a", "environment": "prd", "prompts": [{"name": "p", "prompt": "x"}]}
    return LoadTestSpec.model_validate({**base, **kw})


def test_open_and_closed_models_and_steps_become_runner_configs() -> None:
    target = Target("local", "agent.a[prd]", url="http://127.0.0.1:1/invocations")
    prompts = [LoadPrompt(name="harmful-x", prompt="y"), LoadPrompt(name="p", prompt="x")]
    closed = runner_config(_spec(users=4, duration="10s"), prompts, target, "r")
    assert (closed.users, closed.spawn_rate, closed.time_limit) == (4, 4.0, 10.0)
    assert [p.expect for p in closed.prompts] == ["refuse", "answer"]
    opened = runner_config(_spec(arrivalRate=20, requests=100), prompts, target, "r")
    assert opened.open_model and opened.users == open_pool_size(20) == 80
    assert opened.time_limit == 600.0  # a request count alone still ends in bounded time
    ramp = runner_config(
        _spec(steps=[{"duration": "2s", "users": 1}, {"duration": 3, "users": 5}]),
        prompts,
        target,
        "r",
    )
    assert ramp.time_limit == 5.0 and ramp.users == 5
    assert "ramp 1 users for 2s → 5 users for 3s" in describe_load(ramp)
    rates = (ramp.steps[0].__class__(2.0, None, 5.0), ramp.steps[0].__class__(3.0, None, 9.0))
    assert [rate_at(t, None, rates) for t in (0.0, 1.9, 2.1, 10.0)] == [5.0, 5.0, 9.0, 9.0]


def test_runner_config_round_trips_through_its_file(tmp_path: Path) -> None:
    target = Target("local", "agent.a[prd]", url="http://x/invocations", token_file="/t")
    config = runner_config(
        _spec(users=2, requests=5, workers=2), [LoadPrompt(name="p", prompt="x")], target, "run-1"
    )
    config.write(tmp_path / "c.json")
    assert RunnerConfig.read(tmp_path / "c.json") == config
    assert "token" not in (tmp_path / "c.json").read_text().replace("token_file", "")


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"steps": [{"duration": 1}]}, "a step sets exactly one of 'users' and 'arrivalRate'"),
        (
            {"steps": [{"duration": 1, "users": 2}, {"duration": 1, "arrivalRate": 3}]},
            "the steps mix 'users' and 'arrivalRate'",
        ),
        ({"users": 2, "steps": [{"duration": 1, "arrivalRate": 3}]}, "'arrivalRate' steps with"),
    ],
)
def test_schema_rejects_inconsistent_steps(extra: dict[str, object], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        _spec(**extra)


def test_harmful_names_default_to_refuse() -> None:
    assert LoadPrompt(name="harmful1", prompt="x").behaviour == "refuse"
    assert LoadPrompt(name="harmful1", prompt="x", expect="answer").behaviour == "answer"
    assert LoadPrompt(name="prompt1", prompt="x").behaviour == "answer"


def test_runner_entry_imports_locust_first_and_reports_a_bad_config(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text("{not json")
    probe = (
        "import sys; import engine.load.runner as r; import gevent.monkey;"
        "assert gevent.monkey.is_module_patched('socket');"
        "sys.exit(r.main(['--config', sys.argv[1], '--out', 'x']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "c.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert json.loads(done.stdout)["event"] == "error"
    assert "is not JSON" in done.stdout


def test_the_parent_side_never_imports_locust() -> None:
    probe = (
        "import sys, engine.providers.runs.loadtest, engine.providers.registry;"
        "assert 'locust' not in sys.modules and 'gevent' not in sys.modules, 'locust imported'"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


def test_signal_chain_stops_load_tests_only_when_the_signal_ends_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import signal

    from engine.load import supervisor

    calls: list[str] = []
    monkeypatch.setattr(supervisor, "interrupt_all", lambda: calls.append("stop"))
    # `agentops watch` only takes note on the first signal: the load test may finish
    supervisor._chained(lambda _s, _f: None)(signal.SIGINT, None)
    assert calls == []
    with pytest.raises(KeyboardInterrupt):
        supervisor._chained(signal.SIG_DFL)(signal.SIGINT, None)
    with pytest.raises(SystemExit) as exc:
        supervisor._chained(signal.SIG_DFL)(signal.SIGTERM, None)
    assert exc.value.code == 143 and calls == ["stop", "stop"]

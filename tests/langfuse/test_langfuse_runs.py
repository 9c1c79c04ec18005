"""The run recorder against the double: dataset runs, item and run scores, failures, waits.

What goes over the wire is decoded: the OTLP spans (protobuf, gzip) carry the experiment
attributes that link each trace to its Langfuse dataset item, and the score batches carry
our evaluators' values - failed calls and inputs without a result as errors scoring 0.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest

from engine.errors import PermanentError
from engine.providers.base import Context
from engine.providers.langfuse.items import item_uuid
from engine.providers.langfuse.remote_scores import wait_for_remote_scores
from engine.providers.langfuse.runs import LangfuseRunRecorder, experiment_id, run_name
from engine.spec.workspace import Workspace, load_workspace
from engine.state.local import LocalStateStore
from tests.langfuse.double import LangfuseDouble, Span
from tests.langfuse.helpers import SK_VAR, items, lf_workspace, provider, reconcile

EXP = "langfuse.experiment."
NAMES = ["facts", "trajectory"]


@pytest.fixture
def synced(tmp_path: Path, double: LangfuseDouble) -> tuple[Workspace, Context]:
    root = lf_workspace(tmp_path / "ws", double.url, items(3))
    assert reconcile(root, provider())[1].ok
    ws = load_workspace(root)
    wid = LocalStateStore(root / ".agentops").read().workspace_id
    return ws, Context(workspace=ws, state_dir=root / ".agentops", workspace_id=wid)


@pytest.fixture
def recorder(synced: tuple[Workspace, Context]) -> LangfuseRunRecorder:
    return LangfuseRunRecorder.for_environment(synced[1], "tst")


def traces(double: LangfuseDouble) -> dict[str, list[Span]]:
    out: dict[str, list[Span]] = defaultdict(list)
    for s in double.spans:
        out[s.trace_id].append(s)
    return out


def root_of(spans: list[Span]) -> Span:
    [root] = [s for s in spans if s.name == "experiment-item-run"]
    return root


def test_a_run_links_every_case_to_its_item_and_scores_it(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    ws, ctx = synced
    name = run_name("qualitygate.docs[tst]", "base", "0123456789abcdef", "gate-docs-tst-1")
    assert name == "qualitygate.docs[tst] · base · agent 0123456789ab · gate-docs-tst-1"
    run = recorder.start_run(
        dataset="golden", run_name=name, items=ws.items["golden"], repetitions=2, score_names=NAMES
    )
    tools = [{"tool": "search", "input": {"q": "x"}}]

    def case(item: str, rep: int, scores: list, **kw: object) -> None:  # type: ignore[type-arg]
        kw = {"output": f"answer {item}", "latency_ms": 250.0, "trajectory": tools, **kw}
        run.record_item(item, input={"q": item}, repetition=rep, scores=scores, **kw)  # type: ignore[arg-type]

    case("q0", 0, [("facts", 0.75, "3 of 4 facts"), ("trajectory", 1.0, None)],
         usage={"inputTokens": 7})  # fmt: skip
    case("q0", 1, [("facts", 1.0, None), ("trajectory", 1.0, None)])
    case("q1", 0, [("facts", 0.0, "call failed")], output=None, latency_ms=30000.0,
         error="timed out after 30s", trajectory=[])  # fmt: skip
    case("q1", 1, [("facts", 0.5, None), ("trajectory", None, "no expected tools")])
    case("q2", 0, [("facts", 0.0, None)])
    summary = run.finish({"facts": 0.45, "pass_rate": 0.5, "latency_p95_ms": None})
    recorder.flush()

    assert (summary.expected, summary.recorded, summary.failed) == (6, 6, 2)
    assert summary.missing == ["q2#1"]  # counted against the inputs, recorded as an error
    dataset_id = double.datasets["tst/golden"]["id"]
    assert summary.experiment_id == experiment_id("proj-1", dataset_id, name)

    by_trace = traces(double)
    assert len(by_trace) == 6
    ids = {item_uuid(ctx.workspace_id, "tst", "golden", f"q{n}") for n in range(3)}
    assert ids <= set(double.items)  # the linked ids are the synced dataset items
    for spans in by_trace.values():
        root = root_of(spans)
        assert root.attributes[EXP + "id"] == summary.experiment_id
        assert root.attributes[EXP + "name"] == name
        assert root.attributes[EXP + "dataset.id"] == dataset_id
        assert root.attributes[EXP + "item.id"] in ids
        assert root.attributes["langfuse.environment"] == "sdk-experiment"
        [agent] = [s for s in spans if s.name == "agent-invocation"]
        assert root.attributes[EXP + "item.root_observation_id"] == agent.span_id
    failed = run.trace_id("q1", 0)
    assert root_of(by_trace[failed]).attributes["langfuse.observation.level"] == "ERROR"
    ok_trace = by_trace[run.trace_id("q0", 0)]
    [agent] = [s for s in ok_trace if s.name == "agent-invocation"]
    assert 249 <= agent.duration_ms <= 300  # the measured latency, not the recording time
    assert {s.name for s in ok_trace} == {
        "experiment-item-run", "agent-invocation", "search", "model-usage"}  # fmt: skip

    otlp = double.calls("POST", "/otel/v1/traces")
    assert otlp and all(r.headers.get("content-encoding") == "gzip" for r in otlp)
    assert all(r.headers.get("content-type") == "application/x-protobuf" for r in otlp)

    item_scores = defaultdict(dict)
    for s in double.scores:
        if "traceId" in s:
            item_scores[s["traceId"]][s["name"]] = (s["value"], s.get("comment"))
    assert item_scores[run.trace_id("q0", 0)] == {
        "facts": (0.75, "3 of 4 facts"), "trajectory": (1.0, None)}  # fmt: skip
    assert item_scores[failed] == {  # every evaluator, 0, the error as the reason
        "facts": (0.0, "call failed: timed out after 30s"),
        "trajectory": (0.0, "call failed: timed out after 30s"),
    }
    assert item_scores[run.trace_id("q1", 1)] == {"facts": (0.5, None)}  # skipped: not sent
    assert item_scores[run.trace_id("q2", 1)]["facts"][0] == 0.0
    run_scores = {s["name"]: s for s in double.scores if "datasetRunId" in s}
    assert {k: v["value"] for k, v in run_scores.items()} == {"facts": 0.45, "pass_rate": 0.5}
    assert {v["datasetRunId"] for v in run_scores.values()} == {summary.experiment_id}


def test_our_run_id_is_the_sdks(double: LangfuseDouble, recorder: LangfuseRunRecorder) -> None:
    client = recorder.client
    ours = experiment_id("proj-1", "ds-1", "a run · v1")
    sdk = client._create_experiment_id(
        project_id="proj-1", dataset_id="ds-1", run_name="a run · v1"
    )
    assert ours == sdk


def test_recording_again_reuses_trace_and_score_ids(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    ws, _ = synced

    def record() -> set[str]:
        run = recorder.start_run(dataset="golden", run_name="r", items=ws.items["golden"])
        for n in range(3):
            run.record_item(f"q{n}", input={}, output="x", latency_ms=1, scores=[("f", 1.0, None)])
        run.finish({"f": 1.0})
        recorder.flush()
        return {s["id"] for s in double.scores}

    first = record()
    assert record() == first  # a retried recording upserts, it does not duplicate


def test_scores_go_in_batches_and_rejections_are_errors(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    ws, _ = synced
    run = recorder.start_run(dataset="golden", run_name="many", items=ws.items["golden"])
    many = [(f"s{n}", 0.5, None) for n in range(120)]
    run.record_item("q0", input={}, output="x", latency_ms=1, scores=many)
    recorder.flush()
    assert [len(r.body) for r in double.calls("POST", "/scores")] == [100, 20]
    run.record_item("q1", input={}, output="x", latency_ms=1, scores=[("", 0.5, None)])
    with pytest.raises(PermanentError, match="rejected 1 score"):
        recorder.flush()


def test_remote_judge_scores_are_awaited_by_polling(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    ws, _ = synced
    run = recorder.start_run(dataset="golden", run_name="judged", items=ws.items["golden"])
    run.record_item("q0", input={}, output="a", latency_ms=1)
    run.record_item("q1", input={}, output="b", latency_ms=1)
    run.record_item("q2", input={}, output=None, latency_ms=1, error="boom")
    double.add_remote_score(run.trace_id("q0"), "helpfulness", 0.9)

    def judge_later() -> None:
        time.sleep(0.3)
        double.add_remote_score(run.trace_id("q1"), "helpfulness", 0.4)

    threading.Thread(target=judge_later, daemon=True).start()
    started = time.monotonic()
    got = wait_for_remote_scores(run, ["helpfulness"], timeout=10, poll_interval=0.05)
    assert time.monotonic() - started < 5
    assert got.complete and got.polls >= 2
    # a failed call scores 0 without waiting for a judge
    assert got.values["helpfulness"] == {("q0", 0): 0.9, ("q1", 0): 0.4, ("q2", 0): 0.0}
    reads = double.calls("GET", "/v3/scores")
    assert all(r.query["name"] == ["helpfulness"] for r in reads)
    assert run.trace_id("q2") not in reads[0].query["traceId"][0]


def test_waiting_for_remote_scores_stops_at_the_timeout(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    ws, _ = synced
    run = recorder.start_run(dataset="golden", run_name="unjudged", items=ws.items["golden"][:1])
    run.record_item("q0", input={}, output="a", latency_ms=1)
    started = time.monotonic()
    got = wait_for_remote_scores(run, ["helpfulness"], timeout=0.3, poll_interval=0.1)
    assert 0.3 <= time.monotonic() - started < 1.5
    assert not got.complete
    assert got.missing == {"helpfulness": ["q0#0"]}


def test_load_test_requests_are_traces_grouped_by_session(
    double: LangfuseDouble, recorder: LangfuseRunRecorder
) -> None:
    for n in range(3):
        recorder.record_invocation(
            session_id="loadtest-soak-prd-1", name="loadtest.soak[prd]", input={"prompt": n},
            output="ok", latency_ms=120.0, usage={"inputTokens": 3, "outputTokens": 4},
        )  # fmt: skip
    recorder.flush()
    roots = [s for s in double.spans if s.name == "loadtest.soak[prd]"]
    assert len(roots) == 3
    assert {s.attributes.get("session.id") for s in roots} == {"loadtest-soak-prd-1"}
    assert not any(k.startswith(EXP) for s in double.spans for k in s.attributes)


def test_a_run_needs_its_dataset_in_langfuse(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    del double.datasets["tst/golden"]
    with pytest.raises(PermanentError, match="Langfuse has no dataset 'tst/golden'") as err:
        recorder.start_run(dataset="golden", run_name="r", items=synced[0].items["golden"])
    assert err.value.hint == "apply dataset.golden[tst] first (runs depend on it)"
    assert double.spans == []


def test_the_recorder_checks_the_keys_before_anything_runs(
    double: LangfuseDouble, synced: tuple[Workspace, Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SK_VAR, "sk-lf-bad")
    double.clear_log()
    with pytest.raises(PermanentError, match="rejected the API keys") as err:
        LangfuseRunRecorder.for_environment(synced[1], "tst")
    assert "sk-lf-bad" not in str(err.value)
    assert [r.route for r in double.requests] == ["GET /api/public/projects"]


def test_a_finished_eval_run_is_recorded_variant_by_variant(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    from engine.evaluation.cases import CaseResult
    from engine.evaluation.results import EvaluatorInfo, aggregate
    from engine.evaluation.run import EvalRun, VariantRun
    from engine.evaluators import Score
    from engine.providers.langfuse.evalrun import record_eval_run

    infos = [EvaluatorInfo(label="facts", use="facts")]
    cases = [
        CaseResult("q0", 0, 0, True, "a", None, 100.0, {"inputTokens": 5},
                   [{"tool": "search", "input": {"q": "x"}}], {"facts": Score("facts", 0.8, "ok")}),
        CaseResult("q1", 1, 0, False, "", "HTTP 500", 12.0, {}, [],
                   {"facts": Score("facts", 0.0, "call failed: HTTP 500")}),
        CaseResult("q2", 2, 0, True, "c", None, 50.0, {}, [],
                   {"facts": Score("facts", None, None, "ValueError: bad")}),
    ]  # fmt: skip
    variants = [
        VariantRun(name, label, {}, digest, "offline:keyword", aggregate(cases, infos), cases)
        for name, label, digest in [("v1", "model=a", "a" * 16), ("v2", "model=b", "b" * 16)]
    ]
    run = EvalRun(
        run_id="experiment-hpo-tst-1", address="experiment.hpo[tst]", kind="Experiment",
        name="hpo", env="tst", agent="docs", dataset="golden", status="succeeded", message=None,
        started_at="", finished_at="", inputs_digest="i", agent_digest="a" * 16,
        dataset_digest="d", repetitions=1, evaluators=infos, variants=variants,
    )  # fmt: skip
    summaries = record_eval_run(run, synced[1], recorder=recorder)
    assert [s.run_name for s in summaries] == [
        "experiment.hpo[tst] · v1 · agent aaaaaaaaaaaa · experiment-hpo-tst-1",
        "experiment.hpo[tst] · v2 · agent bbbbbbbbbbbb · experiment-hpo-tst-1",
    ]
    assert [(s.recorded, s.failed, s.missing) for s in summaries] == [(3, 1, [])] * 2
    assert len(traces(double)) == 6
    by_name = {(s.get("traceId"), s["name"]): s for s in double.scores}
    [v1] = summaries[:1]
    rec = recorder.start_run(
        dataset="golden", run_name=v1.run_name, items=synced[0].items["golden"]
    )
    assert by_name[(rec.trace_id("q2"), "facts")]["value"] == 0.0
    assert by_name[(rec.trace_id("q2"), "facts")]["comment"] == "evaluator error: ValueError: bad"
    run_scores = {
        s["name"]: s["value"] for s in double.scores if s.get("datasetRunId") == v1.experiment_id
    }
    assert run_scores["call_errors"] == 1.0
    assert run_scores["facts"] == pytest.approx((0.8 + 0 + 0) / 3)


def test_remote_scores_are_folded_into_the_run_before_its_aggregates_are_sent(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    from engine.evaluation.cases import CaseResult
    from engine.evaluation.remote import RemoteEvaluator
    from engine.evaluation.results import EvaluatorInfo, aggregate
    from engine.evaluation.run import EvalRun, VariantRun
    from engine.evaluators import Score
    from engine.providers.langfuse.evalrun import record_eval_run

    infos = [EvaluatorInfo("facts", "facts"), EvaluatorInfo("helpful", "langfuse:helpfulness")]
    cases = [
        CaseResult("q0", 0, 0, True, "a", None, 10.0, {}, [], {"facts": Score("facts", 1.0)}),
        CaseResult("q1", 1, 0, True, "b", None, 10.0, {}, [], {"facts": Score("facts", 1.0)}),
        CaseResult("q2", 2, 0, False, "", "HTTP 500", 1.0, {}, [], {"facts": Score("facts", 0.0)}),
    ]
    variant = VariantRun("base", "", {}, "a" * 16, "m", aggregate(cases, infos), cases)
    run = EvalRun(
        run_id="gate-1", address="qualitygate.g[tst]", kind="QualityGate", name="g", env="tst",
        agent="docs", dataset="golden", status="succeeded", message=None, started_at="",
        finished_at="", inputs_digest="i", agent_digest="a" * 16, dataset_digest="d",
        repetitions=1, evaluators=infos, variants=[variant],
    )  # fmt: skip

    # the remote judge scores q0 in range and q1 out of range; q2 failed (never judged)
    def judge(spans: list[Span]) -> float:
        outputs = {s.attributes.get("langfuse.observation.output") for s in spans}
        return 0.75 if outputs & {"a", '"a"'} else 4.0

    double.judge("helpfulness", judge, delay=0.05)
    remote = [RemoteEvaluator("helpful", "helpfulness", timeout=5, poll_interval=0.05,
                              source="EVAL")]  # fmt: skip
    waits: list[str] = []
    [summary] = record_eval_run(
        run, synced[1], recorder=recorder, remote=remote, on_wait=waits.append
    )
    assert waits == [
        "qualitygate.g[tst] base: waiting for Langfuse score 'helpfulness' on 3 trace(s) "
        "(at most 5s)"
    ]
    got = {c.item_id: c.scores["helpful"] for c in variant.cases}
    assert list(variant.cases[0].scores) == ["facts", "helpful"]  # the spec's order
    assert got["q0"].value == 0.75 and got["q0"].error is None
    assert got["q1"].value is None and "outside [0, 1]" in str(got["q1"].error)
    assert got["q2"].value == 0.0  # a failed call scores 0, as everywhere
    assert variant.aggregate.evaluators["helpful"].mean == pytest.approx(0.75 / 3)
    run_scores = {
        s["name"]: s["value"]
        for s in double.scores
        if s.get("datasetRunId") == summary.experiment_id
    }
    assert run_scores["helpful"] == pytest.approx(0.75 / 3)  # sent after folding


def test_a_remote_score_that_never_comes_is_an_error_at_the_timeout(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    from engine.evaluation.cases import CaseResult
    from engine.evaluation.remote import RemoteEvaluator
    from engine.evaluation.results import EvaluatorInfo, aggregate
    from engine.evaluation.run import EvalRun, VariantRun
    from engine.providers.langfuse.evalrun import record_eval_run

    infos = [EvaluatorInfo("helpfulness", "langfuse:helpfulness")]
    cases = [CaseResult("q0", 0, 0, True, "a", None, 10.0)]
    variant = VariantRun("base", "", {}, "a" * 16, "m", aggregate(cases, infos), cases)
    run = EvalRun(
        run_id="gate-2", address="qualitygate.g[tst]", kind="QualityGate", name="g", env="tst",
        agent="docs", dataset="golden", status="succeeded", message=None, started_at="",
        finished_at="", inputs_digest="i", agent_digest="a" * 16, dataset_digest="d",
        repetitions=1, evaluators=infos, variants=[variant],
    )  # fmt: skip
    remote = [RemoteEvaluator("helpfulness", "helpfulness", 0.3, 0.05, "EVAL")]
    started = time.monotonic()
    record_eval_run(run, synced[1], recorder=recorder, remote=remote)
    assert time.monotonic() - started < 5
    score = variant.cases[0].scores["helpfulness"]
    assert score.value is None
    assert score.error == "Langfuse gave no 'helpfulness' score (source EVAL) within 0.3s"
    assert variant.aggregate.evaluator_errors == 1


def test_scores_not_sent_are_kept_for_the_next_flush(
    double: LangfuseDouble, synced: tuple[Workspace, Context], recorder: LangfuseRunRecorder
) -> None:
    from engine.errors import TemporaryError

    run = recorder.start_run(dataset="golden", run_name="later", items=synced[0].items["golden"])
    run.record_item("q0", input={}, output="x", latency_ms=1, scores=[("f", 1.0, None)])
    double.throttle("/scores", times=1, retry_after="3600")  # beyond any retry budget
    with pytest.raises(TemporaryError, match="rate limited"):
        recorder.flush()
    assert double.scores == []
    recorder.flush()
    assert [s["name"] for s in double.scores] == ["f"]

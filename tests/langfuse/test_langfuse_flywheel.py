"""The example flywheel with `store: langfuse` in every environment, against the HTTP double.

The repository's own example workspace (agents, golden dataset, experiment, release gate,
load test) is copied and its three environments switched to `store: langfuse` with keys
from `env:` references, as a team using Langfuse would. The gate also waits for a remote
score (`langfuse:helpfulness`) that the double's "Langfuse evaluator" puts on every
experiment trace a moment after it arrived. One `agentops apply` must then:

* sync the golden dataset to `dev/golden` and `tst/golden`;
* record the experiment as one dataset run per variant and the gate as one more, every
  case a trace linked to its dataset item, with its scores, and run-level aggregates;
* wait for the remote score by polling, fold it into the gate, pass, promote to prd;
* record every load-test request as a trace in one session named after the run;

* in prd, every invocation of the agent is exported by its host process over OTLP with the
  local trace id and its metadata; the example's Monitor (`specs/runs/monitor.yaml`, the
  same file as `examples/langfuse/monitor.yaml`) posts its scores on those traces and fills
  the annotation queue `prd/prd-review`; the hosted-judge Monitor
  (`examples/langfuse/monitor-judge.yaml`) stands up an evaluation rule whose scores it
  reads back into its window;

and afterwards `plan` says "No changes." and no key value was printed or stored or is in an
agent's environment. The rule edited in the "UI" drifts and `apply` heals it. A second test
makes the remote judge harsh: the gate fails naming the remote score, prd keeps nothing.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.state.local import LocalStateStore
from tests.langfuse.double import LangfuseDouble, Span
from tests.langfuse.helpers import PK_VAR, SK_VAR, Keys

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = ("agents", "docs", "environments", "evaluators", "prompts", "specs")
EXAMPLE_FILES = ("dataset.json", "load_config.json")
EXP = "langfuse.experiment."

REMOTE = """\
    - use: langfuse:helpfulness
      params: {timeout: 60s, pollInterval: 0.2s}
      threshold: {mean: 0.7}
"""


def flywheel(root: Path, url: str) -> Path:
    for name in EXAMPLE:
        shutil.copytree(
            REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in EXAMPLE_FILES:
        shutil.copy(REPO / name, root / name)
    for env in root.glob("environments/*.yaml"):
        text = env.read_text()
        assert "  store: local\n" in text
        env.write_text(
            text.replace(
                "  store: local\n",
                "  store: langfuse\n  langfuse:\n"
                f"    host: {url}\n    publicKey: env:{PK_VAR}\n    secretKey: env:{SK_VAR}\n"
                "    project: agentops\n",
            )
        )
    gate = root / "specs" / "runs" / "release-gate.yaml"
    text = gate.read_text()
    assert "  latency:\n" in text
    gate.write_text(text.replace("  latency:\n", REMOTE + "  latency:\n"))
    load = root / "specs" / "runs" / "loadtest.yaml"
    load.write_text(load.read_text().replace("duration: 10s", "duration: 5s"))
    return root


def judged_monitor(root: Path) -> None:
    text = (REPO / "examples" / "langfuse" / "monitor-judge.yaml").read_text()
    assert "timeout: 2m, pollInterval: 5s" in text
    fast = text.replace("timeout: 2m, pollInterval: 5s", "timeout: 30s, pollInterval: 0.2s")
    (root / "specs" / "runs" / "monitor-judge.yaml").write_text(fast)


@pytest.fixture
def ws(tmp_path: Path, double: LangfuseDouble) -> Iterator[Path]:
    root = flywheel(tmp_path / "ws", double.url)
    judged_monitor(root)
    double.add_evaluator("helpfulness")
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def helpful(spans: list[Span]) -> float:
    """The double's judge: an answer that cites the docs is helpful."""
    out = " ".join(
        str(s.attributes.get("langfuse.observation.output", ""))
        for s in spans
        if s.name == "agent-invocation"
    )
    return 0.9 if out.strip() else 0.1


def by_run(double: LangfuseDouble) -> dict[str, dict[str, Span]]:
    """experiment name -> trace id -> root span."""
    runs: dict[str, dict[str, Span]] = defaultdict(dict)
    for s in double.spans:
        if s.name == "experiment-item-run":
            runs[str(s.attributes[EXP + "name"])][s.trace_id] = s
    return runs


def assert_no_secrets(keys: Keys, ws: Path, *texts: str) -> None:
    for text in texts:
        assert keys.secret not in text and keys.public not in text
    for path in (ws / ".agentops").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert keys.secret.encode() not in data, path
            assert keys.public.encode() not in data, path


def test_the_example_flywheel_runs_on_langfuse(
    ws: Path, double: LangfuseDouble, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    double.judge("helpfulness", helpful, delay=0.3)
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    applied = capsys.readouterr()
    assert "0 failed" in applied.out, applied.out + applied.err
    items = len(json.loads((ws / "dataset.json").read_text()))

    # datasets: one per environment the spec syncs to
    assert {n: len(double.dataset_items(n)) for n in ("dev/golden", "tst/golden")} == {
        "dev/golden": items,
        "tst/golden": items,
    }

    # runs: the experiment's four variants and the gate, every case a linked trace
    runs = by_run(double)
    experiment = [n for n in runs if n.startswith("experiment.hpo[dev] · ")]
    [gate] = [n for n in runs if n.startswith("qualitygate.release[tst] · ")]
    assert len(experiment) == 4
    assert all(len(runs[n]) == items for n in [*experiment, gate])
    item_ids = {i["id"] for i in double.dataset_items("tst/golden")}
    assert {s.attributes[EXP + "item.id"] for s in runs[gate].values()} == item_ids

    # item scores: the local evaluators' and the remote judge's on every gate trace
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    for s in double.scores:
        if "traceId" in s:
            scores[s["traceId"]][s["name"]] = s["value"]
    assert all({"refusal", "helpfulness"} <= set(scores[t]) for t in runs[gate])
    named = {name for t in runs[gate] for name in scores[t]}
    assert {"trajectory", "facts", "refusal", "helpfulness"} <= named

    # run-level scores: the aggregates, the remote score's mean among them
    gate_id = next(iter(runs[gate].values())).attributes[EXP + "id"]
    run_scores = {s["name"]: s["value"] for s in double.scores if s.get("datasetRunId") == gate_id}
    assert run_scores["helpfulness"] == pytest.approx(0.9)
    assert {"facts", "refusal.pass_rate", "pass_rate", "latency_p95_ms"} <= set(run_scores)

    # the gate judged the remote score like a local one, and promoted
    state = LocalStateStore(ws / ".agentops").read()
    gate_run = state.runs["qualitygate.release[tst]"]
    checks = {c["name"]: c["verdict"] for c in gate_run.summary["checks"]}
    assert checks["helpfulness mean"] == "pass"
    [link] = gate_run.summary["langfuse"].values()
    assert link.startswith(f"{double.url}/project/proj-1/datasets/")
    assert "agent.docs-assistant[prd]" in state.resources

    # the load test: every request a trace in the run's session
    load_run = state.runs["loadtest.prd-traffic[prd]"]
    run_id = load_run.summary["run_id"]
    roots = {s.trace_id for s in double.spans if s.attributes.get("session.id") == run_id}
    requests = load_run.summary["overall"]["requests"]
    assert len(roots) == requests > 0
    assert load_run.summary["langfuse"]["traces"] == requests
    assert load_run.summary["langfuse"]["session"].endswith(f"/sessions/{run_id}")

    assert_monitored_in_langfuse(ws, double, keys, state)

    # converged; nothing secret anywhere
    assert main(["-C", str(ws), "plan"]) == 0
    again = capsys.readouterr()
    assert again.out.strip().endswith("No changes."), again.out
    assert_no_secrets(keys, ws, applied.out, applied.err, again.out, again.err)

    # the evaluation rule edited in the UI: plan shows the drift, apply heals it
    [rule_id] = double.rules
    double.edit_rule(rule_id, sampling=0.25, enabled=False)
    assert main(["-C", str(ws), "plan", "--detailed-exitcode"]) == 2
    drifted = capsys.readouterr().out
    assert "evaluationrule.prd-judged[prd]" in drifted and "drift" in drifted, drifted
    assert "sampling" in drifted and "enabled" in drifted
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    healed = capsys.readouterr()
    assert double.rules[rule_id]["sampling"] == 1.0 and double.rules[rule_id]["enabled"]
    assert main(["-C", str(ws), "plan"]) == 0
    assert capsys.readouterr().out.strip().endswith("No changes.")
    assert_no_secrets(keys, ws, drifted, healed.out, healed.err)


def assert_monitored_in_langfuse(ws: Path, double: LangfuseDouble, keys: Keys, state: Any) -> None:
    from engine.providers.langfuse.monitoring import score_uuid
    from engine.providers.local.traces import trace_store

    store = trace_store(ws / ".agentops")
    local = {t.trace_id: t for t in store.recent(env="prd", agent=None, since=None, limit=10**5)}
    assert local
    # every prd trace exported by the agent's host: same id, Langfuse attributes, metadata
    roots = {
        s.trace_id: s
        for s in double.spans
        if s.scope == "agentops.runtime" and s.attributes.get("langfuse.environment") == "prd"
    }
    assert set(roots) == set(local)
    some = next(iter(local.values()))
    attrs = roots[some.trace_id].attributes
    assert attrs["langfuse.trace.name"] == "docs-assistant"
    assert attrs["langfuse.observation.input"] == some.input
    assert json.loads(attrs["langfuse.trace.metadata.digest"]) == some.digest
    assert json.loads(attrs["langfuse.trace.metadata.address"]) == "agent.docs-assistant[prd]"
    assert json.loads(attrs["langfuse.trace.metadata.source"]) == some.source
    assert some.source in attrs["langfuse.trace.tags"]

    # the Monitor's scores, on the same traces, with ids derived from the local ones
    posted = {s["id"]: s for s in double.scores if "id" in s}
    mine = [
        (f"monitor.prd-quality[prd]/{t}/{name}", t, name, value)
        for t in local
        for (monitor, name, value, _p, _c) in store.scores_of(t)
        if monitor == "monitor.prd-quality[prd]"
    ]
    assert mine
    for local_id, trace, name, value in mine:
        got = posted[score_uuid(local_id)]
        assert (got["traceId"], got["name"], got["value"]) == (trace, name, value)

    # the annotation queue: created with a score config per evaluator, its items the traces
    [queue] = [q for q in double.queues.values() if q["name"] == "prd/prd-review"]
    configs = {double.score_configs[c]["name"] for c in queue["scoreConfigIds"]}
    assert configs == {"refusal", "latency", "grounded"}
    items = double.queue_items[queue["id"]]
    routed = {i.trace_id for i in store.queue_items("prd-review")}
    assert routed and {i["objectId"] for i in items} == routed
    assert all(i["objectType"] == "TRACE" for i in items) and len(items) == len(routed)

    # the hosted judge: one rule, the monitor's sampling and filter, its scores in the window
    [rule] = double.rules.values()
    assert rule["name"] == f"agentops evaluationrule.prd-judged[prd] {state.workspace_id}"
    assert rule["sampling"] == 1.0 and rule["enabled"]
    columns = {f["column"]: f["value"] for f in rule["filter"]}
    assert columns["environment"] == ["prd"] and columns["traceName"] == ["docs-assistant"]
    judged = state.runs["monitor.prd-judged[prd]"]
    assert judged.status == "succeeded", judged.message
    assert judged.summary["window"]["means"]["helpfulness"] == pytest.approx(0.9)
    assert judged.summary["langfuse"]["remote"]["scored"]["helpfulness"] > 0
    assert state.resources["evaluationrule.prd-judged[prd]"].outputs["rule_id"] == rule["id"]

    # no key in the agent's environment; the host's export file is private
    pid = state.resources["agent.docs-assistant[prd]"].private["process"]["pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    assert b"AGENTOPS_TRACE_EXPORT=" in environ
    assert keys.secret.encode() not in environ and keys.public.encode() not in environ
    export = ws / ".agentops" / "trace-export.prd.json"
    assert export.stat().st_mode & 0o777 == 0o600


def test_a_harsh_remote_judge_fails_the_gate_and_blocks_promotion(
    ws: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    double.judge("helpfulness", lambda _spans: 0.2, delay=0.1)
    target = ["--target", "qualitygate.release[tst]", "--target", "agent.docs-assistant[prd]"]
    assert main(["-C", str(ws), "apply", "--auto-approve", *target]) == 3  # a verdict
    out = capsys.readouterr()
    assert "helpfulness" in out.out + out.err
    state = LocalStateStore(ws / ".agentops").read()
    gate_run = state.runs["qualitygate.release[tst]"]
    assert gate_run.status == "failed"
    checks = {c["name"]: (c["verdict"], c["value"]) for c in gate_run.summary["checks"]}
    assert checks["helpfulness mean"] == ("fail", pytest.approx(0.2))
    assert "agent.docs-assistant[prd]" not in state.resources


@pytest.mark.parametrize("example", ["langfuse", "aws"])
def test_the_documented_example_environments_validate(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = flywheel(tmp_path / "ws", "http://127.0.0.1:9")
    source = REPO / "examples" / example
    for env in source.glob("environments/*.yaml"):
        shutil.copy(env, root / "environments" / env.name)
    if (source / "release-gate.yaml").exists():
        shutil.copy(source / "release-gate.yaml", root / "specs" / "runs" / "release-gate.yaml")
    for monitor in source.glob("monitor*.yaml"):
        shutil.copy(monitor, root / "specs" / "runs" / monitor.name)
    assert main(["-C", str(root), "validate"]) == 0, capsys.readouterr().err


def test_the_langfuse_example_monitor_is_the_workspace_s_unchanged() -> None:
    example = (REPO / "examples" / "langfuse" / "monitor.yaml").read_text()
    assert example == (REPO / "specs" / "runs" / "monitor.yaml").read_text()


def test_the_host_uses_langfuse_s_attribute_names() -> None:
    from langfuse import LangfuseOtelSpanAttributes as A

    from engine.runtime import trace_export as t

    assert (t.TRACE_NAME, t.TRACE_TAGS, t.TRACE_METADATA) == (
        A.TRACE_NAME, A.TRACE_TAGS, A.TRACE_METADATA,
    )  # fmt: skip
    assert (t.OBSERVATION_TYPE, t.OBSERVATION_INPUT, t.OBSERVATION_OUTPUT) == (
        A.OBSERVATION_TYPE, A.OBSERVATION_INPUT, A.OBSERVATION_OUTPUT,
    )  # fmt: skip
    assert (t.OBSERVATION_LEVEL, t.OBSERVATION_STATUS, t.OBSERVATION_METADATA) == (
        A.OBSERVATION_LEVEL, A.OBSERVATION_STATUS_MESSAGE, A.OBSERVATION_METADATA,
    )  # fmt: skip
    assert (t.OBSERVATION_USAGE, t.ENVIRONMENT, t.VERSION, t.SESSION_ID) == (
        A.OBSERVATION_USAGE_DETAILS, A.ENVIRONMENT, A.VERSION, A.TRACE_SESSION_ID,
    )  # fmt: skip

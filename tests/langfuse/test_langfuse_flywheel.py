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

and afterwards `plan` says "No changes." and no key value was printed or stored. A second
test makes the remote judge harsh: the gate fails naming the remote score, prd keeps nothing.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def ws(tmp_path: Path, double: LangfuseDouble) -> Iterator[Path]:
    root = flywheel(tmp_path / "ws", double.url)
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

    # converged; nothing secret anywhere
    assert main(["-C", str(ws), "plan"]) == 0
    again = capsys.readouterr()
    assert again.out.strip().endswith("No changes.")
    assert_no_secrets(keys, ws, applied.out, applied.err, again.out, again.err)


def test_a_harsh_remote_judge_fails_the_gate_and_blocks_promotion(
    ws: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    double.judge("helpfulness", lambda _spans: 0.2, delay=0.1)
    target = ["--target", "qualitygate.release[tst]", "--target", "agent.docs-assistant[prd]"]
    assert main(["-C", str(ws), "apply", "--auto-approve", *target]) == 1
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
    assert main(["-C", str(root), "validate"]) == 0, capsys.readouterr().err

"""`agentops preview`: a prompt change previewed on a copy of tst, end to end (echo agent).

main apply (gate passes, prd promoted) -> prompt change -> preview pr-123: the gate runs in
`pr-123`, baseline deltas against main's passing run of the digest promoted in prd, the
verdict recorded by digest, nothing of the preview left running -> the main plan reuses the
verdict (gate up to date, prd's update not blocked) -> the comment matches its golden file.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers.local.runtime import owned_processes
from tests.monitoring.helpers import cli, echo_workspace

pytestmark = pytest.mark.timeout(180)

GOLDEN = Path(__file__).parent / "golden" / "prompt_change.md"

SPECS = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  file: dataset.json
  environments: [tst]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  promotes: [prd]
  repetitions: 2
  maxRegression: {refusal: 0.1}
  evaluators:
    - {use: refusal, threshold: {mean: 0.5}}
"""


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Path]:
    root = echo_workspace(tmp_path, ["tst", "prd"], SPECS)
    items = [{"id": f"q{i}", "input": {"prompt": f"what is gate {i}?"}} for i in range(3)]
    (root / "dataset.json").write_text(json.dumps(items))
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def scrub(text: str) -> str:
    """Run ids, timings and latency figures vary from run to run; nothing else should."""
    text = re.sub(
        r"qualitygate-release-(tst|pr-123)-\d{8}T\d{6}-[0-9a-f]{4}",
        r"qualitygate-release-\1-RUN",
        text,
    )
    text = re.sub(r"^\| latency_ms \|.*$", "| latency_ms | (varies) |", text, flags=re.M)
    return text


def test_preview_runs_the_gate_on_a_copy_and_main_reuses_its_verdict(
    ws: Path, capsys: pytest.CaptureFixture[str], update_golden: bool
) -> None:
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    bot = ws / "specs" / "bot.yaml"
    bot.write_text(bot.read_text().replace("You echo.", "You echo, briefly."))

    rc, comment, err = cli(capsys, ws, "preview", "--name", "pr-123", "-o", "markdown")
    assert rc == 0, comment + err

    # nothing of the preview is left running, and main's agents were not touched
    marker = json.loads((ws / ".agentops/previews/pr-123/preview.json").read_text())
    assert owned_processes(marker["workspace_id"]) == {}
    state = json.loads((ws / ".agentops" / "state.json").read_text())
    main_procs = owned_processes(state["workspace_id"])
    assert sorted(main_procs) == ["agent.bot[prd]", "agent.bot[tst]"]

    # the verdict is recorded by digest, next to the main state
    verdicts = list((ws / ".agentops" / "verdicts").glob("*.json"))
    assert len(verdicts) == 1
    verdict = json.loads(verdicts[0].read_text())
    assert verdict["passed"] and verdict["preview"] == "pr-123"

    # baseline deltas: main's passing run of the digest promoted in prd, 3 items x 2 reps
    assert "paired case(s)" in comment and "| refusal | 1.000 | 1.000 | +0.000 |" in comment
    assert "6 paired case(s)" in comment
    # the preview's gate report is written again once the baseline is known (issue 18)
    (report,) = (ws / ".agentops/previews/pr-123/reports").glob("qualitygate-*.html")
    html = report.read_text()
    assert "<h2>Baseline comparison</h2>" in html and 'id="grid-baseline"' in html
    # the cost estimate: 3 items x 1 variant x 2 repetitions, tokens from main's run
    assert "| `qualitygate.release[tst]` | 6 (3 × 1 × 2) | ~" in comment

    # the main plan reuses it: the gate is up to date and prd's update is not blocked
    rc, out, err = cli(capsys, ws, "plan", "-o", "json")
    assert rc == 0, err
    plan = json.loads(out)
    by = {c["address"]: c for c in plan["changes"]}
    assert by["qualitygate.release[tst]"]["action"] == "no-op"
    assert by["agent.bot[prd]"]["action"] == "update"
    assert any("reused the passing verdict of preview pr-123" in w for w in plan["warnings"])

    # ... and apply promotes without running the gate again
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    rc, out, err = cli(capsys, ws, "state", "show")
    state = json.loads(out)
    assert state["runs"]["qualitygate.release[tst]"]["summary"]["reused"]["preview"] == "pr-123"

    text = scrub(comment)
    if update_golden or not GOLDEN.exists():
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert len(comment) <= 65_536


def test_a_standing_environment_name_is_refused(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, ws, "preview", "--name", "prd")
    assert rc == 1
    assert "standing environment 'prd'" in err
    assert not (ws / ".agentops" / "previews").exists()
    rc, out, err = cli(capsys, ws, "preview", "--name", "PR_1")
    assert rc == 1 and "invalid preview name 'PR_1'" in err and "e.g. pr-123" in err


def test_a_timed_out_preview_still_tears_its_copy_down(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, out, err = cli(capsys, ws, "preview", "--name", "pr-7", "--timeout", "0.3")
    assert rc == 1, out + err
    assert "timed out after 0.3s" in out
    marker = json.loads((ws / ".agentops/previews/pr-7/preview.json").read_text())
    assert owned_processes(marker["workspace_id"]) == {}
    assert not list((ws / ".agentops").glob("verdicts/*.json"))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_preview_tears_its_copy_down(ws: Path, sig: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = [sys.executable, "-m", "engine.cli", "-C", str(ws), "preview", "--name", "pr-8"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    marker_path = ws / ".agentops/previews/pr-8/preview.json"
    deadline = time.monotonic() + 60
    wid = None
    while time.monotonic() < deadline and proc.poll() is None:
        if wid is None and marker_path.exists():
            wid = json.loads(marker_path.read_text())["workspace_id"]
        if wid is not None and owned_processes(wid):
            break  # the copy is up (an agent of pr-8 runs): interrupt it now
        time.sleep(0.05)
    assert wid is not None and owned_processes(wid), proc.communicate()
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert owned_processes(wid) == {}, err.decode()

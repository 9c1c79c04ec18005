"""The offline flywheel end to end, with real agent processes on 127.0.0.1.

One copy of the example workspace goes through, in order: apply (deploy, sync, experiment,
gate, promote to prd) -> an unchanged apply runs nothing -> the HTML report renders in
Chromium -> apply-best shows the winner's diff -> an impossible gate fails, exits 1 and prd
keeps serving its previous digest -> Ctrl-C during an experiment exits 130 and leaves no
ephemeral agent. Trimmed for time: the LoadTest and the multi-agent specs are dropped and
the experiment's matrix has two variants (the matrix itself is covered in test_matrix).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers.local.runtime import owned_processes
from engine.state.local import LocalStateStore

from .helpers import copy_example
from .test_store_reports import assert_not_blank, screenshot

pytestmark = pytest.mark.slow

PRD = "agent.docs-assistant[prd]"
GATE = "qualitygate.release[tst]"
EXPERIMENT = "experiment.hpo[dev]"


def state(ws: Path):  # type: ignore[no-untyped-def]
    return LocalStateStore(ws / ".agentops").read()


def ephemeral(ws: Path) -> dict[str, list[int]]:
    """Live processes of this workspace whose address is a run's variant (`run/variant`)."""
    wid = state(ws).workspace_id
    return {a: pids for a, pids in owned_processes(wid).items() if "/" in a}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = copy_example(
        tmp_path_factory.mktemp("flywheel"),
        drop=(
            "specs/runs/loadtest.yaml",
            # the orchestrator -> specialist pair and the gate that covers it
            "specs/agents/multi-agent.yaml",
            "specs/runs/delegation-gate.yaml",
            "specs/datasets/delegation.yaml",
        ),
    )
    spec = root / "specs/runs/experiment.yaml"
    spec.write_text(spec.read_text().replace("    model: [fast, smart]\n", ""))
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])
    for pids in owned_processes(state(root).workspace_id).values():
        for pid in pids:  # belt and braces: never leave a process behind
            os.killpg(pid, signal.SIGKILL)


def test_apply_runs_experiment_and_gate_then_promotes(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    out = capsys.readouterr()
    assert "gate passed" in out.err
    s = state(ws)
    gate, exp = s.runs[GATE], s.runs[EXPERIMENT]
    assert gate.status == exp.status == "succeeded"
    # prd received exactly the digest the gate evaluated
    assert s.resources[PRD].digest == gate.summary["agent_digest"]
    assert s.resources["agent.docs-assistant[tst]"].digest == gate.summary["agent_digest"]
    assert gate.summary["verdict"] == "pass" and gate.summary["cases"] == 16
    assert [r["variant"] for r in exp.summary["ranking"]] != []
    assert exp.summary["best"]["values"]["systemPrompt"]["name"] in ("concise", "thorough")
    for path in (*gate.summary["report"].values(), *exp.summary["report"].values()):
        assert (ws / path).is_file()
    assert ephemeral(ws) == {}


def test_unchanged_second_apply_runs_nothing(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = state(ws).runs[GATE].finished_at
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    assert "No changes." in capsys.readouterr().out
    assert state(ws).runs[GATE].finished_at == before


def test_report_renders_in_chromium(ws: Path, tmp_path: Path) -> None:
    html = tmp_path / "exp.html"
    assert main(["-C", str(ws), "report", EXPERIMENT, "--out", str(html)]) == 0
    screenshot(html, tmp_path / "exp.png")
    assert_not_blank(tmp_path / "exp.png")


def test_apply_best_shows_the_winner_as_a_diff(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = ws / "specs/agents/docs-assistant.yaml"
    before = agent.read_text()
    assert main(["-C", str(ws), "experiment", "apply-best", "hpo"]) == 0
    out = capsys.readouterr().out
    assert "-  systemPromptFile: prompts/docs-assistant.md" in out
    assert "+  systemPrompt: >-" in out and "note: agent.docs-assistant:" in out
    assert agent.read_text() == before


def test_impossible_gate_fails_and_prd_keeps_its_version(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = state(ws).resources[PRD].digest
    gate_spec = ws / "specs/runs/release-gate.yaml"
    gate_spec.write_text(gate_spec.read_text().replace("{mean: 0.4}", "{mean: 0.99}"))
    prompt = ws / "prompts/docs-assistant.md"
    prompt.write_text(prompt.read_text() + "\nAlways name the files you used.\n")
    rc = main(["-C", str(ws), "apply", "--auto-approve", "--target", PRD])
    out = capsys.readouterr()
    assert rc == 3  # a verdict: the tool worked, the agent did not pass
    assert "Failed: qualitygate.release[tst]: gate failed: facts mean" in out.err
    assert "< 0.99" in out.err and "report: .agentops/reports/" in out.err
    s = state(ws)
    assert s.runs[GATE].status == "failed" and s.runs[GATE].summary["verdict"] == "fail"
    assert s.runs[GATE].summary["agent_digest"] != served
    assert s.resources[PRD].digest == served
    assert main(["-C", str(ws), "--output", "json", "status"]) == 0
    status = json.dumps(json.loads(capsys.readouterr().out))
    assert served in status
    assert ephemeral(ws) == {}
    # the plan still shows prd blocked behind the failed gate
    assert main(["-C", str(ws), "plan"]) == 0
    assert "agent.docs-assistant[prd] is blocked" in capsys.readouterr().out


def test_ctrl_c_during_an_experiment_tears_every_variant_down(ws: Path) -> None:
    args = ["-C", str(ws), "apply", "--auto-approve", "--target", EXPERIMENT,
            "--force-run", EXPERIMENT]  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from engine.cli import run; run()", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 60
        while not ephemeral(ws) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert ephemeral(ws), "no ephemeral agent appeared"
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, output[-2000:]
    assert ephemeral(ws) == {}
    record = state(ws).runs[EXPERIMENT]
    assert record.status == "failed" and "interrupted" in (record.message or "")

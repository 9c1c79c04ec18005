"""apply-best: the winner into the Agent YAML as a round-trip edit (comments and layout kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.cli import main
from engine.evaluation.writeback import edit_agent, guess_indent
from engine.state.local import LocalStateStore
from engine.state.model import RunRecord, State

from .helpers import tiny_workspace, write

MULTI = """\
# Two agents in one file; the comments and the other document must survive.
apiVersion: agentops/v1
kind: Agent
metadata: {name: other}
spec:
  source: src
  entrypoint: app.py
  model: fast   # keep me
---
# the agent under test
apiVersion: agentops/v1
kind: Agent
metadata:
  name: bot
spec:
  source: src
  entrypoint: app.py
  model: fast  # the model alias
  systemPromptFile: prompts/base.md
  tools:
    - name: docs
      command: python
      args: ["server.py", '--quiet']
  env:
    TONE: plain
  environments: [dev]
"""

LONG = (
    "You are the documentation assistant. Use the overview tool first, then search the docs, "
    "and answer in English with a detailed, thorough explanation that cites the files used."
)


def test_round_trip_keeps_comments_layout_and_other_documents(tmp_path: Path) -> None:
    path = write(tmp_path, "agents.yaml", MULTI)
    values = {"model": "smart", "systemPrompt": LONG, "env.TONE": "formal", "env.NEW": "1"}
    wb = edit_agent(path, "agents.yaml", 1, "bot", values)
    before, after = wb.before.splitlines(), wb.after.splitlines()
    assert after[:9] == before[:9]  # the first document, byte for byte
    for kept in (
        "# the agent under test",
        "  tools:",
        "    - name: docs",
        "      args: [\"server.py\", '--quiet']",
        "  environments: [dev]",
    ):
        assert kept in after
    assert "  model: smart # the model alias" in after  # the comment keeps its column
    assert "  systemPromptFile: prompts/base.md" not in after
    assert after[after.index("  model: smart # the model alias") + 1] == "  systemPrompt: >-"
    assert "    TONE: formal" in after and "    NEW: '1'" in after
    assert len(wb.notes) == 1 and "'systemPromptFile: prompts/base.md' removed" in wb.notes[0]
    diff = wb.diff()
    assert diff.startswith("--- a/agents.yaml\n+++ b/agents.yaml\n")
    assert "-  model: fast  # the model alias" in diff
    # the result reads back to exactly the winning values
    from ruamel.yaml import YAML

    spec = list(YAML(typ="safe").load_all(wb.after))[1]["spec"]
    assert spec["systemPrompt"] == LONG and spec["env"] == {"TONE": "formal", "NEW": "1"}
    assert path.read_text() == MULTI  # nothing written yet
    wb.write()
    assert path.read_text() == wb.after


def test_prompt_file_winner_replaces_an_inline_prompt(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "a.yaml",
        MULTI.replace("systemPromptFile: prompts/base.md", "systemPrompt: Be nice."),
    )
    wb = edit_agent(path, "a.yaml", 1, "bot", {"systemPromptFile": "prompts/alt.md"})
    assert "  systemPromptFile: prompts/alt.md" in wb.after and "Be nice." not in wb.after


def test_indentation_is_detected() -> None:
    assert guess_indent(MULTI) == (2, 4, 2)
    assert guess_indent("a:\n    b:\n    - c\n") == (4, 2, 0)


EXPERIMENT = """\
apiVersion: agentops/v1
kind: Experiment
metadata: {name: hpo}
spec:
  agent: bot
  environment: dev
  dataset: qa
  matrix:
    model: [fast, smart]
  evaluators: [facts]
  objective: {metric: facts}
"""


def _record(status: str, best_model: str = "smart", verdict: str | None = "best") -> RunRecord:
    first = {
        "variant": "v2",
        "label": f"model={best_model}",
        "metric": 0.9,
        "values": {"model": {"name": best_model, "value": best_model}},
    }
    summary: dict[str, object] = {"run_id": "r1", "agent_digest": "old"}
    if verdict is None:  # recorded before experiments had verdicts
        summary["best"] = first
    else:
        summary["verdict"] = verdict
        summary["why"] = "v2 is better" if verdict == "best" else "no variant is better (tie)"
        summary["best" if verdict == "best" else "leader"] = first
    return RunRecord(
        address="experiment.hpo[dev]",
        kind="Experiment",
        inputs_digest="x",
        status=status,  # type: ignore[arg-type]
        started_at="t",
        finished_at="t",
        message=None if status == "succeeded" else "boom",
        summary=summary,
    )


def _apply_best(root: Path, *flags: str) -> int:
    return main(["-C", str(root), "experiment", "apply-best", "hpo", *flags])


def test_cli_shows_the_diff_and_writes_only_with_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_workspace(tmp_path, EXPERIMENT)
    LocalStateStore(tmp_path / ".agentops").write(
        State(runs={"experiment.hpo[dev]": _record("succeeded")})
    )
    agent_file = tmp_path / "specs/agent.yaml"
    before = agent_file.read_text()
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hpo"]) == 0
    out, err = capsys.readouterr()
    assert "-  model: fast\n+  model: smart\n" in out
    assert "best variant v2 (model=smart)" in err and "--write" in err
    assert "changed since the experiment ran" in err  # digest "old" != the agent's digest
    assert agent_file.read_text() == before
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hpo", "--write"]) == 0
    assert "  model: smart\n" in agent_file.read_text()
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hpo"]) == 0
    assert "already has the winning values" in capsys.readouterr().out


def test_cli_errors_are_messages_not_tracebacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_workspace(tmp_path, EXPERIMENT)
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hp"]) == 1
    assert "experiment 'hp' is not declared" in capsys.readouterr().err
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hpo"]) == 1
    err = capsys.readouterr().err
    assert "no evaluation runs are recorded" in err or "no successful run" in err
    LocalStateStore(tmp_path / ".agentops").write(
        State(runs={"experiment.hpo[dev]": _record("failed")})
    )
    assert main(["-C", str(tmp_path), "experiment", "apply-best", "hpo"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert main(["-C", str(tmp_path), "report", "experiment.nope"]) == 1
    assert "no evaluation run" in capsys.readouterr().err


def test_an_inconclusive_run_is_refused_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny_workspace(tmp_path, EXPERIMENT)
    LocalStateStore(tmp_path / ".agentops").write(
        State(runs={"experiment.hpo[dev]": _record("succeeded", verdict="inconclusive")})
    )
    agent_file = tmp_path / "specs/agent.yaml"
    before = agent_file.read_text()
    assert _apply_best(tmp_path, "--write") == 1
    out, err = capsys.readouterr()
    assert "error: experiment.hpo[dev]: run r1 is inconclusive, so it names no winner" in err
    assert "no variant is better (tie)" in err and "pass --force" in err and out == ""
    assert agent_file.read_text() == before
    assert _apply_best(tmp_path, "--force") == 0
    out, err = capsys.readouterr()
    assert "-  model: fast\n+  model: smart\n" in out
    assert "warning: --force: run r1 is inconclusive" in err and "--write --force" in err
    assert agent_file.read_text() == before
    assert _apply_best(tmp_path, "--force", "--write") == 0
    assert "  model: smart\n" in agent_file.read_text()


def test_a_run_recorded_before_verdicts_is_judged_from_the_store_or_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from engine.providers.local.evalstore import EvalStore
    from engine.providers.local.store import LocalStore

    from .test_ranking import tied_run

    tiny_workspace(tmp_path, EXPERIMENT)
    state = LocalStateStore(tmp_path / ".agentops")
    state.write(State(runs={"experiment.hpo[dev]": _record("succeeded", verdict=None)}))
    assert _apply_best(tmp_path) == 1  # no verdict, no cases to judge
    assert "recorded before experiments had verdicts" in capsys.readouterr().err
    # the store has the run's cases: every variant scored the same, so it is inconclusive
    run = tied_run()
    run.run_id = "r1"
    EvalStore(LocalStore(tmp_path / ".agentops" / "store.sqlite")).save(run)
    assert _apply_best(tmp_path) == 1
    assert "run r1 is inconclusive" in capsys.readouterr().err

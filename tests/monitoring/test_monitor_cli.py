"""Monitors through the CLI, on a real local agent (the echo fixture) and real traffic.

apply (the Monitor's first run) -> No changes -> 6 invocations -> the Monitor is due on
`traces_head` -> apply scores them -> status shows its window -> No changes again; an
impossible threshold fails the apply and marks the agent degraded, without re-running on
the same traces; `onBreach: block` holds a breached tst digest back from prd although its
gate passed; `agentops traces` lists, shows and rejects a bad `--since` cleanly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers.local.traces import TraceStore
from engine.state.local import LocalStateStore

from .helpers import (
    cli,
    echo_workspace,
    insert,
    monitor_workspace,
    row,
    run_monitor,
    wait_for_traces,
)

pytestmark = pytest.mark.timeout(60)

LATENCY = "{use: latency, params: {target_ms: 500, max_ms: 3000}}"

MONITOR = """\
apiVersion: agentops/v1
kind: Monitor
metadata: {name: mon}
spec:
  agent: bot
  environment: prd
  evaluators: [LATENCY]
  minTraces: 5
  thresholds: THRESHOLDS
""".replace("LATENCY", LATENCY)

# tst is the canary: its Monitor blocks a breached digest; the gate promotes tst -> prd
CANARY = """\
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
  evaluators:
    - {use: latency, params: {target_ms: 500, max_ms: 3000}, threshold: {mean: 0.1}}
---
apiVersion: agentops/v1
kind: Monitor
metadata: {name: canary}
spec:
  agent: bot
  environment: tst
  evaluators: [LATENCY]
  minTraces: 5
  thresholds: {p95Ms: 0.001}
  onBreach: block
""".replace("LATENCY", LATENCY)


@pytest.fixture
def workspaces(tmp_path: Path) -> Iterator[list[Path]]:
    """Workspaces the test deployed to: destroyed at teardown (no agent process left)."""
    roots: list[Path] = []
    yield roots
    for root in roots:
        main(["-C", str(root), "destroy", "--auto-approve"])


def deploy(root: Path, envs: list[str], specs: str, roots: list[Path]) -> Path:
    roots.append(echo_workspace(root, envs, specs))
    return root


def invoke(
    capsys: pytest.CaptureFixture[str], root: Path, env: str, n: int, total: int = 0
) -> None:
    """`agentops invoke bot` n times; returns once `total` (default n) traces are written."""
    for i in range(n):
        rc, out, err = cli(capsys, root, "invoke", "bot", f"question {i}", "--env", env)
        assert rc == 0, err
        assert f"question {i}" in out
    wait_for_traces(root, env, "bot", total or n)


def test_traffic_makes_the_monitor_due_and_status_shows_its_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspaces: list[Path]
) -> None:
    ws = deploy(tmp_path, ["prd"], MONITOR.replace("THRESHOLDS", "{errorRate: 0.5}"), workspaces)
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    assert "monitor.mon[prd] will run (never run)" in out
    rc, out, _ = cli(capsys, ws, "plan")
    assert (rc, out.strip()) == (0, "No changes.")

    invoke(capsys, ws, "prd", 6)
    rc, out, _ = cli(capsys, ws, "plan")
    assert rc == 0
    assert "monitor.mon[prd] will run (inputs changed: traces_head)" in out
    assert "agent.bot[prd]" not in out.split("will run")[0]  # the agent itself is unchanged

    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    rc, out, _ = cli(capsys, ws, "status")
    assert rc == 0
    line = next(
        ln for ln in out.splitlines() if ln.startswith("monitor.mon[prd] ") and " ok " in ln
    )
    assert line.split()[1:4] == ["ok", "1h", "6"], line  # verdict, window, scored traces
    assert re.search(r"latency \d\.\d\d, p95 \d+ ms, errors 0\.0%$", line), line
    assert "6 of 6 new trace(s) scored" in out
    assert "agent.bot[prd]  healthy" in out
    rc, out, _ = cli(capsys, ws, "plan")
    assert (rc, out.strip()) == (0, "No changes.")

    # the traces of that traffic carry the Monitor's scores
    rc, out, _ = cli(capsys, ws, "traces", "bot", "--env", "prd", "-o", "json")
    traces = json.loads(out)["traces"]
    assert len(traces) == 6
    assert all(set(t["scores"]) == {"latency"} and t["source"] == "production" for t in traces)


def test_impossible_threshold_fails_apply_marks_degraded_and_is_not_rerun(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspaces: list[Path]
) -> None:
    ws = deploy(tmp_path, ["prd"], MONITOR.replace("THRESHOLDS", "{p95Ms: 0.001}"), workspaces)
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err  # no trace yet: inconclusive, never a breach
    invoke(capsys, ws, "prd", 6)

    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc != 0
    assert "monitor breached: latency p95 ms" in out + err
    assert "breached (<= 0.001)" in out + err

    rc, out, _ = cli(capsys, ws, "status")
    assert rc == 0
    assert any(ln.startswith("agent.bot[prd]") and "degraded" in ln for ln in out.splitlines())
    assert any(ln.startswith("monitor.mon[prd]") and "BREACHED" in ln for ln in out.splitlines())
    rc, out, _ = cli(capsys, ws, "status", "-o", "json")
    info = json.loads(out)
    assert info["monitors"][0]["breached"] is True
    assert info["monitors"][0]["address"] == "monitor.mon[prd]"
    agent = next(r for r in info["resources"] if r["address"] == "agent.bot[prd]")
    assert (agent["health"], agent["degraded_by"]) == ("degraded", ["monitor.mon[prd]"])

    # a failed Monitor's failure is its verdict on the traces it saw: not run again on them
    rc, out, _ = cli(capsys, ws, "plan")
    assert (rc, out.strip()) == (0, "No changes.")
    rc, out, _ = cli(capsys, ws, "plan", "-o", "json")
    change = next(c for c in json.loads(out)["changes"] if c["address"] == "monitor.mon[prd]")
    assert change["action"] == "no-op"
    # ...and a new trace makes it due again
    invoke(capsys, ws, "prd", 1, total=7)
    rc, out, _ = cli(capsys, ws, "plan")
    assert "monitor.mon[prd] will run (inputs changed: traces_head)" in out


def test_on_breach_block_holds_the_canary_digest_back_from_prd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workspaces: list[Path]
) -> None:
    ws = deploy(tmp_path, ["tst", "prd"], CANARY, workspaces)
    (ws / "dataset.json").write_text(json.dumps([{"input": {"prompt": "ping"}}]))
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve", "--env", "tst")
    assert rc == 0, out + err
    invoke(capsys, ws, "tst", 6)
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve", "--env", "tst")
    assert rc != 0
    assert "monitor breached: latency p95 ms" in out + err

    state = LocalStateStore(ws / ".agentops").read()
    digest = state.resources["agent.bot[tst]"].digest
    gate = state.runs["qualitygate.release[tst]"]
    assert (gate.status, gate.summary["agent_digest"]) == ("succeeded", digest)

    rc, out, _ = cli(capsys, ws, "plan", "-o", "json")
    assert rc == 0
    change = next(c for c in json.loads(out)["changes"] if c["address"] == "agent.bot[prd]")
    assert change["digest"] == digest  # prd would receive the digest that breached in tst
    assert (change["action"], change["then"]) == ("blocked", "create")
    assert change["blocked_by"] == "monitor.canary[tst]"
    detail = " ".join(r["detail"] or "" for r in change["reasons"])
    assert f"breached on digest {digest} (onBreach: block)" in detail
    rc, out, _ = cli(capsys, ws, "plan")
    assert f"monitor.canary[tst] breached on digest {digest} (onBreach: block)" in out
    assert "Blocked: 1." in out

    # apply does not deploy it
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert "agent.bot[prd]" not in LocalStateStore(ws / ".agentops").read().resources

    # The block is on the digest that served the breaching traffic, not on a new version
    # whose only traffic in tst is its gate's (source `evaluation`, not judged by the Monitor)
    bot = ws / "specs" / "bot.yaml"
    bot.write_text(bot.read_text().replace("You echo.", "You echo, v2."))
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve", "--env", "tst")
    assert rc != 0  # the window still holds v1's breaching traffic
    assert "qualitygate.release[tst] will run" in out and "monitor.canary[tst] will run" in out
    state = LocalStateStore(ws / ".agentops").read()
    v2 = state.resources["agent.bot[tst]"].digest
    assert v2 != digest and state.runs["qualitygate.release[tst]"].status == "succeeded"
    assert state.runs["monitor.canary[tst]"].summary["digests"] == [digest]
    assert prd_change(capsys, ws)[:2] == (v2, "create")

    # back to v1: blocked again, until a later window of the Monitor passes
    bot.write_text(bot.read_text().replace("You echo, v2.", "You echo."))
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve", "--env", "tst")
    assert "agent.bot[tst] will be updated" in out
    assert prd_change(capsys, ws) == (digest, "blocked", "monitor.canary[tst]")
    runs = ws / "specs" / "runs.yaml"
    runs.write_text(runs.read_text().replace("p95Ms: 0.001", "p95Ms: 100000"))
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve", "--env", "tst")
    assert rc == 0, out + err
    assert "monitor.canary[tst] will run (inputs changed: spec)" in out
    assert prd_change(capsys, ws) == (digest, "create", None)


def prd_change(capsys: pytest.CaptureFixture[str], ws: Path) -> tuple[str, str, str | None]:
    """(digest, action, blocked_by) of agent.bot[prd] in `plan -o json`."""
    rc, out, err = cli(capsys, ws, "plan", "-o", "json")
    assert rc == 0, err
    change = next(c for c in json.loads(out)["changes"] if c["address"] == "agent.bot[prd]")
    return change["digest"], change["action"], change["blocked_by"]


def test_traces_lists_shows_and_rejects_a_bad_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / ".agentops"
    ws = monitor_workspace(tmp_path, f"evaluators: [{LATENCY}]\n")
    rows = [row(prompt=f"question {i}", output=f"answer {i}", latency_ms=40.0) for i in range(3)]
    insert(state, rows)
    assert run_monitor(ws, state).status == "succeeded"

    rc, out, err = cli(capsys, tmp_path, "traces", "bot", "-o", "json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["format_version"] == 1
    assert {t["trace_id"] for t in doc["traces"]} == {r[0] for r in rows}
    assert all(t["scores"] == {"latency": 1.0} for t in doc["traces"])

    rc, out, err = cli(capsys, tmp_path, "traces", "bot")
    assert rc == 0 and "latency=1.00" in out and "question 2" in out

    trace_id = rows[1][0]
    rc, out, err = cli(capsys, tmp_path, "traces", "show", trace_id[:12])
    assert rc == 0, err
    assert trace_id in out
    assert "question 1" in out and "answer 1" in out
    assert "latency" in out and "monitor.mon[prd]" in out

    rc, out, err = cli(capsys, tmp_path, "traces", "show", trace_id[:12], "-o", "json")
    shown = json.loads(out)["trace"]
    assert shown["scores"][0]["monitor"] == "monitor.mon[prd]"

    for argv in (["traces", "bot", "--since", "1x"], ["traces", "show", "0" * 32]):
        rc, out, err = cli(capsys, tmp_path, *argv)
        assert rc == 1, argv
        assert err.startswith("error: "), err
        assert "Traceback" not in out + err
    rc, _, err = cli(capsys, tmp_path, "traces", "bot", "--since", "1x")
    assert "--since: invalid duration '1x'" in err and "hint: e.g. --since 30m" in err
    assert TraceStore(state / "traces.sqlite").head("prd", "bot") == 3

"""A budget refusal end to end, offline, on the local runtime (the echo agent).

tst prices the agent's model and caps the gate's cost: the plan shows the estimate over the
cap, `apply` refuses the gate before starting anything of it (no run recorded, no report),
the independent actions go on (tst's agent and dataset), the promotion it gates is skipped,
and the exit code says an error. With the cap raised the gate runs, and its record holds
the estimate next to what it really used and cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from tests.monitoring.helpers import cli, echo_agent, env_doc, write

pytestmark = pytest.mark.timeout(120)

PRICED = """\
  pricing:
    currency: USD
    models:
      fast: {input: 1000, output: 1000}   # USD 0.001 a token: the echo's few tokens show
"""

GATE = """\
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
    - {use: refusal, threshold: {mean: 0.5}}
  budget:
    maxCost: 0.10
    tokensPerCall: {input: 20, output: 20}
"""


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path
    write(root, "src/echo.py", (Path(__file__).parents[1] / "runtime/fixtures/echo.py").read_text())
    write(root, "environments/tst.yaml", env_doc("tst") + PRICED)
    write(root, "environments/prd.yaml", env_doc("prd"))
    write(root, "specs/bot.yaml", echo_agent(["tst", "prd"]))
    write(root, "specs/runs.yaml", GATE)
    items = [{"id": f"q{i}", "input": {"prompt": f"what is gate {i}?"}} for i in range(3)]
    (root / "dataset.json").write_text(json.dumps(items))
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def test_apply_refuses_a_run_over_budget_before_starting_it(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 3 items x 40 declared tokens x USD 0.001 = USD 0.12 > 0.10
    rc, out, err = cli(capsys, ws, "plan")
    assert rc == 0, err
    assert (
        "      cost: 3 invocations (3 items × 1 variant × 1 repetition), ~120 tokens "
        "(budget.tokensPerCall), ~USD 0.12\n"
        "      budget: maxCost USD 0.10\n"
        "      ✗ apply will not start it: over the budget of qualitygate.release[tst]: "
        "~USD 0.12 > maxCost USD 0.10\n"
    ) in out
    assert "Over budget: apply will not start qualitygate.release[tst]" in out

    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 1, out + err  # an error, not a verdict: nothing was judged
    assert (
        "Error: qualitygate.release[tst]: not started: over the budget of "
        "qualitygate.release[tst]: ~USD 0.12 > maxCost USD 0.10 (raise the budget"
    ) in err + out
    assert "Skipped: agent.bot[prd]: upstream failed: qualitygate.release[tst]" in err + out
    rc, state_out, _ = cli(capsys, ws, "state", "show")
    state = json.loads(state_out)
    assert "✗ qualitygate.release[tst]: not started: over the budget" in err + out
    assert "failed after" not in err + out
    assert "qualitygate.release[tst]" not in state["runs"]  # it never ran
    assert {"agent.bot[tst]", "dataset.golden[tst]"} <= set(state["resources"])
    assert "agent.bot[prd]" not in state["resources"]
    assert not list((ws / ".agentops").glob("reports/qualitygate-*"))

    # raised: it runs, and records the estimate next to the actual usage and cost
    runs = ws / "specs" / "runs.yaml"
    runs.write_text(runs.read_text().replace("maxCost: 0.10", "maxCost: 1.00"))
    rc, out, err = cli(capsys, ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    rc, state_out, _ = cli(capsys, ws, "state", "show")
    cost = json.loads(state_out)["runs"]["qualitygate.release[tst]"]["summary"]["cost"]
    assert cost["estimate"]["amount"] == pytest.approx(0.12)
    assert cost["estimate"]["refused"] is None
    # the echo reports len(prompt) tokens in and out: 3 x 2 x 15
    actual = cost["actual"]
    assert actual["invocations"] == 3 and actual["tokens"] == {
        "input": 45,
        "output": 45,
        "total": 90,
    }
    assert actual["amount"] == pytest.approx(0.09) and actual["currency"] == "USD"
    report = next((ws / ".agentops").glob("reports/qualitygate-release-tst-*.md")).read_text()
    assert (
        "Cost: estimated 3 invocations, ~120 tokens, ~USD 0.12; "
        "actual 3 invocations, 90 tokens, USD 0.09."
    ) in report

    # the next plan estimates from what the run recorded
    rc, out, err = cli(capsys, ws, "plan", "--force-run", "qualitygate.release[tst]", "-o", "json")
    plan = json.loads(out)
    (gate,) = [c for c in plan["changes"] if c["address"] == "qualitygate.release[tst]"]
    assert gate["cost"]["tokens_from"] == "its last run"
    assert gate["cost"]["total_tokens"] == 90 and gate["cost"]["amount"] == pytest.approx(0.09)

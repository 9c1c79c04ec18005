"""The cost estimate of a run and the budgets (engine.planner.cost, engine.planner.budget).

Pure: a workspace on disk, a state in memory, no provider. Counts (items x variants x
repetitions, a load test's shape), tokens per call (this run's record, the same agent's
other runs, the declared estimate), prices per model and for the judge, and the caps.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from engine.planner.budget import attach
from engine.planner.cost import RunCost, estimate, load_invocations
from engine.planner.plan import Action, Change, Plan
from engine.render.plan import render_markdown, render_text
from engine.spec.addresses import Address
from engine.spec.pricing import Tokens, usage_tokens, versus
from engine.spec.schema import LoadTestSpec
from engine.spec.workspace import Workspace, load_workspace
from engine.state.model import RunRecord, State

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: tst}
spec:
  models:
    fast: bedrock:haiku
    smart: bedrock:sonnet
  judge:
    model: openai:gpt-4o-mini
  pricing:
    currency: EUR
    models:
      fast: {input: 1.0, output: 5.0}
      bedrock:sonnet: {input: 3.0, output: 15.0}
      openai:gpt-4o-mini: {input: 0.5, output: 2.0}
%s
"""

SPECS = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: bot}
spec: {source: src, entrypoint: app.py, model: fast}
---
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  items:
    - {input: a, expected_output: {response_facts: [x, y]}}
    - {input: b, expected_output: {response_facts: [x, y]}}
    - {input: c, expected_output: {response_facts: [x, y]}}
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  repetitions: 2
  evaluators:
    - {use: facts, params: {method: lexical}}
    - refusal
%s
---
apiVersion: agentops/v1
kind: Experiment
metadata: {name: hpo}
spec:
  agent: bot
  dataset: golden
  environment: tst
  matrix:
    model: [fast, smart]
    systemPrompt: [short, long]
  evaluators: [facts]
  objective: {metric: facts}
---
apiVersion: agentops/v1
kind: LoadTest
metadata: {name: traffic}
spec:
  agent: bot
  environment: tst
  prompts: [{name: q, prompt: hi}]
  users: 4
  duration: 10s
"""

GATE = Address("QualityGate", "release", "tst")
HPO = Address("Experiment", "hpo", "tst")
LOAD = Address("LoadTest", "traffic", "tst")


def ws_of(tmp_path: Path, env_extra: str = "", gate_extra: str = "") -> Workspace:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "app.py").write_text("")
    (tmp_path / "environments").mkdir(exist_ok=True)
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "environments" / "tst.yaml").write_text(ENV % textwrap.indent(env_extra, "  "))
    (tmp_path / "specs" / "all.yaml").write_text(SPECS % textwrap.indent(gate_extra, "  "))
    ws = load_workspace(tmp_path)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    return ws


def record(address: str, summary: dict[str, object], at: str = "2026-01-01T00:00:00") -> RunRecord:
    return RunRecord(
        address=address,
        kind=Address.parse(address).kind,
        inputs_digest="d",
        status="succeeded",
        started_at=at,
        finished_at=at,
        summary=summary,
    )


def gate_record(input_tokens: int, output_tokens: int, cases: int) -> RunRecord:
    row = {"tokens": {"inputTokens": input_tokens, "outputTokens": output_tokens}}
    return record(str(GATE), {"cases": cases, "aggregate": row})


# --- counts -------------------------------------------------------------------------------


def test_invocations_are_items_times_variants_times_repetitions(tmp_path: Path) -> None:
    ws = ws_of(tmp_path)
    gate = estimate(ws, {}, GATE)
    hpo = estimate(ws, {}, HPO)
    assert gate is not None and hpo is not None
    assert (gate.items, gate.variants, gate.repetitions, gate.invocations) == (3, 1, 2, 6)
    assert (hpo.items, hpo.variants, hpo.repetitions, hpo.invocations) == (3, 4, 1, 12)
    assert hpo.basis == "3 items × 4 variants × 1 repetition"
    # nothing to estimate tokens from: counted, not guessed
    assert gate.tokens is None and gate.total_tokens is None and gate.amount is None
    assert "no recorded run of agent bot" in gate.tokens_from


def test_a_monitor_is_not_estimated(tmp_path: Path) -> None:
    assert estimate(ws_of(tmp_path), {}, Address("Monitor", "m", "tst")) is None


# --- tokens per call ----------------------------------------------------------------------


def test_tokens_come_from_the_runs_last_record(tmp_path: Path) -> None:
    ws = ws_of(tmp_path)
    cost = estimate(ws, {str(GATE): gate_record(900, 90, cases=9)}, GATE)
    assert cost is not None
    # 100 input + 10 output per call, 6 calls
    assert cost.tokens == Tokens(600, 60)
    assert cost.tokens_from == "its last run"
    # fast: EUR 1 / 5 per 1M tokens
    assert cost.amount == pytest.approx((600 * 1.0 + 60 * 5.0) / 1e6)
    assert cost.currency == "EUR"


def test_tokens_come_from_another_run_of_the_same_agent(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, env_extra="budget:\n  tokensPerJudgeCall: {input: 10, output: 0}\n")
    cost = estimate(ws, {str(GATE): gate_record(900, 90, cases=9)}, HPO)
    assert cost is not None
    assert cost.tokens == Tokens(1200, 120)  # 12 invocations x 110
    assert cost.tokens_from == "the last run of qualitygate.release[tst] (same agent)"
    # per variant: fast (2 variants) at 1/5, smart -> bedrock:sonnet (2 variants) at 3/15,
    # and the judge: facts asks it about each of 2 facts of 3 items for 4 variants
    fast = (600 * 1.0 + 60 * 5.0) / 1e6
    smart = (600 * 3.0 + 60 * 15.0) / 1e6
    assert cost.judge_calls == 24
    assert cost.amount == pytest.approx(fast + smart + 240 * 0.5 / 1e6)


def test_a_load_tests_measured_usage_is_per_traced_request(tmp_path: Path) -> None:
    ws = ws_of(tmp_path)
    actual = {"invocations": 100, "tokens_of": 50, "tokens": {"input": 5000, "output": 500}}
    rec = record(str(LOAD), {"overall": {"mean_ms": 500.0}, "cost": {"actual": actual}})
    cost = estimate(ws, {str(LOAD): rec}, LOAD)
    assert cost is not None
    # 4 users x 10 s x (1000 / 500 ms) = 80 requests, 110 tokens each (measured on 50)
    assert cost.invocations == 80
    assert cost.basis == "4 users × 10s × 2 req/s per user (last run)"
    assert cost.tokens == Tokens(8000, 800)


def test_the_declared_estimate_is_used_until_a_run_is_recorded(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, env_extra="budget:\n  tokensPerCall: {input: 1000, output: 200}\n")
    cost = estimate(ws, {}, GATE)
    assert cost is not None
    assert cost.tokens == Tokens(6000, 1200) and cost.tokens_from == "budget.tokensPerCall"
    recorded = estimate(ws, {str(GATE): gate_record(900, 90, cases=9)}, GATE)
    assert recorded is not None and recorded.tokens_from == "its last run"


def test_usage_keys_of_every_answer_shape() -> None:
    assert usage_tokens({"inputTokens": 5, "outputTokens": 2, "totalTokens": 7}) == Tokens(5, 2)
    assert usage_tokens({"prompt_tokens": 5, "completion_tokens": 2}) == Tokens(5, 2)
    # only a total: kept, priced at the output price
    assert usage_tokens({"total_tokens": 9}) == Tokens(0, 0, 9)


# --- judges -------------------------------------------------------------------------------


def test_judge_calls_are_counted_and_priced(tmp_path: Path) -> None:
    gate = "budget:\n  tokensPerJudgeCall: {input: 400, output: 100}\n"
    ws = ws_of(tmp_path, env_extra="budget:\n  tokensPerCall: {input: 100, output: 10}\n")
    # facts by judge (the default when a judge is set): one call per expected fact
    (tmp_path / "specs" / "all.yaml").write_text(
        (tmp_path / "specs" / "all.yaml")
        .read_text()
        .replace("{use: facts, params: {method: lexical}}", "facts")
        .replace("    - refusal\n", "    - refusal\n" + textwrap.indent(gate, "  "), 1)
    )
    ws = load_workspace(tmp_path)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    cost = estimate(ws, {}, GATE)
    assert cost is not None
    assert cost.judge_calls == 3 * 2 * 2  # items x facts x repetitions; refusal: patterns
    assert cost.judge_tokens == Tokens(400 * 12, 100 * 12)
    agent = (600 * 1.0 + 60 * 5.0) / 1e6
    judge = (4800 * 0.5 + 1200 * 2.0) / 1e6
    assert cost.amount == pytest.approx(agent + judge)
    assert cost.total_tokens == 660 + 6000


def test_judge_calls_without_a_token_estimate_leave_the_money_unknown(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, env_extra="budget:\n  tokensPerCall: {input: 100, output: 10}\n")
    hpo = estimate(ws, {}, HPO)  # facts by judge, no tokensPerJudgeCall
    assert hpo is not None
    assert hpo.judge_calls == 3 * 2 * 4
    assert hpo.tokens is not None and hpo.judge_tokens is None
    assert hpo.total_tokens is None and hpo.amount is None


# --- load tests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "count", "basis"),
    [
        ({"arrivalRate": 5, "duration": "10s"}, 50, "5 req/s × 10s"),
        ({"users": 3, "duration": "20s"}, 60, "3 users × 20s × 1 req/s per user (assumed)"),
        ({"users": 3, "duration": "20s", "requests": 25}, 25, "25 requests (the shape allows ~60)"),
        ({"users": 3, "requests": 500}, 500, "500 requests"),
        (
            {"steps": [{"duration": 5, "arrivalRate": 2}, {"duration": 10, "arrivalRate": 4}]},
            50,
            "2 ramp steps over 15s",
        ),
    ],
)
def test_load_test_invocations_from_its_shape(
    shape: dict[str, object], count: int, basis: str
) -> None:
    spec = LoadTestSpec.model_validate(
        {"agent": "bot", "environment": "tst", "prompts": [{"name": "q", "prompt": "hi"}], **shape}
    )
    assert load_invocations(spec, None) == (count, basis)


# --- budgets ------------------------------------------------------------------------------


def run_change(address: Address) -> Change:
    return Change(str(address), address.kind, Action.RUN, "local-eval")


def test_a_run_over_its_own_budget_is_refused(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, gate_extra="budget: {maxInvocations: 5, maxCost: 1}\n")
    changes = [run_change(GATE), run_change(HPO)]
    budgets = attach(ws, State(runs={str(GATE): gate_record(900, 90, 9)}), changes)
    gate, hpo = changes[0].cost, changes[1].cost
    assert gate is not None and hpo is not None
    assert gate.refused == (
        "over the budget of qualitygate.release[tst]: 6 invocations > maxInvocations 5"
    )
    assert hpo.refused is None and hpo.budget is None
    assert budgets == []


def test_an_environment_budget_caps_the_sum_of_its_runs(tmp_path: Path) -> None:
    env = "budget:\n  maxCost: 0.01\n  tokensPerCall: {input: 1000, output: 100}\n"
    ws = ws_of(tmp_path, env_extra=env)
    changes = [run_change(GATE), run_change(LOAD)]
    (budget,) = attach(ws, State(), changes)
    # gate: 6 x (1000 x 1 + 100 x 5) / 1M = 0.009; load: 40 x 0.0015 = 0.06
    assert budget.cap.source == "environment.tst"
    assert budget.amount == pytest.approx(0.009 + 0.06)
    assert budget.refused is not None and "EUR 0.07 > maxCost EUR 0.01" in budget.refused
    for change in changes:
        assert change.cost is not None and change.cost.refused is not None
        assert change.cost.refused.endswith("(the sum of 2 run(s) in this plan)")
    # either one alone fits
    (alone,) = attach(ws, State(), [run_change(GATE)])
    assert alone.refused is None


def test_a_budget_that_cannot_be_checked_refuses_the_run(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, gate_extra="budget: {maxTokens: 100000}\n")
    change = run_change(GATE)
    attach(ws, State(), [change])
    assert change.cost is not None
    assert change.cost.refused == (
        "cannot check maxTokens of qualitygate.release[tst]: no token estimate (no recorded "
        "run of agent bot and no budget.tokensPerCall): declare budget.tokensPerCall"
    )


# --- the plan -----------------------------------------------------------------------------


def test_the_plan_shows_the_estimate_against_the_cap_and_round_trips(tmp_path: Path) -> None:
    ws = ws_of(tmp_path, gate_extra="budget: {maxInvocations: 5, maxCost: 1}\n")
    plan = Plan([run_change(GATE), run_change(HPO)], "lineage", 3, "digest")
    plan.budgets = attach(ws, State(runs={str(GATE): gate_record(900, 90, 9)}), plan.changes)
    text = render_text(plan)
    assert (
        "      cost: 6 invocations (3 items × 1 variant × 2 repetitions), ~660 tokens (its last "
        "run), ~EUR 0.0009\n"
        "      budget: maxCost EUR 1.00, maxInvocations 5\n"
        "      ✗ apply will not start it: over the budget of qualitygate.release[tst]: "
        "6 invocations > maxInvocations 5\n"
    ) in text
    assert "Estimated cost of 2 runs: 18 invocations" in text
    assert "Over budget: apply will not start qualitygate.release[tst]" in text
    md = render_markdown(plan)
    assert "| `qualitygate.release[tst]` | 6 (3 items × 1 variant × 2 repetitions) |" in md
    assert "❌ over the budget of qualitygate.release[tst]" in md
    data = json.loads(json.dumps(plan.to_json()))
    assert data["format_version"] == 1
    assert data["cost"]["refused"] == ["qualitygate.release[tst]"]
    assert data["changes"][0]["cost"]["budget"]["max_invocations"] == 5
    again = Plan.from_json(data)
    assert again.changes[0].cost == plan.changes[0].cost
    assert again.to_json() == plan.to_json()
    # a plan saved before costs existed still loads
    for c in data["changes"]:
        del c["cost"]
    del data["cost"]
    assert all(c.cost is None for c in Plan.from_json(data).changes)


def test_estimate_versus_actual_reads_in_one_line() -> None:
    est = RunCost(6, "", tokens=Tokens(600, 60), amount=0.0009, price_table=True).to_json()
    actual = {"invocations": 6, "total_tokens": 700, "amount": 0.001, "currency": "USD"}
    assert versus({"estimate": est, "actual": actual}) == (
        "estimated 6 invocations, ~660 tokens, ~USD 0.0009; "
        "actual 6 invocations, 700 tokens, USD 0.0010"
    )
    assert versus({"estimate": None, "actual": None}) is None

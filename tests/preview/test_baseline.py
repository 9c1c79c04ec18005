"""Baseline comparison: paired by item x repetition, seeded bootstrap, maxRegression; which
baseline a gate has (promoted, or declared), and its validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.evaluation.baseline import compare, paired_bootstrap
from engine.evaluation.baseline_store import BaselineRef, resolve
from engine.evaluation.cases import CaseResult
from engine.evaluators.base import Score
from engine.spec.schema import QualityGateSpec
from engine.spec.workspace import load_workspace
from tests.monitoring.helpers import echo_workspace


def case(item: str, rep: int, value: float, latency: float = 100.0) -> CaseResult:
    return CaseResult(
        item, 0, rep, True, "", None, latency, scores={"facts": Score("facts", value)}
    )


def test_the_bootstrap_is_deterministic_and_paired() -> None:
    pairs = [(0.5, 0.9), (0.6, 0.8), (0.4, 0.9), (0.7, 0.9)]
    assert paired_bootstrap(pairs) == paired_bootstrap(pairs)
    lo, hi = paired_bootstrap(pairs) or (0.0, 0.0)
    assert 0 < lo <= hi
    assert paired_bootstrap([(0.5, 0.9)]) is None


def test_deltas_match_cases_by_item_and_repetition() -> None:
    old = [case("a", 0, 0.9), case("b", 0, 0.8), case("a", 1, 0.9), case("c", 0, 1.0)]
    new = [case("a", 0, 0.5), case("b", 0, 0.4), case("a", 1, 0.5), case("d", 0, 1.0)]
    cmp = compare(new, old, ["facts"], {"facts": 0.1}, baseline_run="r1", baseline_digest="d1")
    facts = cmp.deltas[0]
    assert facts.metric == "facts" and facts.pairs == 3
    assert facts.baseline == pytest.approx(2.6 / 3) and facts.new == pytest.approx(1.4 / 3)
    assert facts.delta == pytest.approx(-0.4)
    assert facts.significant and facts.regressed
    assert [d.metric for d in cmp.regressed] == ["facts"]
    latency = cmp.deltas[1]
    assert latency.metric == "latency_ms" and latency.delta == 0 and not latency.significant


def test_no_baseline_says_so() -> None:
    cmp = compare([case("a", 0, 1.0)], None, ["facts"], {})
    assert cmp.deltas == [] and "no baseline" in cmp.note


def test_max_regression_names_a_metric_of_the_gate() -> None:
    base = {"agent": "bot", "dataset": "d", "environment": "tst", "evaluators": [{"use": "facts"}]}
    spec = QualityGateSpec.model_validate({**base, "maxRegression": {"facts": 0.05}})
    assert spec.max_regression == {"facts": 0.05}
    with pytest.raises(ValidationError, match="unknown metric 'fact'"):
        QualityGateSpec.model_validate({**base, "maxRegression": {"fact": 0.05}})
    with pytest.raises(ValidationError, match="must be >= 0"):
        QualityGateSpec.model_validate({**base, "maxRegression": {"latency_ms": -1}})


def test_a_declared_baseline_is_a_digest_or_an_environment() -> None:
    base = {"agent": "bot", "dataset": "d", "environment": "tst", "evaluators": [{"use": "facts"}]}
    spec = QualityGateSpec.model_validate({**base, "baseline": {"digest": "6a525fb08f43a77c"}})
    assert spec.baseline is not None and spec.baseline.digest == "6a525fb08f43a77c"
    for wrong in ({}, {"digest": "6a525fb08f43a77c", "environment": "prd"}):
        with pytest.raises(ValidationError, match="exactly one of 'digest' or 'environment'"):
            QualityGateSpec.model_validate({**base, "baseline": wrong})
    with pytest.raises(ValidationError, match="digest"):
        QualityGateSpec.model_validate({**base, "baseline": {"digest": "not hex"}})


def test_the_baseline_is_the_promoted_digest_unless_declared() -> None:
    base = {
        "agent": "bot",
        "dataset": "d",
        "environment": "tst",
        "promotes": ["stg", "prd"],
        "evaluators": [{"use": "facts"}],
    }
    deployed = {"agent.bot[prd]": "d-prd", "agent.bot[dev]": "d-dev"}
    spec = QualityGateSpec.model_validate(base)
    promoted = BaselineRef("release", "d-prd", "promoted in prd")
    assert resolve("release", spec, deployed.get) == promoted
    spec = QualityGateSpec.model_validate({**base, "baseline": {"environment": "dev"}})
    declared = BaselineRef("release", "d-dev", "deployed in dev")
    assert resolve("release", spec, deployed.get) == declared
    spec = QualityGateSpec.model_validate({**base, "baseline": {"digest": "abcdef12"}})
    ref = resolve("release", spec, deployed.get)
    assert ref is not None and ref.digest == "abcdef12" and ref.declared
    assert resolve("release", QualityGateSpec.model_validate(base), {}.get) is None


def test_a_baseline_environment_must_exist_and_run_the_agent(tmp_path: Path) -> None:
    specs = GATE.replace("promotes: [prd]", "promotes: [prd]\n  baseline: {environment: prdd}")
    ws = load_workspace(echo_workspace(tmp_path / "a", ["tst", "prd"], specs))
    (d,) = [d for d in ws.diagnostics if d.severity == "error"]
    assert str(d.location).startswith("specs/runs.yaml:") and "'prdd' does not exist" in d.message
    assert d.hint and "prd" in d.hint
    specs = GATE.replace("promotes: [prd]", "promotes: [prd]\n  baseline: {environment: dev}")
    ws = load_workspace(echo_workspace(tmp_path / "b", ["tst", "prd", "dev"], specs))
    bot = ws.root / "specs" / "bot.yaml"
    bot.write_text(bot.read_text().replace("[tst, prd, dev]", "[tst, prd]"))
    ws = load_workspace(ws.root)
    (d,) = [d for d in ws.diagnostics if d.severity == "error"]
    assert "agent 'bot' does not run in 'dev'" in d.message


GATE = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  items: [{input: hi}]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  promotes: [prd]
  evaluators: [refusal]
"""

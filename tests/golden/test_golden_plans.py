"""Golden plan outputs (text, markdown, JSON) for a set of cases.

Refresh with `pytest tests/golden --update-golden` (or UPDATE_GOLDEN=1) and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine.planner.plan import Plan
from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.fake import FakeProvider
from engine.providers.registry import Registry
from engine.providers.runs.inputs import run_inputs
from engine.render.plan import render_json, render_markdown, render_text
from engine.spec.addresses import Address
from engine.spec.graph import GraphNode
from engine.state.model import RunRecord
from tests.reconciler.util import run_apply, run_plan, workspace, write

HERE = Path(__file__).parent

GATE = """\
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: a-0
  dataset: d-0
  environment: dev
  promotes: [prd]
  evaluators:
    - use: facts
      threshold: {mean: 0.5}
"""


class FakeJobs:
    name: ClassVar[str] = "fake-jobs"
    kinds: ClassVar[frozenset[str]] = frozenset({"QualityGate", "Experiment"})

    def __init__(self, status: str = "succeeded") -> None:
        self.status = status

    def inputs(self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
        return run_inputs(node, ctx, digests)

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        return RunResult(
            self.status,
            {"agent_digest": inputs.attrs["agent_digest"]},
            None if self.status == "succeeded" else "facts mean 0.2 < 0.5",
        )


def registry(root: Path, jobs: FakeJobs | None = None) -> Registry:
    fake = FakeProvider(root / "world.json")
    return Registry(
        [fake],
        [jobs or FakeJobs()],
        route=lambda n, _w: "fake-jobs" if n.kind in FakeJobs.kinds else "fake",
    )


def case_create(root: Path) -> Plan:
    workspace(root, envs=("dev", "prd"), agents=2)
    return run_plan(root, registry(root))


def case_update_with_secret(root: Path) -> Plan:
    workspace(root, agents=1, datasets=0)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + "  secrets:\n    API_KEY: env:OLD_KEY\n")
    reg = registry(root)
    run_apply(root, reg)
    text = (
        spec.read_text()
        .replace("env:OLD_KEY", "env:NEW_KEY")
        .replace("systemPrompt: hello", "systemPrompt: hello there")
    )
    spec.write_text(text + "  env:\n    LOG_LEVEL: debug\n")
    return run_plan(root, reg)


def case_drift_and_orphan(root: Path) -> Plan:
    workspace(root, agents=2, chain=False)
    reg = registry(root)
    run_apply(root, reg)
    world = json.loads((root / "world.json").read_text())
    for res in world.values():
        if res["tags"]["address"] == "dataset.d-0[dev]":
            res["digest"] = "edited-in-ui"
    (root / "world.json").write_text(json.dumps(world))
    workspace(root, agents=1, chain=False)
    return run_plan(root, reg)


def case_gate_blocks_promotion(root: Path) -> Plan:
    workspace(root, envs=("dev", "prd"), agents=1)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE)
    reg = registry(root, FakeJobs("failed"))
    run_apply(root, reg)  # the gate fails: prd never receives a-0
    return run_plan(root, reg)


def case_gate_runs_first(root: Path) -> Plan:
    workspace(root, envs=("dev", "prd"), agents=1)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE)
    return run_plan(root, registry(root))


def case_gate_callee_changed(root: Path) -> Plan:
    # a-0 calls a-1: the gate on a-0 covers both; a new a-1 digest waits for it again
    workspace(root, envs=("dev", "prd"), agents=2)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE)
    reg = registry(root)
    run_apply(root, reg)
    text = spec.read_text()
    head, tail = text.split("metadata: {name: a-1}", 1)
    spec.write_text(head + "metadata: {name: a-1}" + tail.replace("hello", "hello, a-1", 1))
    return run_plan(root, reg)


def case_gate_ungated_agent(root: Path) -> Plan:
    # a-1 is independent of a-0 and no gate covers it: it is blocked in prd
    workspace(root, envs=("dev", "prd"), agents=2, chain=False)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE)
    reg = registry(root)
    run_apply(root, reg)
    return run_plan(root, reg)


def case_gate_covers(root: Path) -> Plan:
    # covers: [a-1]: the gate vouches for a-1's digest in dev; both wait for it
    workspace(root, envs=("dev", "prd"), agents=2, chain=False)
    spec = root / "specs/all.yaml"
    spec.write_text(spec.read_text() + GATE + "  covers: [a-1]\n")
    return run_plan(root, registry(root))


def case_destroy(root: Path) -> Plan:
    workspace(root, agents=2)
    reg = registry(root)
    run_apply(root, reg)
    return run_plan(root, reg, destroy=True)


def case_no_changes(root: Path) -> Plan:
    workspace(root, agents=1)
    reg = registry(root)
    run_apply(root, reg)
    return run_plan(root, reg)


CASES = {
    f.__name__.removeprefix("case_"): f
    for f in (
        case_create,
        case_update_with_secret,
        case_drift_and_orphan,
        case_gate_blocks_promotion,
        case_gate_runs_first,
        case_gate_callee_changed,
        case_gate_ungated_agent,
        case_gate_covers,
        case_destroy,
        case_no_changes,
    )
}


def normalise(text: str, plan: Plan) -> str:
    text = text.replace(plan.lineage, "<lineage>")
    return re.sub(r'"prior_serial": \d+', '"prior_serial": "<serial>"', text)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_plan(
    case: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLD_KEY", "s3cr3t-old-value")
    monkeypatch.setenv("NEW_KEY", "s3cr3t-new-value")
    plan = CASES[case](tmp_path)
    outputs = {
        "plan.txt": render_text(plan),
        "plan.md": render_markdown(plan),
        "plan.json": render_json(plan),
    }
    update = request.config.getoption("--update-golden", default=False) or os.environ.get(
        "UPDATE_GOLDEN"
    )
    for name, text in outputs.items():
        text = normalise(text, plan)
        assert "s3cr3t" not in text  # secrets never reach plan output
        path = HERE / case / name
        if update:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        assert path.exists(), f"missing {path}: run pytest tests/golden --update-golden"
        assert text == path.read_text(), f"{path} differs: review, then --update-golden"


def _unused(x: Any) -> None:  # keep write imported for case authors
    write(x, "", "")

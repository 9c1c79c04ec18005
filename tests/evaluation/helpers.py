"""Helpers for the evaluation tests: tiny workspaces, fake invocations, hand-made cases."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from engine.evaluation.cases import CaseResult
from engine.evaluation.run import EvalRun
from engine.evaluators import Score
from engine.invoke import InvocationResult
from engine.spec.datasets import LoadedItem
from engine.spec.workspace import Workspace, load_workspace

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = (
    "environments",
    "specs",
    "agents",
    "docs",
    "evaluators",
    "prompts",
    "dataset.json",
    "load_config.json",
)

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: dev}
spec:
  models: {fast: "offline:keyword", smart: "offline:semantic"}
"""

AGENT = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: bot}
spec:
  source: src
  entrypoint: app.py
  model: fast
  systemPromptFile: prompts/base.md
  env: {TONE: plain}
"""

DATASET = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: qa}
spec:
  items:
    - {input: {question: q1}, expected_output: {response_facts: [a]}}
    - {input: {question: q2}, expected_output: {response_facts: [b]}}
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def tiny_workspace(root: Path, experiment: str) -> Workspace:
    """An environment, agent `bot`, dataset `qa` and the given Experiment spec body."""
    write(root, "src/app.py", "app = None\n")
    write(root, "prompts/base.md", "Be helpful.\n")
    write(root, "prompts/alt.md", "Be brief.\n")
    write(root, "environments/dev.yaml", ENV)
    write(root, "specs/agent.yaml", AGENT)
    write(root, "specs/dataset.yaml", DATASET)
    write(root, "specs/experiment.yaml", experiment)
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    return ws


def copy_example(dst: Path, *, drop: Sequence[str] = ()) -> Path:
    """The repository's example workspace in `dst`, without the given relative paths."""
    for name in EXAMPLE:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst / name)
    for rel in drop:
        (dst / rel).unlink()
    return dst


def items(n: int) -> list[LoadedItem]:
    return [
        LoadedItem(f"i-{k}", k, {"question": f"q{k}"}, {"response_facts": [f"fact {k}"]}, {})
        for k in range(n)
    ]


def answer(
    text: str = "ok", *, ok: bool = True, ms: float = 10.0, usage: Mapping[str, int] | None = None
) -> InvocationResult:
    return InvocationResult(
        ok=ok,
        status_code=200 if ok else 0,
        response=text if ok else "",
        trajectory=[{"tool": "search", "input": {"q": text}}] if ok else [],
        usage=dict(usage or {}),
        raw=None,
        latency_ms=ms,
        session_id="s",
        error=None if ok else "connection refused",
    )


def case(
    item: str,
    rep: int,
    scores: Mapping[str, float | None],
    *,
    ms: float = 100.0,
    ok: bool = True,
    errors: Sequence[str] = (),
) -> CaseResult:
    out = {}
    for label, value in scores.items():
        if not ok:  # what evaluate_safely gives every evaluator for a failed call
            out[label] = Score(label, 0.0, "call failed: failed")
        elif label in errors:
            out[label] = Score(label, None, error="ValueError: boom")
        elif value is None:
            out[label] = Score(label, None, "n/a", skipped=True)
        else:
            out[label] = Score(label, value)
    return CaseResult(
        item, 0, rep, ok, "x" if ok else "", None if ok else "failed", ms, {}, [], out
    )


def make_run(kind: str = "Experiment", *, reps: int = 2) -> EvalRun:
    """A finished run built by hand: two variants (experiment) or one (gate)."""
    from engine.evaluation.gate import evaluate_gate
    from engine.evaluation.results import EvaluatorInfo, aggregate
    from engine.evaluation.run import EvalRun, VariantRun
    from engine.spec.schema import LatencyLimits

    gated = kind == "QualityGate"
    infos = [
        EvaluatorInfo("facts", "facts", mean=0.6 if gated else None),
        EvaluatorInfo("trajectory", "trajectory", pass_rate=0.8 if gated else None),
    ]
    variants = []
    for n, (base, ms) in enumerate([(0.9, 120.0), (0.4, 80.0)][: 1 if gated else 2]):
        cases = [
            case(
                f"i-{k}",
                r,
                {"facts": round(base - 0.1 * (k % 3), 2), "trajectory": 1.0},
                ms=ms + 10 * k + r,
                ok=(k != 4 or n == 0),
            )
            for r in range(reps)
            for k in range(6)
        ]
        cases[0].scores["trajectory"] = Score("trajectory", None, error="KeyError: 'x'")
        name = "candidate" if gated else f"v{n + 1}"
        values = {} if gated else {"model": {"name": ["fast", "smart"][n], "value": "m"}}
        label = "bot@d1" if gated else f"model={['fast', 'smart'][n]}"
        variants.append(
            VariantRun(
                name, label, values, f"digest{n}", "offline:keyword", aggregate(cases, infos), cases
            )
        )
    run = EvalRun(
        run_id=f"{kind.lower()}-x-dev-20260101T000000-abcd",
        address="qualitygate.release[tst]" if gated else "experiment.hpo[dev]",
        kind=kind,
        name="release" if gated else "hpo",
        env="tst" if gated else "dev",
        agent="bot",
        dataset="qa",
        status="succeeded",
        message=None,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00",
        inputs_digest="in",
        agent_digest="d1",
        dataset_digest="ds",
        repetitions=reps,
        evaluators=infos,
        variants=variants,
        timings={"deploy": 1.0, "cases": 2.0, "teardown": 0.5, "total": 3.5},
    )
    if gated:
        run.latency_limits = {"p50_ms": None, "p95_ms": 150.0, "p99_ms": None}
        run.max_errors = 0
        run.gate = evaluate_gate(
            variants[0].aggregate,
            infos,
            latency=LatencyLimits(p95_ms=150.0),
            max_errors=0,
            inconclusive="fail",
        )
        run.status = "succeeded" if run.gate.passed else "failed"
    else:
        from engine.providers.runs.eval_runner import judge
        from engine.spec.schema import ExperimentSpec

        judge(run, ExperimentSpec.model_validate(EXPERIMENT_SPEC))
    return run


#: the spec `make_run` judges an experiment with (only the objective matters to `judge`)
EXPERIMENT_SPEC = {
    "agent": "bot",
    "environment": "dev",
    "dataset": "qa",
    "evaluators": ["facts", "trajectory"],
    "objective": {"metric": "facts"},
}

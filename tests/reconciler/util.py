"""Helpers for reconciler tests: tiny workspaces and an in-process plan/apply on fakes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from engine.planner.plan import Plan
from engine.planner.planner import PlanOptions
from engine.providers.fake import FakeCall, FakeProvider
from engine.providers.registry import Registry
from engine.reconcile import apply, make_plan, open_session, prepare
from engine.spec.workspace import load_workspace

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {{name: {name}}}
spec:
  models:
    fast: "offline:keyword"
"""

AGENT = """\
apiVersion: agentops/v1
kind: Agent
metadata: {{name: {name}}}
spec:
  source: src
  entrypoint: app.py
  model: fast
  systemPrompt: {prompt}
  calls: {calls}
  environments: {envs}
"""

DATASET = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {{name: {name}}}
spec:
  environments: {envs}
  items:
{items}
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def workspace(
    root: Path,
    *,
    envs: tuple[str, ...] = ("dev",),
    agents: int = 2,
    datasets: int = 1,
    items: int = 2,
    prompt: str = "hello",
    chain: bool = True,
) -> Path:
    """Environments, `agents` agents (a-0 calls a-1 ... when chain), `datasets` datasets."""
    write(root, "src/app.py", "app = None\n")
    for e in envs:
        write(root, f"environments/{e}.yaml", ENV.format(name=e))
    docs = []
    for i in range(agents):
        calls = [f"a-{i + 1}"] if chain and i + 1 < agents else []
        docs.append(
            AGENT.format(name=f"a-{i}", prompt=prompt, calls=calls, envs=list(envs)).replace(
                "'", ""
            )
        )
    for d in range(datasets):
        lines = "\n".join(f"    - {{input: {{question: q{d}-{n}}}}}" for n in range(items))
        docs.append(DATASET.format(name=f"d-{d}", envs=list(envs), items=lines).replace("'", ""))
    write(root, "specs/all.yaml", "---\n".join(docs))
    return root


def fake_registry(root: Path, handler: Any = None) -> tuple[Registry, FakeProvider]:
    fake = FakeProvider(root / "world.json", handler)
    return Registry([fake], [], route=lambda _n, _w: "fake"), fake


def run_plan(root: Path, registry: Registry, **opts: Any) -> Plan:
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    with open_session(ws, "plan", registry=registry) as s:
        observed = prepare(s)
        return make_plan(s, PlanOptions(**opts), observed)


def run_apply(root: Path, registry: Registry, parallelism: int = 4, **opts: Any) -> Any:
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    with open_session(ws, "apply", registry=registry) as s:
        observed = prepare(s)
        plan = make_plan(s, PlanOptions(**opts), observed)
        return plan, apply(s, plan, parallelism=parallelism)


__all__ = ["FakeCall"]

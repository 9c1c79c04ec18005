"""Tiny AgentCore workspaces and in-process plan/apply against moto."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import boto3

from engine.planner.plan import Plan
from engine.planner.planner import PlanOptions
from engine.providers.registry import Registry
from engine.reconcile import apply, make_plan, open_session, prepare
from engine.spec.workspace import load_workspace
from engine.state.local import LocalStateStore
from engine.state.model import State

from .conftest import BUCKET, REGION

APP = """\
from bedrock_agentcore import BedrockAgentCoreApp
app = BedrockAgentCoreApp()

@app.entrypoint
def invoke(payload):
    return {"response": "ok"}

if __name__ == "__main__":
    app.run()
"""

ENVIRONMENT = """\
apiVersion: agentops/v1
kind: Environment
metadata: {{name: {name}}}
spec:
  runtime: agentcore
  aws:
    region: {region}
    artifactBucket: {bucket}
    deploy: {deploy}
    vendorDependencies: {vendor}
    readyTimeout: {ready}
{extra}  models:
    fast: "{model}"
"""

SPECIALIST = """\
apiVersion: agentops/v1
kind: Agent
metadata: {{name: specialist}}
spec:
  source: src
  entrypoint: specialist/app.py
  include: ["specialist/**", "requirements.txt"]
  requirements: requirements.txt
  model: fast
  systemPrompt: {prompt}
  env: {{MODE: {mode}}}
"""
SECRET = """  secrets: {API_KEY: "ssm:/agentops/test/api-key"}
"""

ORCHESTRATOR = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: orchestrator}
spec:
  source: src
  entrypoint: orchestrator/app.py
  include: ["orchestrator/**", "requirements.txt"]
  requirements: requirements.txt
  model: fast
  systemPrompt: Delegate numbers to the specialist.
  calls: [specialist]
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def workspace(
    root: Path,
    *,
    endpoint_url: str | None = None,
    deploy: str = "code",
    prompt: str = "You compute statistics.",
    mode: str = "exact",
    extra: str = "",
    orchestrator: bool = True,
    env: str = "prd",
    model: str = "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0",
    secret: bool = True,
    region: str = REGION,
    bucket: str = BUCKET,
    vendor: bool = False,
    ready: str = "20s",
) -> Path:
    """An AgentCore environment, a specialist (with an ssm: secret) and an orchestrator."""
    write(root, "src/specialist/app.py", APP)
    write(root, "src/orchestrator/app.py", APP)
    write(root, "src/requirements.txt", "bedrock-agentcore>=1.25\n")
    if deploy == "container":
        write(root, "Dockerfile", (Path(__file__).parents[2] / "Dockerfile").read_text())
    if endpoint_url:
        extra += f"    endpointUrl: {endpoint_url}\n"
    text = ENVIRONMENT.format(
        name=env,
        region=region,
        bucket=bucket,
        deploy=deploy,
        extra=extra,
        model=model,
        vendor=str(vendor).lower(),
        ready=ready,
    )
    write(root, f"environments/{env}.yaml", text)
    docs = [SPECIALIST.format(prompt=prompt, mode=mode) + (SECRET if secret else "")]
    if orchestrator:
        docs.append(ORCHESTRATOR)
    write(root, "specs/agents.yaml", "---\n".join(docs))
    return root


def put_secret(endpoint_url: str | None = None) -> None:
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=endpoint_url)
    ssm.put_parameter(Name="/agentops/test/api-key", Value="do-not-print-me", Type="SecureString")


def registry(root: Path) -> Registry:
    return Registry.default(root / ".agentops")


def plan(root: Path, **opts: Any) -> Plan:
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    with open_session(ws, "plan", registry=registry(root)) as s:
        return make_plan(s, PlanOptions(**opts), prepare(s, observe=not opts.get("destroy")))


def apply_all(root: Path, **opts: Any) -> tuple[Plan, Any]:
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    with open_session(ws, "apply", registry=registry(root)) as s:
        observed = prepare(s, observe=not opts.get("destroy"))
        p = make_plan(s, PlanOptions(**opts), observed)
        result = apply(s, p)
    failed = [(o.address, o.message) for o in result.outcomes if o.status != "ok"]
    assert not failed, failed
    return p, result


def state(root: Path) -> State:
    return LocalStateStore(root / ".agentops").read()


def actions(p: Plan) -> dict[str, str]:
    return {c.address: c.action.value for c in p.changes}


def control(endpoint_url: str | None = None) -> Any:
    return boto3.client("bedrock-agentcore-control", region_name=REGION, endpoint_url=endpoint_url)


def runtimes(endpoint_url: str | None = None) -> list[dict[str, Any]]:
    cp = control(endpoint_url)
    out = []
    for page in cp.get_paginator("list_agent_runtimes").paginate():
        out.extend(page["agentRuntimes"])
    return out

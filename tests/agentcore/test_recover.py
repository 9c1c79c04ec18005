"""Crash recovery of the AgentCore provider, case by case (the CLI sweep covers every k).

A pending operation left by a crash is resolved before planning: the runtime an interrupted
create made is adopted (found by name, proven ours by tags, picked by its idempotency
token), owned duplicates are deleted, leftovers of a create that made no runtime are torn
down, and an interrupted delete is finished. Nothing owned by anyone else is touched.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from engine.applier import idempotency_token
from engine.providers.agentcore.names import TAG_TOKEN, names_for
from engine.providers.agentcore.provider import AgentCoreProvider
from engine.providers.base import Context
from engine.reconcile import open_session
from engine.spec.workspace import load_workspace
from engine.state.model import PendingOp

from .conftest import REGION
from .helpers import apply_all, control, put_secret, registry, runtimes, state, workspace

pytestmark = pytest.mark.usefixtures("aws")
ADDRESS = "agent.specialist[prd]"


def context(root: Path) -> tuple[Context, str]:
    ws = load_workspace(root)
    with open_session(ws, "plan", registry=registry(root)) as s:
        return Context(
            workspace=ws, state_dir=root / ".agentops", workspace_id=s.state.workspace_id
        ), s.state.lineage


def squat(name: str, tags: dict[str, str]) -> str:
    return str(
        control().create_agent_runtime(
            agentRuntimeName=name,
            agentRuntimeArtifact={"containerConfiguration": {"containerUri": "x"}},
            roleArn="arn:aws:iam::123456789012:role/x",
            networkConfiguration={"networkMode": "PUBLIC"},
            tags=tags,
        )["agentRuntimeId"]
    )


def test_interrupted_create_adopts_by_token_and_deletes_owned_duplicates(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    put_secret()
    ctx, lineage = context(tmp_path)
    names = names_for(ADDRESS, ctx.workspace_id)
    token = idempotency_token(lineage, ADDRESS, "create", "d1")
    stale = squat(
        names.runtime, {**names.tags("d0"), TAG_TOKEN: "agentops-other-token-xxxxxxxxxxxxxxxxx"}
    )
    made = squat(names.runtime, {**names.tags("d1"), TAG_TOKEN: token})
    foreign = squat(names.runtime, {"agentops:workspace": "someone-else"})
    pending = PendingOp(
        address=ADDRESS, kind="Agent", provider="agentcore", op="create", token=token, digest="d1"
    )
    res = AgentCoreProvider(tmp_path / ".agentops").recover(pending, None, ctx)
    assert res is not None and res.provider_id == made and res.digest == "d1"
    assert {r["agentRuntimeId"] for r in runtimes()} == {made, foreign}
    assert stale not in {r["agentRuntimeId"] for r in runtimes()}


def test_interrupted_create_without_a_runtime_removes_its_leftovers(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    ctx, lineage = context(tmp_path)
    # Simulate: the runtime is gone but its role and artifacts were made by a create.
    rid = next(r["agentRuntimeId"] for r in runtimes())
    control().delete_agent_runtime(agentRuntimeId=rid)
    pending = PendingOp(
        address=ADDRESS,
        kind="Agent",
        provider="agentcore",
        op="create",
        token=idempotency_token(lineage, ADDRESS, "create", "x"),
    )
    assert AgentCoreProvider(tmp_path / ".agentops").recover(pending, None, ctx) is None
    iam = boto3.client("iam", region_name=REGION)
    assert iam.list_roles(PathPrefix="/agentops/")["Roles"] == []


def test_an_interrupted_delete_is_finished(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    ctx, lineage = context(tmp_path)
    prior = state(tmp_path).resources[ADDRESS]
    pending = PendingOp(
        address=ADDRESS,
        kind="Agent",
        provider="agentcore",
        op="delete",
        token=idempotency_token(lineage, ADDRESS, "delete", prior.digest),
    )
    assert AgentCoreProvider(tmp_path / ".agentops").recover(pending, prior, ctx) is None
    assert runtimes() == []
    assert boto3.client("iam", region_name=REGION).list_roles()["Roles"] == []

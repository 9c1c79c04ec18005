"""The AgentCore provider end to end in-process: plan -> apply -> plan, updates, drift, destroy.

Runs against moto's `mock_aws` (S3, IAM, SSM, STS, bedrock-agentcore-control). Where moto
differs from AWS the tests adapt (see the package docstring), never the provider.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from engine.errors import PermanentError
from engine.providers.agentcore import sources
from engine.providers.agentcore.names import TAG_DIGEST, names_for
from engine.state.local import LocalStateStore

from .conftest import BUCKET, REGION
from .helpers import (
    actions,
    apply_all,
    control,
    plan,
    put_secret,
    runtimes,
    state,
    workspace,
)

pytestmark = pytest.mark.usefixtures("aws")

SPECIALIST = "agent.specialist[prd]"
ORCHESTRATOR = "agent.orchestrator[prd]"


def live(address: str, root: Path) -> dict:
    rid = state(root).resources[address].provider_id
    return control().get_agent_runtime(agentRuntimeId=rid)


def test_plan_apply_plan_converges(tmp_path: Path) -> None:
    workspace(tmp_path)
    put_secret()
    assert actions(plan(tmp_path)) == {SPECIALIST: "create", ORCHESTRATOR: "create"}
    apply_all(tmp_path)
    second = plan(tmp_path)
    assert not second.has_changes, [(c.address, c.reasons) for c in second.changes]

    st = state(tmp_path)
    names = {r["agentRuntimeName"] for r in runtimes()}
    assert names == {names_for(a, st.workspace_id).runtime for a in (SPECIALIST, ORCHESTRATOR)}
    spec = live(SPECIALIST, tmp_path)
    assert spec["status"] == "READY"
    env = spec["environmentVariables"]
    # The secret is passed by NAME; its value is nowhere: not in the runtime, not in state.
    assert env["AGENTOPS_SECRET_API_KEY_SSM"] == "/agentops/test/api-key"
    assert "do-not-print-me" not in json.dumps(env)
    assert "do-not-print-me" not in (tmp_path / ".agentops" / "state.json").read_text()
    assert env["MODE"] == "exact" and env["DOCKER_CONTAINER"] == "1"
    code = spec["agentRuntimeArtifact"]["codeConfiguration"]
    assert code["entryPoint"] == ["agentops_main.py"] and code["runtime"] == "PYTHON_3_11"
    assert code["code"]["s3"]["bucket"] == BUCKET
    # A2A: the callee's ARN and pinned endpoint are injected into the caller.
    orch_env = live(ORCHESTRATOR, tmp_path)["environmentVariables"]
    assert orch_env["AGENTOPS_AGENT_SPECIALIST_ARN"] == st.resources[SPECIALIST].outputs["arn"]
    assert orch_env["AGENTOPS_AGENT_SPECIALIST_QUALIFIER"] == "live"
    # Every runtime has the agentops endpoint, pinned to its version, and ownership tags.
    for address in (SPECIALIST, ORCHESTRATOR):
        res = st.resources[address]
        ep = control().get_agent_runtime_endpoint(
            agentRuntimeId=res.provider_id, endpointName="live"
        )
        assert ep["status"] == "READY" and ep["targetVersion"] == res.outputs["version"]
        tags = control().list_tags_for_resource(
            resourceArn=live(address, tmp_path)["agentRuntimeArn"]
        )
        assert tags["tags"][TAG_DIGEST] == res.digest
        assert names_for(address, st.workspace_id).owns(tags["tags"])
        # AgentCore forwards the headers saying whose traffic a call is (gates, load tests)
        allowed = live(address, tmp_path)["requestHeaderConfiguration"]
        assert allowed == {"requestHeaderAllowlist": list(sources.ALLOWLIST)}
        assert res.private["config"]["requestHeaderConfiguration"] == allowed


def test_a_runtime_without_the_header_allowlist_is_updated_to_it(tmp_path: Path) -> None:
    """A runtime applied before agentops declared its allowlist (its recorded configuration
    and AgentCore's lack it): the plan shows the drift, apply sends it, then no changes."""
    from moto.bedrockagentcorecontrol.models import bedrockagentcorecontrol_backends

    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    store = LocalStateStore(tmp_path / ".agentops")
    st = store.read()
    res = st.resources[SPECIALIST]
    del res.private["config"]["requestHeaderConfiguration"]
    store.write(st)
    backend = bedrockagentcorecontrol_backends["123456789012"][REGION]
    backend.agent_runtimes[res.provider_id].request_header_configuration = None
    assert "requestHeaderConfiguration" not in live(SPECIALIST, tmp_path)

    change = plan(tmp_path).changes[0]
    assert change.action.value == "update"
    detail = " ".join(r.detail or "" for r in change.reasons)
    assert "requestHeaderConfiguration.requestHeaderAllowlist" in detail
    assert sources.SOURCE_HEADER.lower() in detail
    apply_all(tmp_path)
    allowed = live(SPECIALIST, tmp_path)["requestHeaderConfiguration"]["requestHeaderAllowlist"]
    assert allowed == list(sources.ALLOWLIST)
    assert not plan(tmp_path).has_changes
    # changed behind agentops' back (one header dropped): drift, healed by apply
    backend.agent_runtimes[res.provider_id].request_header_configuration = {
        "requestHeaderAllowlist": [sources.TAGS_HEADER]
    }
    change = plan(tmp_path).changes[0]
    assert change.action.value == "update"
    assert "requestHeaderConfiguration" in " ".join(r.detail or "" for r in change.reasons)
    apply_all(tmp_path)
    assert not plan(tmp_path).has_changes


def test_unchanged_agent_uploads_nothing(tmp_path: Path) -> None:
    workspace(tmp_path)
    put_secret()
    apply_all(tmp_path)
    s3 = boto3.client("s3", region_name=REGION)
    before = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    # Only the orchestrator's prompt changes: its zip key is the same, the specialist's too.
    text = (tmp_path / "specs/agents.yaml").read_text()
    (tmp_path / "specs/agents.yaml").write_text(text.replace("Delegate numbers", "Delegate"))
    apply_all(tmp_path)
    after = {o["Key"]: o["LastModified"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert after == before
    # A code change makes a new, content-addressed key (the old one stays for rollbacks).
    (tmp_path / "src/specialist/app.py").write_text("# changed\n")
    apply_all(tmp_path)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert len(keys) == len(before) + 1


def test_changed_prompt_and_env_update_with_the_full_configuration(tmp_path: Path) -> None:
    workspace(tmp_path)
    put_secret()
    apply_all(tmp_path)
    rid = state(tmp_path).resources[SPECIALIST].provider_id
    workspace(tmp_path, prompt="You are terse.", mode="approximate")
    p = plan(tmp_path)
    assert actions(p)[SPECIALIST] == "update"
    change = next(c for c in p.changes if c.address == SPECIALIST)
    assert {d.path for d in change.field_diffs} == {"system_prompt", "env.MODE"}
    apply_all(tmp_path)
    after = live(SPECIALIST, tmp_path)
    assert after["agentRuntimeId"] == rid and after["agentRuntimeVersion"] == "2"
    env = after["environmentVariables"]
    # Full configuration: the unchanged variables are all still there after the update.
    assert env["AGENTOPS_SYSTEM_PROMPT"] == "You are terse." and env["MODE"] == "approximate"
    assert env["AGENTOPS_SECRET_API_KEY_SSM"] == "/agentops/test/api-key"
    assert after["networkConfiguration"] == {"networkMode": "PUBLIC"}
    assert after["protocolConfiguration"] == {"serverProtocol": "HTTP"}
    ep = control().get_agent_runtime_endpoint(agentRuntimeId=rid, endpointName="live")
    assert ep["targetVersion"] == "2"
    assert not plan(tmp_path).has_changes


def test_drift_behind_the_engines_back_is_planned_and_healed(tmp_path: Path) -> None:
    workspace(tmp_path)
    put_secret()
    apply_all(tmp_path)
    cp = control()
    spec = live(SPECIALIST, tmp_path)
    # 1. a tag changed: shown as drift, healed by apply
    cp.tag_resource(resourceArn=spec["agentRuntimeArn"], tags={TAG_DIGEST: "tampered"})
    p = plan(tmp_path)
    assert actions(p) == {SPECIALIST: "update", ORCHESTRATOR: "no-op"}
    apply_all(tmp_path)
    assert not plan(tmp_path).has_changes
    # 2. an env var changed (full update made outside): drift names the variable, not values
    spec = live(SPECIALIST, tmp_path)
    config = {k: spec[k] for k in ("agentRuntimeArtifact", "roleArn", "networkConfiguration")}
    env = {**spec["environmentVariables"], "MODE": "secret-value-set-by-hand"}
    cp.update_agent_runtime(
        agentRuntimeId=spec["agentRuntimeId"], environmentVariables=env, **config
    )
    p = plan(tmp_path)
    change = next(c for c in p.changes if c.address == SPECIALIST)
    assert change.action.value == "update"
    detail = " ".join(r.detail or "" for r in change.reasons)
    assert "env.MODE" in detail and "secret-value-set-by-hand" not in detail
    apply_all(tmp_path)
    assert live(SPECIALIST, tmp_path)["environmentVariables"]["MODE"] == "exact"
    assert not plan(tmp_path).has_changes
    # 3. the runtime deleted: planned as create, recreated, and the caller re-wired to it
    cp.delete_agent_runtime(agentRuntimeId=spec["agentRuntimeId"])
    p = plan(tmp_path)
    assert actions(p) == {SPECIALIST: "create", ORCHESTRATOR: "update"}
    apply_all(tmp_path)
    st = state(tmp_path)
    assert st.resources[SPECIALIST].provider_id != spec["agentRuntimeId"]
    orch_env = live(ORCHESTRATOR, tmp_path)["environmentVariables"]
    assert orch_env["AGENTOPS_AGENT_SPECIALIST_ARN"] == st.resources[SPECIALIST].outputs["arn"]
    assert not plan(tmp_path).has_changes
    assert len(runtimes()) == 2


def test_a_missing_endpoint_is_drift(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    rid = state(tmp_path).resources[SPECIALIST].provider_id
    control().delete_agent_runtime_endpoint(agentRuntimeId=rid, endpointName="live")
    assert actions(plan(tmp_path)) == {SPECIALIST: "update"}
    apply_all(tmp_path)
    assert control().get_agent_runtime_endpoint(agentRuntimeId=rid, endpointName="live")
    assert not plan(tmp_path).has_changes


def test_least_privilege_roles(tmp_path: Path) -> None:
    workspace(tmp_path)
    put_secret()
    apply_all(tmp_path)
    iam = boto3.client("iam", region_name=REGION)
    st = state(tmp_path)
    spec_arn = st.resources[SPECIALIST].outputs["arn"]

    def policy(address: str) -> dict:
        role = names_for(address, st.workspace_id).role
        return iam.get_role_policy(RoleName=role, PolicyName="agentops")["PolicyDocument"]

    def statement(doc: dict, sid: str) -> dict | None:
        return next((s for s in doc["Statement"] if s.get("Sid") == sid), None)

    orch, spec = policy(ORCHESTRATOR), policy(SPECIALIST)
    invoke = statement(orch, "InvokeCallees")
    assert invoke is not None
    assert invoke["Resource"] == [spec_arn, f"{spec_arn}/runtime-endpoint/*"]
    assert statement(spec, "InvokeCallees") is None  # calls nobody: may invoke nobody
    secrets = statement(spec, "Secrets")
    assert secrets is not None and secrets["Resource"] == [
        "arn:aws:ssm:us-east-1:123456789012:parameter/agentops/test/api-key"
    ]
    assert statement(orch, "Secrets") is None
    wildcard = [r for s in orch["Statement"] for r in s["Resource"] if r.endswith(":runtime/*")]
    assert wildcard == []  # the seed allowed every runtime in the account
    role = iam.get_role(RoleName=names_for(SPECIALIST, st.workspace_id).role)["Role"]
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_destroy_removes_exactly_what_the_workspace_created(tmp_path: Path) -> None:
    iam = boto3.client("iam", region_name=REGION)
    s3 = boto3.client("s3", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    iam.create_role(RoleName="someone-elses", AssumeRolePolicyDocument=trust)
    s3.put_object(Bucket=BUCKET, Key="not-ours.txt", Body=b"x")
    foreign = control().create_agent_runtime(
        agentRuntimeName="someone_elses_agent",
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": "x"}},
        roleArn="arn:aws:iam::123456789012:role/someone-elses",
        networkConfiguration={"networkMode": "PUBLIC"},
    )
    workspace(tmp_path)
    put_secret()
    apply_all(tmp_path)
    assert len(runtimes()) == 3
    p, _ = apply_all(tmp_path, destroy=True)
    assert actions(p) == {ORCHESTRATOR: "delete", SPECIALIST: "delete"}
    assert [r["agentRuntimeId"] for r in runtimes()] == [foreign["agentRuntimeId"]]
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["someone-elses"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["not-ours.txt"]
    assert not state(tmp_path).resources


def test_a_given_execution_role_is_used_and_never_touched(tmp_path: Path) -> None:
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    arn = iam.create_role(RoleName="platform-agents", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    workspace(tmp_path, extra=f"    executionRoleArn: {arn}\n")
    put_secret()
    apply_all(tmp_path)
    assert live(SPECIALIST, tmp_path)["roleArn"] == arn
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["platform-agents"]
    assert iam.list_role_policies(RoleName="platform-agents")["PolicyNames"] == []
    apply_all(tmp_path, destroy=True)
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["platform-agents"]


def test_a_name_taken_by_a_runtime_we_do_not_own_is_an_error(tmp_path: Path) -> None:
    from engine.reconcile import open_session

    from .helpers import registry

    workspace(tmp_path, orchestrator=False)
    put_secret()
    # The state (and so the workspace id) exists before anyone squats the name.
    from engine.spec.workspace import load_workspace

    with open_session(load_workspace(tmp_path), "plan", registry=registry(tmp_path)) as s:
        wid = s.state.workspace_id
    control().create_agent_runtime(
        agentRuntimeName=names_for(SPECIALIST, wid).runtime,
        agentRuntimeArtifact={"containerConfiguration": {"containerUri": "x"}},
        roleArn="arn:aws:iam::123456789012:role/x",
        networkConfiguration={"networkMode": "PUBLIC"},
        tags={"agentops:workspace": "another-workspace"},
    )
    with pytest.raises(AssertionError, match="never adopts"):
        apply_all(tmp_path)
    assert len(runtimes()) == 1


def test_secrets_must_be_ssm_and_must_exist(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    with pytest.raises(AssertionError, match="does not exist") as err:
        apply_all(tmp_path)
    assert "do-not-print-me" not in str(err.value)
    spec = (tmp_path / "specs/agents.yaml").read_text()
    (tmp_path / "specs/agents.yaml").write_text(
        spec.replace("ssm:/agentops/test/api-key", "env:KEY")
    )
    with pytest.raises(PermanentError, match="must be ssm:/path"):
        plan(tmp_path)


def test_environment_settings_changes_are_planned_and_applied(tmp_path: Path) -> None:
    """AWS settings are not in the agent's digest (gates compare digests): they show as drift."""
    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    iam = boto3.client("iam", region_name=REGION)
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    arn = iam.create_role(RoleName="platform-agents", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    workspace(tmp_path, orchestrator=False, extra=f"    executionRoleArn: {arn}\n")
    change = plan(tmp_path).changes[0]
    assert change.action.value == "update"
    assert "aws.executionRoleArn" in " ".join(r.detail or "" for r in change.reasons)
    apply_all(tmp_path)
    assert live(SPECIALIST, tmp_path)["roleArn"] == arn
    # the managed role it replaced is gone; the given one is untouched
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]] == ["platform-agents"]
    assert not plan(tmp_path).has_changes


def test_moving_to_another_region_recreates_there_and_cleans_up_here(tmp_path: Path) -> None:
    workspace(tmp_path, orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    old = state(tmp_path).resources[SPECIALIST].provider_id
    west = "us-west-2"
    boto3.client("s3", region_name=west).create_bucket(
        Bucket="agentops-artifacts-west", CreateBucketConfiguration={"LocationConstraint": west}
    )
    boto3.client("ssm", region_name=west).put_parameter(
        Name="/agentops/test/api-key", Value="do-not-print-me", Type="SecureString"
    )
    workspace(tmp_path, orchestrator=False, region=west, bucket="agentops-artifacts-west")
    change = plan(tmp_path).changes[0]
    assert change.action.value == "update" and "aws.region" in change.reasons[0].detail
    apply_all(tmp_path)
    res = state(tmp_path).resources[SPECIALIST]
    assert res.outputs["region"] == west and res.provider_id != old
    assert runtimes() == []  # us-east-1: the old runtime is gone
    cp_west = boto3.client("bedrock-agentcore-control", region_name=west)
    assert [r["agentRuntimeId"] for r in cp_west.list_agent_runtimes()["agentRuntimes"]] == [
        res.provider_id
    ]
    assert "Contents" not in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    assert len(boto3.client("iam", region_name=REGION).list_roles()["Roles"]) == 1
    assert not plan(tmp_path).has_changes

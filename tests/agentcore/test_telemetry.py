"""AgentCore + Langfuse: agents export their spans, and no secret reaches the runtime (moto).

The seed set `OTEL_EXPORTER_OTLP_ENDPOINT` and `Authorization: Basic base64(pk:sk)` among the
runtime's environment variables, which AgentCore stores and shows in plaintext. Here the
runtime carries the endpoint and the key parameters' NAMES only, and its role may read
exactly those parameters; the agent reads them itself (tests/agents/test_telemetry.py).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import boto3
import pytest

from engine.errors import PermanentError
from engine.providers.agentcore.telemetry import telemetry_for
from engine.spec.schema.environment import EnvironmentSpec

from .conftest import REGION
from .helpers import actions, apply_all, control, plan, put_secret, state, workspace

pytestmark = pytest.mark.usefixtures("aws")

SPECIALIST = "agent.specialist[prd]"
ORCHESTRATOR = "agent.orchestrator[prd]"
PUBLIC, SECRET = "pk-lf-1234567890abcdef", "sk-lf-fedcba0987654321"
LANGFUSE = """\
  store: langfuse
  langfuse:
    host: {host}
    publicKey: ssm:/langfuse/LANGFUSE_PUBLIC_KEY
    secretKey: ssm:/langfuse/LANGFUSE_SECRET_KEY
"""


def langfuse_workspace(root: Path, host: str = "https://cloud.langfuse.com") -> Path:
    workspace(root)
    env = root / "environments" / "prd.yaml"
    text = env.read_text().replace("  models:\n", LANGFUSE.format(host=host) + "  models:\n")
    env.write_text(text)
    return root


def put_keys() -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/langfuse/LANGFUSE_PUBLIC_KEY", Value=PUBLIC, Type="String")
    ssm.put_parameter(Name="/langfuse/LANGFUSE_SECRET_KEY", Value=SECRET, Type="SecureString")


def live_env(root: Path, address: str) -> dict[str, str]:
    rid = state(root).resources[address].provider_id
    env: dict[str, str] = control().get_agent_runtime(agentRuntimeId=rid)["environmentVariables"]
    return env


def role_policy(root: Path, address: str) -> dict[str, Any]:
    role = state(root).resources[address].private["role"]["arn"].rsplit("/", 1)[1]
    doc = boto3.client("iam").get_role_policy(RoleName=role, PolicyName="agentops")
    policy: dict[str, Any] = doc["PolicyDocument"]
    return policy


def ssm_reads(policy: dict[str, Any]) -> dict[str, set[str]]:
    """Statement id -> the parameter ARNs it lets the role `ssm:GetParameter`."""
    out: dict[str, set[str]] = {}
    for st in policy["Statement"]:
        actions_ = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        if any(a.startswith("ssm:") or a == "*" for a in actions_):
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out[st["Sid"]] = set(res)
    return out


def test_the_runtime_carries_the_endpoint_and_key_names_never_a_key(tmp_path: Path) -> None:
    langfuse_workspace(tmp_path)
    put_secret()
    put_keys()
    apply_all(tmp_path)
    again = plan(tmp_path)
    assert not again.has_changes, [(c.address, c.reasons) for c in again.changes]

    pair = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
    for address in (SPECIALIST, ORCHESTRATOR):
        env = live_env(tmp_path, address)
        assert env["AGENTOPS_OTLP_ENDPOINT"] == "https://cloud.langfuse.com/api/public/otel"
        assert env["AGENTOPS_LANGFUSE_PUBLIC_KEY_REF"] == "ssm:/langfuse/LANGFUSE_PUBLIC_KEY"
        assert env["AGENTOPS_LANGFUSE_SECRET_KEY_REF"] == "ssm:/langfuse/LANGFUSE_SECRET_KEY"
        assert env["OTEL_SERVICE_NAME"] == address.split(".")[1].split("[")[0]
        digest = state(tmp_path).resources[address].digest
        assert f"agentops.address={address}" in env["OTEL_RESOURCE_ATTRIBUTES"]
        assert f"agentops.digest={digest}" in env["OTEL_RESOURCE_ATTRIBUTES"]
        # No value holds a key, the key pair, or the header the seed put there.
        for key, value in env.items():
            for secret in (PUBLIC, SECRET, pair, f"{PUBLIC}:{SECRET}"):
                assert secret not in value, key
        assert not any(k.startswith("OTEL_EXPORTER_OTLP") for k in env)
    blob = (tmp_path / ".agentops" / "state.json").read_text()
    assert PUBLIC not in blob and SECRET not in blob and pair not in blob

    # The role reads exactly the two key parameters for the export; the specialist's own
    # secret stays in its own statement, and the orchestrator (no secrets) reads nothing else.
    arn = f"arn:aws:ssm:{REGION}:123456789012:parameter/langfuse/LANGFUSE_"
    keys = {arn + "PUBLIC_KEY", arn + "SECRET_KEY"}
    api_key = {f"arn:aws:ssm:{REGION}:123456789012:parameter/agentops/test/api-key"}
    spec_policy = role_policy(tmp_path, SPECIALIST)
    assert ssm_reads(spec_policy) == {"TelemetryKeys": keys, "Secrets": api_key}
    telemetry = next(s for s in spec_policy["Statement"] if s["Sid"] == "TelemetryKeys")
    assert telemetry["Action"] == "ssm:GetParameter" and telemetry["Effect"] == "Allow"
    assert ssm_reads(role_policy(tmp_path, ORCHESTRATOR)) == {"TelemetryKeys": keys}


def test_a_moved_langfuse_host_is_drift_and_apply_heals_it(tmp_path: Path) -> None:
    langfuse_workspace(tmp_path)
    put_secret()
    put_keys()
    apply_all(tmp_path)
    langfuse_workspace(tmp_path, host="https://us.cloud.langfuse.com/")
    moved = plan(tmp_path)
    assert actions(moved) == {SPECIALIST: "update", ORCHESTRATOR: "update"}
    apply_all(tmp_path)
    endpoint = live_env(tmp_path, SPECIALIST)["AGENTOPS_OTLP_ENDPOINT"]
    assert endpoint == "https://us.cloud.langfuse.com/api/public/otel"
    assert not plan(tmp_path).has_changes


def test_a_missing_key_parameter_stops_the_deploy_by_name(tmp_path: Path) -> None:
    langfuse_workspace(tmp_path)
    put_secret()
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/langfuse/LANGFUSE_PUBLIC_KEY", Value=PUBLIC, Type="String")
    with pytest.raises(AssertionError, match="/langfuse/LANGFUSE_SECRET_KEY, which does not"):
        apply_all(tmp_path)


def test_a_host_reference_is_passed_by_name_and_readable_by_the_role() -> None:
    spec = EnvironmentSpec.model_validate(
        {
            "store": "langfuse",
            "langfuse": {
                "host": "ssm:/langfuse/LANGFUSE_HOST",
                "publicKey": "ssm:/langfuse/pk",
                "secretKey": "ssm:/langfuse/sk",
            },
        }
    )
    got = telemetry_for(spec, env_name="prd", agent="a", address="agent.a[prd]", digest="d")
    assert got.env["AGENTOPS_LANGFUSE_HOST_REF"] == "ssm:/langfuse/LANGFUSE_HOST"
    assert "AGENTOPS_OTLP_ENDPOINT" not in got.env
    assert sorted(got.parameters.values()) == [
        "/langfuse/LANGFUSE_HOST",
        "/langfuse/pk",
        "/langfuse/sk",
    ]
    local = EnvironmentSpec.model_validate({"store": "local"})
    assert telemetry_for(local, env_name="dev", agent="a", address="x", digest="d").env == {}


def test_env_references_are_refused_even_past_validation() -> None:
    spec = EnvironmentSpec.model_validate(
        {"store": "langfuse", "langfuse": {"publicKey": "env:PK", "secretKey": "ssm:/sk"}}
    )
    with pytest.raises(PermanentError, match="langfuse.publicKey is an env: reference") as err:
        telemetry_for(spec, env_name="prd", agent="a", address="agent.a[prd]", digest="d")
    assert "ssm:/langfuse/publicKey" in (err.value.hint or "")

"""Pure parts of the AgentCore provider: names, tags, error translation, packaging, policies."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import PermanentError, TemporaryError
from engine.providers.agentcore.artifacts import (
    deterministic_zip,
    launcher,
    vendor_command,
)
from engine.providers.agentcore.errors import translate, translate_core
from engine.providers.agentcore.names import address_tag, names_for
from engine.providers.agentcore.policies import model_resources
from engine.providers.agentcore.runtime import config_drift, derived_token

RUNTIME_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")
dns = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?", fullmatch=True)


@given(agent=dns, env=dns, ws=st.from_regex(r"[0-9a-f]{12}", fullmatch=True))
def test_names_are_valid_for_every_service(agent: str, env: str, ws: str) -> None:
    names = names_for(f"agent.{agent}[{env}]", ws)
    assert RUNTIME_NAME.match(names.runtime)
    assert len(names.role) <= 64 and len(names.build_role) <= 64
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{1,254}", names.build_project)
    assert re.fullmatch(
        r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*", names.repository
    )
    assert len(names.image_tag("0" * 20)) <= 128
    assert all(TAG_VALUE.match(v) for v in names.tags("abc").values())
    assert names_for(f"agent.{agent}[{env}]", ws) == names  # stable


def test_names_are_unique_where_sanitising_would_collide() -> None:
    ws = "0123456789ab"
    pairs = [("agent.a-b[c]", "agent.a[b-c]"), ("agent.x[prd]", "agent.x[prd2]")]
    for one, two in pairs:
        assert names_for(one, ws).runtime != names_for(two, ws).runtime
    long = "a" * 48
    assert names_for(f"agent.{long}[{long}]", ws) != names_for(f"agent.{long}[{long[:-1]}b]", ws)
    # two workspaces never share a name for the same address
    assert (
        names_for("agent.x[prd]", ws).runtime != names_for("agent.x[prd]", "ba9876543210").runtime
    )


def test_ownership_needs_workspace_and_address() -> None:
    names = names_for("agent.x[prd]", "w1")
    assert address_tag("agent.x[prd]") == "agent.x@prd"
    assert names.owns(names.tags())
    assert not names.owns({**names.tags(), "agentops:workspace": "w2"})
    assert not names.owns({**names.tags(), "agentops:address": "agent.y@prd"})
    assert not names.owns({})


def client_error(
    code: str, status: int = 400, headers: dict[str, str] | None = None
) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} happened"},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers or {}},
        },
        "CreateAgentRuntime",
    )


def test_errors_name_the_resource_and_the_permission_or_quota() -> None:
    svc, op, res = "bedrock-agentcore-control", "CreateAgentRuntime", "AgentCore runtime x"
    denied = translate(client_error("AccessDeniedException", 403), svc, op, res)
    assert isinstance(denied, PermanentError)
    assert "bedrock-agentcore:CreateAgentRuntime" in str(denied) and res in str(denied)
    assert denied.hint and "bedrock-agentcore:CreateAgentRuntime" in denied.hint
    quota = translate(client_error("ServiceQuotaExceededException", 402), svc, op, res)
    assert isinstance(quota, PermanentError) and "quota" in str(quota).lower()
    bad = translate(client_error("ValidationException"), svc, op, res)
    assert isinstance(bad, PermanentError) and "ValidationException happened" in str(bad)
    throttled = translate(
        client_error("ThrottlingException", 429, {"retry-after": "7"}), svc, op, res
    )
    assert isinstance(throttled, TemporaryError) and throttled.delay == 7.0
    assert isinstance(
        translate(client_error("InternalServerException", 500), svc, op, res), TemporaryError
    )
    assert "s3:GetObject" in str(
        translate(client_error("AccessDenied", 403), "s3", "HeadObject", "k")
    )


def test_sdk_errors_are_translated_too() -> None:
    creds = translate_core(NoCredentialsError(), "s3", "PutObject", "s3://b/k")
    assert isinstance(creds, PermanentError) and creds.hint
    down = translate_core(EndpointConnectionError(endpoint_url="https://x"), "s3", "PutObject", "k")
    assert isinstance(down, TemporaryError)


def test_client_tokens_are_deterministic_and_valid() -> None:
    token = "agentops-" + "a" * 40
    assert derived_token(token) == token
    one, two = derived_token(token, "update", "1"), derived_token(token, "update", "2")
    assert one != two and one == derived_token(token, "update", "1")
    assert all(33 <= len(t) <= 256 for t in (one, two))


def test_zips_are_deterministic(tmp_path: Path) -> None:
    a = deterministic_zip({"b.py": b"2", "a.py": b"1"})
    b = deterministic_zip({"a.py": b"1", "b.py": b"2"})
    assert a == b
    names = zipfile.ZipFile(io.BytesIO(a)).namelist()
    assert names == ["a.py", "b.py"]


def test_the_launcher_runs_the_entrypoint_from_the_package_root(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "agents/orchestrator").mkdir(parents=True)
    (tmp_path / "agents/orchestrator/app.py").write_text(
        "import os, sys, vendored\nprint(os.getcwd(), __name__, vendored.X)\n"
    )
    (tmp_path / "vendored.py").write_text("X = 42\n")
    (tmp_path / "agentops_main.py").write_text(launcher("agents/orchestrator/app.py"))
    out = subprocess.run(
        [sys.executable, str(tmp_path / "agentops_main.py")],
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.split() == [str(tmp_path), "__main__", "42"]


def test_vendoring_targets_linux_arm64_wheels_only(tmp_path: Path) -> None:
    cmd = vendor_command(tmp_path / "requirements.txt", "PYTHON_3_12", tmp_path / "out")
    assert cmd[cmd.index("--platform") + 1] == "manylinux2014_aarch64"
    assert cmd[cmd.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in cmd and "--target" in cmd


def test_model_permissions_are_exact() -> None:
    assert model_resources("offline:keyword", "aws", "us-east-1", "1") == []
    assert model_resources("bedrock:anthropic.claude-v2", "aws", "us-east-1", "1") == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-v2"
    ]
    assert model_resources("bedrock:us.anthropic.claude-haiku", "aws", "us-east-1", "1") == [
        "arn:aws:bedrock:*::foundation-model/anthropic.claude-haiku",
        "arn:aws:bedrock:us-east-1:1:inference-profile/us.anthropic.claude-haiku",
    ]


def test_env_drift_names_variables_never_values() -> None:
    sent = {"environmentVariables": {"A": "1", "B": "2"}, "roleArn": "r"}
    live = {"environmentVariables": {"A": "changed-secret", "C": "sneaky"}, "roleArn": "r"}
    drift = config_drift(sent, live)
    assert set(drift) == {"env.A", "env.B", "env.C"}
    assert "changed-secret" not in repr(drift) and "sneaky" not in repr(drift)


@pytest.mark.parametrize("ref", ["env:TOKEN"])
def test_env_secrets_are_refused_in_aws(ref: str) -> None:
    from engine.providers.agentcore.spec import ssm_parameters
    from engine.spec.schema import AgentSpec

    spec = AgentSpec(source="s", entrypoint="a.py", model="fast", secrets={"T": ref})
    with pytest.raises(PermanentError, match="must be ssm:/path"):
        ssm_parameters(spec, "agent.x[prd]")


def _failing(errors: list[Exception]) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def create() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "made"

    return create, calls


def test_a_new_role_is_retried_until_it_propagates_but_not_past_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tenacity

    from engine.providers.agentcore.aws import retry_new_role

    now = [0.0]
    monkeypatch.setattr(tenacity, "time", SimpleNamespace(monotonic=lambda: now[0]))
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    not_yet = PermanentError("role validation failed: cannot assume role arn:aws:iam::1:role/r")
    create, calls = _failing([not_yet] * 3)
    assert retry_new_role(create, fresh=True, sleep=sleep) == "made"
    assert sleeps == [1.0, 2.0, 4.0] and len(calls) == 4
    sleeps.clear()
    create, calls = _failing([not_yet] * 100)
    with pytest.raises(PermanentError, match="cannot assume role"):
        retry_new_role(create, fresh=True, sleep=sleep)
    assert sleeps == [1.0, 2.0, 4.0, 8.0] + [10.0] * 7  # one more would end past 90 s
    assert len(calls) == 12


def test_only_a_fresh_role_and_only_its_propagation_errors_are_retried() -> None:
    from engine.providers.agentcore.aws import retry_new_role

    def never(_s: float) -> None:
        raise AssertionError("must not wait")

    not_yet = PermanentError("AccessDenied: not authorized to assume role")
    create, calls = _failing([not_yet])
    with pytest.raises(PermanentError):
        retry_new_role(create, fresh=False, sleep=never)  # an old role: the error is real
    assert len(calls) == 1
    for other in (PermanentError("quota exceeded"), TemporaryError("throttled role", delay=1)):
        create, calls = _failing([other])
        with pytest.raises(type(other)):
            retry_new_role(create, fresh=True, sleep=never)
        assert len(calls) == 1

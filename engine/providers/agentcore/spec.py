"""From an Agent spec to an AgentCore runtime configuration: env vars, secrets, callees.

Pipeline role: the pure-ish middle of an AgentCore deploy. `runtime_env` is the AWS twin of
`LocalRuntimeProvider.launch_env` (same `AGENTOPS_*` contract, so the same agent code runs in
both places) and `request_config` assembles the FULL configuration sent on every create and
update.

Secrets: an `ssm:/path` reference is passed to the runtime as the parameter NAME,
`AGENTOPS_SECRET_<VAR>_SSM=/path`, and the execution role may `ssm:GetParameter` exactly
that parameter; `agents/agentkit/secrets.py` reads it at start-up into `<VAR>`. The value
never goes through agentops (not in the plan, the state, logs or the runtime's environment
variables, which AgentCore stores and shows in plaintext), and rotating it needs no
redeploy. At deploy time agentops only checks that the parameter exists (DescribeParameters:
metadata, never the value). `env:NAME` references are refused in AgentCore environments:
resolving them would put the value into a plaintext environment variable.

Telemetry (`store: langfuse`): only the OTLP endpoint and the Langfuse keys' parameter
names reach the runtime (`agentcore_telemetry`); the agent reads the keys at start-up.
Every runtime allows the two custom headers that say whose traffic a call is
(`requestHeaderConfiguration`, `agentcore_sources`), so a load test's, gate's or experiment's
calls are not counted as production by the agent's Monitors.

A2A: for every agent in `calls:`, its runtime ARN (from the callee's recorded outputs: the
callee is deployed first) and the qualifier of its agentops endpoint are injected as
`AGENTOPS_AGENT_<NAME>_ARN` / `_QUALIFIER` (read by `agents/agentkit/calls.py`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore.aws import Aws
from engine.providers.agentcore.sources import request_header_configuration
from engine.providers.base import Context
from engine.runtime.callees import env_var_for
from engine.spec.digests import system_prompt
from engine.spec.schema import AgentSpec
from engine.spec.schema.environment import AwsSettings
from engine.spec.workspace import Workspace

MAX_ENV_VARS = 50
MAX_ENV_VALUE = 5000


def secret_env_var(var: str) -> str:
    return f"AGENTOPS_SECRET_{var}_SSM"


def ssm_parameters(spec: AgentSpec, address: str) -> dict[str, str]:
    """VAR -> `/path` for every secret; `env:` references are an error in AWS."""
    out: dict[str, str] = {}
    for var, ref in sorted(spec.secrets.items()):
        scheme, _, target = ref.partition(":")
        if scheme != "ssm":
            raise PermanentError(
                f"{address}: secret {var} references {scheme}:{target}; in an AgentCore "
                "environment secrets must be ssm:/path references (environment variables of a "
                "runtime are stored and shown in plaintext)",
                hint=f"put the value in SSM (aws ssm put-parameter --type SecureString --name "
                f"/{var.lower()} ...) and reference it as ssm:/{var.lower()}",
            )
        out[var] = target
    return out


def check_parameters(aws: Aws, params: Mapping[str, str], address: str) -> None:
    """Every referenced parameter exists (metadata only: the value is never read)."""
    for var, path in sorted(params.items()):
        found = aws.call(
            "ssm",
            "DescribeParameters",
            f"SSM parameter {path}",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [path]}],
        )
        if not found.get("Parameters"):
            raise PermanentError(
                f"{address}: secret {var} references ssm:{path}, which does not exist in "
                f"{aws.target.region}",
                hint=f"create it: aws ssm put-parameter --type SecureString --name {path} "
                "--value ... (agentops never reads or prints the value)",
            )


def callees(
    spec: AgentSpec, env_name: str, address: str, ctx: Context
) -> dict[str, dict[str, str]]:
    """name -> {arn, qualifier, runtime_id} of every agent this one calls."""
    out: dict[str, dict[str, str]] = {}
    for callee in spec.calls:
        recorded = ctx.outputs(f"agent.{callee}[{env_name}]") or {}
        if "arn" not in recorded:
            raise PermanentError(
                f"{address} calls {callee}, which has no AgentCore runtime in {env_name}",
                hint=f"apply agent.{callee}[{env_name}] first (it is a dependency)",
            )
        out[callee] = {
            "arn": str(recorded["arn"]),
            "qualifier": str(recorded.get("qualifier", "DEFAULT")),
            "runtime_id": str(recorded.get("runtime_id", "")),
        }
    return out


def runtime_env(
    *,
    ws: Workspace,
    spec: AgentSpec,
    address: str,
    name: str,
    env_name: str,
    model: str,
    digest: str,
    workspace_id: str,
    secrets: Mapping[str, str],
    called: Mapping[str, Mapping[str, str]],
    telemetry: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The runtime's environment variables: the agent contract, minus anything secret.

    `telemetry` (`agentcore_telemetry`): the OTLP endpoint and the Langfuse keys' parameter
    names; the spec's own `env:` may override its `OTEL_*` variables."""
    env: dict[str, str] = {
        "AGENTOPS_MODEL": model,
        "AGENTOPS_SYSTEM_PROMPT": system_prompt(ws, spec),
        "AGENTOPS_AGENT_NAME": name,
        "AGENTOPS_ENVIRONMENT": env_name,
        "AGENTOPS_ADDRESS": address,
        "AGENTOPS_WORKSPACE_ID": workspace_id,
        "AGENTOPS_DIGEST": digest,
        # bedrock-agentcore's app.run() binds 127.0.0.1 unless it believes it is in a
        # container; AgentCore must reach it on 0.0.0.0:8080.
        "DOCKER_CONTAINER": "1",
    }
    if spec.tools:
        servers = {t.name: t.model_dump(mode="json", exclude_none=True) for t in spec.tools}
        env["AGENTOPS_MCP_SERVERS"] = json.dumps({"mcpServers": servers}, sort_keys=True)
    env.update(telemetry or {})
    env.update(spec.env)
    for var, path in secrets.items():
        env[secret_env_var(var)] = path
    for callee, info in called.items():
        env[env_var_for(callee, "ARN")] = info["arn"]
        env[env_var_for(callee, "QUALIFIER")] = info["qualifier"]
    _check_env(env, address)
    return env


def _check_env(env: Mapping[str, str], address: str) -> None:
    if len(env) > MAX_ENV_VARS:
        raise PermanentError(
            f"{address} needs {len(env)} environment variables; AgentCore allows {MAX_ENV_VARS}",
            hint="move configuration into files of the agent",
        )
    for key, value in env.items():
        if len(value) > MAX_ENV_VALUE:
            hint = (
                "shorten the system prompt, or ship it as a file with the agent's code"
                if key == "AGENTOPS_SYSTEM_PROMPT"
                else "ship long values as files with the agent's code"
            )
            raise PermanentError(
                f"{address}: {key} is {len(value)} characters; AgentCore allows "
                f"{MAX_ENV_VALUE} per environment variable",
                hint=hint,
            )


def network(settings: AwsSettings) -> dict[str, Any]:
    # Always sent: moto requires it (KeyError otherwise) and AWS accepts it.
    if settings.network_mode == "VPC":
        return {
            "networkMode": "VPC",
            "networkModeConfig": {
                "subnets": list(settings.subnets),
                "securityGroups": list(settings.security_groups),
            },
        }
    return {"networkMode": "PUBLIC"}


def request_config(
    *,
    artifact: Mapping[str, Any],
    role_arn: str,
    settings: AwsSettings,
    spec: AgentSpec,
    env: Mapping[str, str],
    address: str,
) -> dict[str, Any]:
    """The complete configuration of a runtime, sent as a whole on create AND update."""
    return {
        "agentRuntimeArtifact": dict(artifact),
        "roleArn": role_arn,
        "networkConfiguration": network(settings),
        "protocolConfiguration": {"serverProtocol": spec.protocol},
        "lifecycleConfiguration": {
            "idleRuntimeSessionTimeout": int(spec.lifecycle.idle_timeout),
            "maxLifetime": int(spec.lifecycle.max_lifetime),
        },
        "environmentVariables": dict(env),
        "requestHeaderConfiguration": request_header_configuration(),
        "description": f"agentops: {address}",
    }

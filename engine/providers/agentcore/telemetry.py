"""Telemetry of AgentCore runtimes: where a deployed agent exports its OpenTelemetry spans.

Pipeline role: part of the runtime configuration (`spec.runtime_env`, `policies`). In an
Environment with `store: langfuse` every agent exports its Strands spans to Langfuse's
OTLP endpoint (`<host>/api/public/otel`), what the seed did by hand with
`OTEL_EXPORTER_OTLP_ENDPOINT` and an `Authorization: Basic <base64(pk:sk)>` header among the
runtime's environment variables - which AgentCore stores and shows in plaintext, so the
(first) seed leaked the key pair to everyone who may read the runtime's configuration.

Here the runtime gets only non-secret settings:

* `AGENTOPS_OTLP_ENDPOINT=<host>/api/public/otel` (or `AGENTOPS_LANGFUSE_HOST_REF=ssm:/...`
  when the host itself is a reference),
* `AGENTOPS_LANGFUSE_PUBLIC_KEY_REF` / `AGENTOPS_LANGFUSE_SECRET_KEY_REF`: `ssm:/path`, the
  parameter NAMES, which the execution role may `ssm:GetParameter` (exactly those),
* `OTEL_SERVICE_NAME` (the agent) and `OTEL_RESOURCE_ATTRIBUTES` (address, digest,
  environment), so every span says which agent version produced it.

`agents/agentkit/telemetry.py` reads the two parameters at start-up and builds the header in
memory. `env:` references cannot be resolved in AWS (the variable lives on the deploying
machine); the validator refuses them for AgentCore environments with `store: langfuse`
(`engine.spec.resolve`), and this module refuses them again, defensively.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import PermanentError
from engine.spec.schema.base import SECRET_RE
from engine.spec.schema.environment import EnvironmentSpec

OTLP_PATH = "/api/public/otel"
ENDPOINT_VAR = "AGENTOPS_OTLP_ENDPOINT"
HOST_REF_VAR = "AGENTOPS_LANGFUSE_HOST_REF"
PUBLIC_KEY_VAR = "AGENTOPS_LANGFUSE_PUBLIC_KEY_REF"
SECRET_KEY_VAR = "AGENTOPS_LANGFUSE_SECRET_KEY_REF"
SERVICE_VAR = "OTEL_SERVICE_NAME"
RESOURCE_VAR = "OTEL_RESOURCE_ATTRIBUTES"
#: every variable this module may set (observe compares exactly these for drift)
VARIABLES = (
    ENDPOINT_VAR,
    HOST_REF_VAR,
    PUBLIC_KEY_VAR,
    SECRET_KEY_VAR,
    SERVICE_VAR,
    RESOURCE_VAR,
)


@dataclass(frozen=True)
class Telemetry:
    """The runtime's telemetry variables and the SSM parameters its role must read."""

    env: dict[str, str] = field(default_factory=dict)
    #: field -> `/path` (e.g. `langfuse.secretKey` -> `/langfuse/LANGFUSE_SECRET_KEY`)
    parameters: dict[str, str] = field(default_factory=dict)


def ssm_path(ref: str, what: str, env_name: str) -> str:
    """`ssm:/path` -> `/path`; anything else cannot be read inside AgentCore."""
    scheme, _, target = ref.partition(":")
    if scheme != "ssm":
        field_name = what.split(".")[-1]
        raise PermanentError(
            f"environment '{env_name}': {what} is an {scheme}: reference, which agents on "
            "AgentCore cannot resolve (they read the Langfuse keys at run time in AWS)",
            hint=f"store it in SSM and use ssm:/langfuse/{field_name} (see docs/aws.md)",
        )
    return target


def telemetry_for(
    env_spec: EnvironmentSpec, *, env_name: str, agent: str, address: str, digest: str
) -> Telemetry:
    """Where the agent's spans go; empty unless the Environment has `store: langfuse`."""
    lf = env_spec.langfuse
    if env_spec.store != "langfuse" or lf is None:
        return Telemetry()
    params = {
        "langfuse.publicKey": ssm_path(lf.public_key, "langfuse.publicKey", env_name),
        "langfuse.secretKey": ssm_path(lf.secret_key, "langfuse.secretKey", env_name),
    }
    env = {
        PUBLIC_KEY_VAR: f"ssm:{params['langfuse.publicKey']}",
        SECRET_KEY_VAR: f"ssm:{params['langfuse.secretKey']}",
        SERVICE_VAR: agent,
        RESOURCE_VAR: resource_attributes(address=address, digest=digest, env_name=env_name),
    }
    if SECRET_RE.match(lf.host):
        params["langfuse.host"] = ssm_path(lf.host, "langfuse.host", env_name)
        env[HOST_REF_VAR] = f"ssm:{params['langfuse.host']}"
    else:
        env[ENDPOINT_VAR] = lf.host.rstrip("/") + OTLP_PATH
    return Telemetry(env=env, parameters=params)


def resource_attributes(*, address: str, digest: str, env_name: str) -> str:
    """`OTEL_RESOURCE_ATTRIBUTES`: which agent, version and environment made a span.

    Values never hold `,` or `=` (addresses are `kind.name[env]`, digests hex), the two
    characters the variable's format reserves.
    """
    attrs = {
        "agentops.address": address,
        "agentops.digest": digest,
        "agentops.environment": env_name,
        "deployment.environment.name": env_name,
    }
    return ",".join(f"{k}={v}" for k, v in attrs.items())

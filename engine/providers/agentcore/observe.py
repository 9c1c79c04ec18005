"""Observing an AgentCore runtime: what runs, compared with what agentops last applied.

Pipeline role: `AgentCoreProvider.observe` (refresh, before every plan). One
GetAgentRuntime, its tags and the `live` endpoint, normalised: no server timestamps, no
per-version ARNs. Drift is reported field by field: configuration fields against the full
configuration recorded in state (environment variables by NAME only - a value set behind
our back may be a secret), ownership/digest tags, the endpoint's version, a callee runtime
that vanished (its ARN must be re-injected), the environment's telemetry settings (its
Langfuse host and key references: `agentcore_telemetry`), its AWS settings, which are
deliberately not part of the agent's digest (quality gates compare digests across
environments) and so reach the plan as drift, and the request headers agentops lets through
(`agentcore_sources`): a runtime applied before agentops allowed them is updated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.aws import Aws, AwsTarget
from engine.providers.agentcore.names import ENDPOINT_NAME, TAG_DIGEST, Names
from engine.providers.agentcore.sources import allowlist_of, request_header_configuration
from engine.providers.agentcore.spec import network
from engine.providers.agentcore.telemetry import VARIABLES
from engine.providers.base import Observed
from engine.spec.schema.environment import AwsSettings
from engine.state.model import ResourceState


def observe(
    aws: Aws,
    names: Names,
    prior: ResourceState,
    settings: AwsSettings | None,
    telemetry: Mapping[str, str] | None = None,
) -> Observed:
    live = rt.get(aws, prior.provider_id or "")
    if live is None:
        return Observed(exists=False, healthy=False, status="deleted outside agentops")
    drift = rt.config_drift(prior.private.get("config", {}), rt.live_config(live))
    tags = rt.tags_of(aws, str(live["agentRuntimeArn"]))
    for key, want in names.tags().items():
        if tags.get(key) != want:
            drift[f"tag.{key}"] = (want, tags.get(key))
    if TAG_DIGEST not in tags:
        drift[f"tag.{TAG_DIGEST}"] = (prior.digest, None)
    version = str(live.get("agentRuntimeVersion"))
    ep = aws.find(
        rt.CP,
        "GetAgentRuntimeEndpoint",
        f"endpoint of {names.runtime}",
        agentRuntimeId=prior.provider_id,
        endpointName=ENDPOINT_NAME,
    )
    if ep is None:
        drift[f"endpoint.{ENDPOINT_NAME}"] = ("present", "missing")
    elif rt.endpoint_version(ep) != version:
        drift[f"endpoint.{ENDPOINT_NAME}"] = (
            f"version {version}",
            f"version {rt.endpoint_version(ep)}",
        )
    for callee, info in sorted(prior.private.get("callees", {}).items()):
        if info.get("runtime_id") and rt.get(aws, info["runtime_id"]) is None:
            drift[f"calls.{callee}"] = (info["runtime_id"], "runtime gone: re-inject its ARN")
    if settings is not None:
        drift.update(settings_drift(prior, settings))
    if telemetry is not None:
        drift.update(telemetry_drift(prior, telemetry))
    drift.update(headers_drift(prior))
    status = str(live.get("status", "UNKNOWN"))
    return Observed(
        exists=True,
        digest=tags.get(TAG_DIGEST),
        healthy=status == "READY",
        status=status.lower(),
        drift=drift,
        outputs=prior.outputs,
    )


def settings_drift(prior: ResourceState, settings: AwsSettings) -> dict[str, tuple[Any, Any]]:
    """The environment's AWS settings changed since the apply (they are not in the digest)."""
    out: dict[str, tuple[Any, Any]] = {}
    target = AwsTarget.from_json(prior.private["target"])
    now = AwsTarget.of(settings)
    if (now.region, now.endpoint_url) != (target.region, target.endpoint_url):
        out["aws.region"] = (target.region, now.region)
    if prior.private.get("deploy") != settings.deploy:
        out["aws.deploy"] = (prior.private.get("deploy"), settings.deploy)
    sent = prior.private.get("config", {})
    if sent.get("networkConfiguration") != network(settings):
        out["aws.network"] = (sent.get("networkConfiguration"), network(settings))
    role = prior.private.get("role", {})
    recorded = None if role.get("managed") else role.get("arn")
    if settings.execution_role_arn != recorded:
        out["aws.executionRoleArn"] = (recorded, settings.execution_role_arn)
    code = sent.get("agentRuntimeArtifact", {}).get("codeConfiguration")
    if code and code.get("runtime") != settings.python_runtime:
        out["aws.pythonRuntime"] = (code.get("runtime"), settings.python_runtime)
    return out


def telemetry_drift(prior: ResourceState, want: Mapping[str, str]) -> dict[str, tuple[Any, Any]]:
    """The Environment's Langfuse settings moved since the apply (not in the digest either).

    Compared with the variables sent at the last apply; the spec's own `env:` may override
    an `OTEL_*` one, so a variable it sets is the spec's, not ours."""
    sent = prior.private.get("config", {}).get("environmentVariables", {})
    out: dict[str, tuple[Any, Any]] = {}
    for key in VARIABLES:
        if f"env.{key}" in prior.attrs:
            continue
        if sent.get(key) != want.get(key):
            out[f"telemetry.{key}"] = (sent.get(key), want.get(key))
    return out


def headers_drift(prior: ResourceState) -> dict[str, tuple[Any, Any]]:
    """The runtime was applied with another request-header allowlist than agentops sends now
    (e.g. before it declared one): its traffic's source would not reach the agent."""
    sent = allowlist_of(prior.private.get("config", {}).get("requestHeaderConfiguration"))
    want = allowlist_of(request_header_configuration())
    if sent == want:
        return {}
    return {"requestHeaderConfiguration.requestHeaderAllowlist": (list(sent), list(want))}

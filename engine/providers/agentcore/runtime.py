"""AgentCore runtimes and endpoints through `bedrock-agentcore-control`.

Pipeline role: the control-plane verbs the AgentCore provider composes - find by name,
create, update (always the FULL configuration: UpdateAgentRuntime replaces it, and a partial
request silently drops environment variables), wait for READY, pin the owned endpoint to
the deployed version, tag, delete - and the normalisation `observe` compares against.

State is keyed by `agentRuntimeId`; ARNs are read from responses and never parsed (moto's
ARNs change per version and differ in shape from AWS's). Ownership is proven by tags, and
tags are re-applied after every update (moto keeps tags per ARN, so they would otherwise be
lost; on AWS it is a cheap no-op).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore.aws import Aws, poll_until
from engine.providers.agentcore.names import ENDPOINT_NAME, Names
from engine.providers.agentcore.sources import allowlist_of

CP = "bedrock-agentcore-control"
#: the request fields of a runtime's configuration (CreateAgentRuntime minus name/tags)
CONFIG_FIELDS = (
    "agentRuntimeArtifact",
    "roleArn",
    "networkConfiguration",
    "protocolConfiguration",
    "lifecycleConfiguration",
    "environmentVariables",
    "requestHeaderConfiguration",
    "description",
)
_FAILED = {"CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED"}


def derived_token(token: str, *salt: str) -> str:
    """A clientToken for a sub-call: deterministic from the recorded token, 33-256 chars.

    Updates salt it with the version they start from, so healing drift on an unchanged
    digest is a new request (AWS would replay the earlier, identical-token update otherwise),
    while a retry of the very same interrupted call reuses it.
    """
    if not salt:
        return token
    return "agentops-" + hashlib.sha256("|".join((token, *salt)).encode()).hexdigest()[:40]


def runtime_label(names: Names, runtime_id: str | None = None) -> str:
    return f"AgentCore runtime {names.runtime}" + (f" ({runtime_id})" if runtime_id else "")


def find_by_name(aws: Aws, name: str) -> list[dict[str, Any]]:
    """Every runtime called `name` (AWS allows one; moto any number), all pages."""
    return [
        r
        for r in aws.pages(CP, "ListAgentRuntimes", "agentRuntimes", "AgentCore runtimes")
        if r.get("agentRuntimeName") == name
    ]


def get(aws: Aws, runtime_id: str) -> dict[str, Any] | None:
    return aws.find(
        CP, "GetAgentRuntime", f"AgentCore runtime {runtime_id}", agentRuntimeId=runtime_id
    )


def tags_of(aws: Aws, arn: str) -> dict[str, str]:
    found = aws.find(CP, "ListTagsForResource", f"tags of {arn}", resourceArn=arn)
    return dict(found.get("tags", {})) if found else {}


def tag(aws: Aws, arn: str, tags: Mapping[str, str]) -> None:
    aws.call(CP, "TagResource", f"tags of {arn}", mutating=True, resourceArn=arn, tags=dict(tags))


def create(
    aws: Aws, names: Names, config: Mapping[str, Any], tags: Mapping[str, str], token: str
) -> dict[str, Any]:
    return aws.call(
        CP,
        "CreateAgentRuntime",
        runtime_label(names),
        mutating=True,
        agentRuntimeName=names.runtime,
        tags=dict(tags),
        clientToken=token,
        **config,
    )


def update(
    aws: Aws, names: Names, runtime_id: str, config: Mapping[str, Any], token: str
) -> dict[str, Any]:
    return aws.call(
        CP,
        "UpdateAgentRuntime",
        runtime_label(names, runtime_id),
        mutating=True,
        agentRuntimeId=runtime_id,
        clientToken=token,
        **config,
    )


def wait_ready(aws: Aws, names: Names, runtime_id: str, timeout: float) -> dict[str, Any]:
    """Poll until READY; a *_FAILED status is a PermanentError with AWS's reason."""
    label = runtime_label(names, runtime_id)

    def fetch() -> dict[str, Any]:
        found = get(aws, runtime_id)
        if found is None:
            raise PermanentError(f"{label} disappeared while agentops waited for it")
        if found.get("status") in _FAILED:
            raise PermanentError(
                f"{label} is {found['status']}: {found.get('failureReason') or 'no reason given'}",
                hint="fix the cause (often the role, the artifact or the entrypoint) and apply "
                "again",
            )
        return found

    return poll_until(fetch, lambda r: r.get("status") == "READY", timeout=timeout, what=label)


def ensure_endpoint(
    aws: Aws, names: Names, runtime_id: str, version: str, token: str, timeout: float
) -> dict[str, Any]:
    """The endpoint agentops owns (`live`), pointing at `version`, READY."""
    label = f"endpoint {ENDPOINT_NAME} of {runtime_label(names, runtime_id)}"
    params: dict[str, Any] = {"agentRuntimeId": runtime_id, "endpointName": ENDPOINT_NAME}
    found = aws.find(CP, "GetAgentRuntimeEndpoint", label, **params)
    if found is None:
        aws.call(
            CP,
            "CreateAgentRuntimeEndpoint",
            label,
            mutating=True,
            agentRuntimeId=runtime_id,
            name=ENDPOINT_NAME,
            agentRuntimeVersion=version,
            description=f"agentops: {names.address}",
            tags=names.tags(),
            clientToken=derived_token(token, "endpoint", version),
        )
    elif found.get("targetVersion") != version or found.get("status") in _FAILED:
        if found.get("status") not in ("READY", *_FAILED):
            poll_until(
                lambda: aws.call(CP, "GetAgentRuntimeEndpoint", label, **params),
                lambda e: e.get("status") == "READY" or e.get("status") in _FAILED,
                timeout=timeout,
                what=label,
            )
        aws.call(
            CP,
            "UpdateAgentRuntimeEndpoint",
            label,
            mutating=True,
            agentRuntimeVersion=version,
            clientToken=derived_token(token, "endpoint", version),
            **params,
        )

    def fetch() -> dict[str, Any]:
        ep = aws.call(CP, "GetAgentRuntimeEndpoint", label, **params)
        if ep.get("status") in _FAILED:
            raise PermanentError(f"{label} is {ep['status']}: {ep.get('failureReason') or ''}")
        return ep

    return poll_until(
        fetch,
        lambda e: e.get("status") == "READY" and endpoint_version(e) == version,
        timeout=timeout,
        what=label,
    )


def endpoint_version(endpoint: Mapping[str, Any]) -> str | None:
    """The version an endpoint serves (liveVersion once switched, else its target)."""
    live = endpoint.get("liveVersion") or endpoint.get("targetVersion")
    return str(live) if live is not None else None


def delete(aws: Aws, names: Names, runtime_id: str, token: str, timeout: float) -> None:
    """Delete our endpoint, then the runtime, and wait until it is gone."""
    label = runtime_label(names, runtime_id)
    ep = aws.find(
        CP, "GetAgentRuntimeEndpoint", label, agentRuntimeId=runtime_id, endpointName=ENDPOINT_NAME
    )
    if ep is not None:
        try:
            aws.call(
                CP,
                "DeleteAgentRuntimeEndpoint",
                label,
                mutating=True,
                agentRuntimeId=runtime_id,
                endpointName=ENDPOINT_NAME,
            )
        except PermanentError:
            if (
                aws.find(
                    CP,
                    "GetAgentRuntimeEndpoint",
                    label,
                    agentRuntimeId=runtime_id,
                    endpointName=ENDPOINT_NAME,
                )
                is not None
            ):
                raise
    if get(aws, runtime_id) is None:
        return
    try:
        aws.call(
            CP,
            "DeleteAgentRuntime",
            label,
            mutating=True,
            agentRuntimeId=runtime_id,
            clientToken=token,
        )
    except PermanentError:
        if get(aws, runtime_id) is not None:
            raise
        return
    poll_until(
        lambda: get(aws, runtime_id), lambda r: r is None, timeout=timeout, what=f"deleting {label}"
    )


def live_config(runtime: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration fields of a GetAgentRuntime answer, normalised."""
    out = {k: runtime.get(k) for k in CONFIG_FIELDS}
    out["environmentVariables"] = dict(out.get("environmentVariables") or {})
    out["description"] = out.get("description") or ""
    return out


def config_drift(sent: Mapping[str, Any], live: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields where what runs differs from what agentops sent.

    Environment variables are compared exactly and reported by NAME only: a value set behind
    our back may be a secret, so it is never printed. Other fields compare what we sent
    (AWS may add fields we did not send, e.g. defaults; those are not drift).
    """
    drift: dict[str, tuple[Any, Any]] = {}
    ours = dict(sent.get("environmentVariables") or {})
    theirs = dict(live.get("environmentVariables") or {})
    for key in sorted(set(ours) | set(theirs)):
        if key not in theirs:
            drift[f"env.{key}"] = ("set", "removed outside agentops")
        elif key not in ours:
            drift[f"env.{key}"] = ("unset", "added outside agentops (value hidden)")
        elif ours[key] != theirs[key]:
            drift[f"env.{key}"] = ("as applied", "changed outside agentops (value hidden)")
    for field in CONFIG_FIELDS:
        if field == "environmentVariables":
            continue
        if field == "requestHeaderConfiguration":
            # header names are case-insensitive, and the list is a set
            if allowlist_of(sent.get(field)) != allowlist_of(live.get(field)):
                drift[field] = (allowlist_of(sent.get(field)), allowlist_of(live.get(field)))
            continue
        if not _contains(live.get(field), sent.get(field)):
            drift[field] = (_short(sent.get(field)), _short(live.get(field)))
    return drift


def _contains(live: object, sent: object) -> bool:
    if isinstance(sent, Mapping):
        return isinstance(live, Mapping) and all(_contains(live.get(k), v) for k, v in sent.items())
    if sent in (None, "") and live in (None, ""):
        return True
    return live == sent


def _short(value: object) -> object:
    text = repr(value)
    return value if len(text) <= 120 else text[:117] + "..."

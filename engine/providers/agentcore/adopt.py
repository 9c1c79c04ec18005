"""Adopting an existing AgentCore runtime: `agentops import agent.x[env] RUNTIME_ID|ARN`.

Pipeline role: `AgentCoreProvider.adopt`. The runtime is observed (GetAgentRuntime and its
tags), refused when its tags say another agentops workspace or another address owns it,
then tagged as this workspace's (managed-by, workspace, address, and the digest state
records) and returned as its state record. The record's digest is the runtime's digest tag
when it has one, else `imported`, and its attributes are empty, so the next plan shows an
update with every field of the spec: that update sends the full configuration, pins the
`live` endpoint and leaves nothing of the old configuration behind.
"""

from __future__ import annotations

from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.aws import Aws
from engine.providers.agentcore.names import (
    ENDPOINT_NAME,
    TAG_ADDRESS,
    TAG_DIGEST,
    TAG_WORKSPACE,
    Names,
    address_tag,
)
from engine.providers.agentcore.recover import private_for
from engine.spec.schema.environment import AwsSettings
from engine.state.model import ResourceState

IMPORTED = "imported"


def find_runtime(aws: Aws, ident: str) -> dict[str, Any]:
    """GetAgentRuntime of a runtime id, or of the runtime an ARN names (listed, not parsed)."""
    runtime_id = ident
    if ident.startswith("arn:"):
        listed = aws.pages(rt.CP, "ListAgentRuntimes", "agentRuntimes", "AgentCore runtimes")
        match = [r for r in listed if r.get("agentRuntimeArn") == ident]
        if not match:
            raise PermanentError(
                f"no AgentCore runtime has the ARN {ident} in {aws.target.region}",
                hint="check the ARN and the environment's aws.region",
            )
        runtime_id = str(match[0]["agentRuntimeId"])
    live = rt.get(aws, runtime_id)
    if live is None:
        raise PermanentError(
            f"there is no AgentCore runtime {runtime_id} in {aws.target.region}",
            hint="pass a runtime id or ARN from `aws bedrock-agentcore-control "
            "list-agent-runtimes`",
        )
    return live


def adopt(aws: Aws, names: Names, ident: str, settings: AwsSettings) -> ResourceState:
    live = find_runtime(aws, ident)
    runtime_id = str(live["agentRuntimeId"])
    arn = str(live["agentRuntimeArn"])
    tags = rt.tags_of(aws, arn)
    label = f"AgentCore runtime {live.get('agentRuntimeName')} ({runtime_id})"
    owner = tags.get(TAG_WORKSPACE)
    if owner and owner != names.workspace_id:
        raise PermanentError(
            f"{label} belongs to agentops workspace {owner} ({tags.get(TAG_ADDRESS)}), not to "
            f"this one ({names.workspace_id}); agentops never adopts another workspace's runtime",
            hint="remove it from that workspace's state first (agentops state rm there), then "
            "delete its agentops:* tags",
        )
    if owner and tags.get(TAG_ADDRESS) not in (None, address_tag(names.address)):
        raise PermanentError(
            f"{label} is this workspace's {tags.get(TAG_ADDRESS)}, not {names.address}",
            hint="use agentops state mv to rename an address",
        )
    digest = tags.get(TAG_DIGEST) if owner else None
    digest = digest or IMPORTED
    rt.tag(aws, arn, names.tags(digest))
    return ResourceState(
        address=names.address,
        kind="Agent",
        provider="agentcore",
        provider_id=runtime_id,
        digest=digest,
        attrs={},
        outputs={
            "arn": arn,
            "runtime_id": runtime_id,
            "qualifier": ENDPOINT_NAME,
            "version": str(live.get("agentRuntimeVersion")),
            "name": str(live.get("agentRuntimeName")),
            "region": aws.target.region,
        },
        private={
            **private_for(settings, aws.target),
            "config": rt.live_config(live),
            "imported": {"id": ident},
        },
    )

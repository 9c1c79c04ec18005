"""Crash recovery for the AgentCore provider: resolve an operation a crash interrupted.

Pipeline role: `AgentCoreProvider.recover`, called by `engine.reconcile.recover_pending`
for every pending operation left in state, before anything is planned. The applier recorded
the operation and its deterministic token before calling the provider; the token is the
runtime's clientToken and is tagged on the runtime (`agentops:token`), so:

* create/update: runtimes with our name whose tags prove this workspace made them for this
  address are candidates; the one state knows wins, else the one the token made, else any.
  Owned duplicates (moto allows several runtimes per name; a retried create could leave
  one) are deleted. The adopted runtime is recorded with the digest its tag carries, so a
  create that did not finish (no endpoint, old tags) shows up as drift or an update and is
  completed by the next apply.
* a create that left no runtime: its leftovers (role, build project, repository, uploads)
  are torn down; the next apply creates everything again.
* delete: finished.

Nothing that is not provably ours is touched.
"""

from __future__ import annotations

from typing import Any

from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.aws import Aws, AwsTarget
from engine.providers.agentcore.names import ENDPOINT_NAME, TAG_DIGEST, TAG_TOKEN, Names
from engine.providers.agentcore.teardown import Log, find_owned, teardown
from engine.spec.schema.environment import AwsSettings
from engine.state.model import PendingOp, ResourceState


def recover(
    aws: Aws,
    names: Names,
    pending: PendingOp,
    prior: ResourceState | None,
    private: dict[str, Any],
    log: Log,
) -> ResourceState | None:
    if pending.op == "delete":
        rid = prior.provider_id if prior else None
        teardown(aws, names, rid, private, log, token=pending.token)
        return None
    keep = prior.provider_id if prior and rt.get(aws, prior.provider_id or "") else None
    owned = find_owned(aws, names, strict=False)
    if keep is None and owned:
        by_token = [r for r in owned if r["tags"].get(TAG_TOKEN) == pending.token]
        keep = str((by_token or owned)[0]["agentRuntimeId"])
    for extra in owned:  # an owned duplicate is a leak of an interrupted create
        if extra["agentRuntimeId"] != keep:
            rt.delete(aws, names, extra["agentRuntimeId"], pending.token, 300.0)
    if keep is None:
        teardown(aws, names, None, private, log, token=pending.token)
        return None
    live = rt.get(aws, keep)
    if live is None:
        return None
    tags = rt.tags_of(aws, str(live["agentRuntimeArn"]))
    same = prior is not None and prior.provider_id == keep
    # No digest tag: the crash came between an update and the re-tag (or moto dropped the
    # tags with the old ARN). The last digest state knew makes the plan show the real diff.
    digest = tags.get(TAG_DIGEST) or (prior.digest if same and prior else "unknown")
    arn = str(prior.outputs.get("arn")) if same and prior else str(live["agentRuntimeArn"])
    return ResourceState(
        address=pending.address,
        kind=pending.kind,
        provider="agentcore",
        provider_id=keep,
        digest=digest,
        attrs=dict(prior.attrs) if prior is not None and prior.digest == digest else {},
        outputs={
            "arn": arn,
            "runtime_id": keep,
            "qualifier": ENDPOINT_NAME,
            "version": str(live.get("agentRuntimeVersion")),
            "name": names.runtime,
            "region": aws.target.region,
        },
        private={**private, "config": rt.live_config(live)},
    )


def private_for(settings: AwsSettings | None, target: AwsTarget) -> dict[str, Any]:
    """What state records about where and how an address was deployed (no prior known)."""
    managed = settings is None or not settings.execution_role_arn
    return {
        "target": target.to_json(),
        "deploy": settings.deploy if settings else "code",
        "bucket": settings.artifact_bucket if settings else None,
        "repository": settings.ecr_repository if settings else None,
        "role": {"arn": settings.execution_role_arn if settings else None, "managed": managed},
        "callees": {},
    }

"""AgentCore provider: Agents of `runtime: agentcore` environments as Bedrock AgentCore runtimes.

Pipeline role: the `ResourceProvider` the registry routes such Agents to. One address owns
(names and tags from `agentcore_names`): an AgentCore runtime with an endpoint `live` pinned
to the version deployed last, an IAM execution role (unless the environment names one), its
artifacts under `s3://<artifactBucket>/agentops/<ref>/`, and for container deploys a CodeBuild
project, its role and (unless the environment names one) an ECR repository.

create/update = artifact -> secrets check -> role -> runtime (full configuration) -> READY
-> re-tag -> endpoint -> READY. The applier records a pending operation with a deterministic
token before calling us; it is the runtime's `clientToken` and is tagged on the runtime, so
`recover` can tell the runtime an interrupted create made. Recovery finds runtimes by name,
adopts only what the tags prove this workspace made for this address, deletes owned
duplicates, and tears down leftovers of a create that left no runtime. A name taken by a
runtime we do not own is an error, never an adoption.

observe = GetAgentRuntime + its tags + the endpoint, compared with the configuration we
sent (recorded in state): changed env vars (by name only), tags, role, artifact, endpoint
version, a callee that vanished, or the environment's AWS settings moving, are drift.

The pieces, one concept per module: `agentcore_names` (names, tags), `agentcore_aws`
(clients, retries, polling) and `agentcore_errors` (the error boundary), `agentcore_spec`
(env vars, secrets, callees, the request), `agentcore_artifacts` (code zips) and
`agentcore_images` (CodeBuild -> ECR), `agentcore_policies`/`agentcore_iam` (roles),
`agentcore_runtime` (control-plane verbs), `agentcore_observe`, `agentcore_recover`,
`agentcore_teardown`, `agentcore_sources` (the request headers every runtime allows, which
say whose traffic a call is), and `agentcore_invoke` (the data plane). boto3 is imported
lazily.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import PermanentError
from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.adopt import adopt
from engine.providers.agentcore.artifacts import ensure_code
from engine.providers.agentcore.aws import Aws, AwsTarget, retry_new_role
from engine.providers.agentcore.iam import delete_role, ensure_role
from engine.providers.agentcore.images import ensure_image
from engine.providers.agentcore.names import ENDPOINT_NAME, TAG_TOKEN, Names, names_for
from engine.providers.agentcore.observe import observe
from engine.providers.agentcore.policies import RoleNeeds, execution_policy, execution_trust
from engine.providers.agentcore.recover import private_for, recover
from engine.providers.agentcore.spec import (
    callees,
    check_parameters,
    request_config,
    runtime_env,
    ssm_parameters,
)
from engine.providers.agentcore.sweep import SweptPreview, sweep_previews
from engine.providers.agentcore.teardown import find_owned, teardown
from engine.providers.agentcore.telemetry import Telemetry, telemetry_for
from engine.providers.base import Context, Desired, Observed
from engine.spec.addresses import Address
from engine.spec.digests import agent_attrs, digest_of
from engine.spec.graph import GraphNode
from engine.spec.schema.environment import AwsSettings
from engine.state.model import PendingOp, ResourceState


def _names(address: str, ctx: Context) -> Names:
    """The names and tags of `address` in this session (a preview adds its own tags)."""
    return names_for(address, ctx.workspace_id, ctx.tags)


class AgentCoreProvider:
    name: ClassVar[str] = "agentcore"
    kinds: ClassVar[frozenset[str]] = frozenset({"Agent"})

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._clients: dict[AwsTarget, Aws] = {}
        self._lock = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------
    def aws(self, target: AwsTarget) -> Aws:
        with self._lock:
            if target not in self._clients:
                self._clients[target] = Aws(target)
            return self._clients[target]

    @staticmethod
    def settings(ctx: Context, env_name: str) -> AwsSettings | None:
        env = ctx.workspace.environments.get(env_name)
        return env.doc.spec.aws if env is not None else None

    @staticmethod
    def telemetry(ctx: Context, address: str, digest: str) -> Telemetry:
        """Where the agent's spans go (`store: langfuse`), from its Environment."""
        parsed = Address.parse(address)
        env = ctx.workspace.environments.get(parsed.env or "")
        if env is None:
            return Telemetry()
        return telemetry_for(
            env.doc.spec, env_name=env.name, agent=parsed.name, address=address, digest=digest
        )

    def _required_settings(self, ctx: Context, address: Address) -> AwsSettings:
        settings = self.settings(ctx, address.env or "")
        if settings is None:
            raise PermanentError(f"{address}: environment '{address.env}' has no 'aws' section")
        return settings

    # --- desired ----------------------------------------------------------------------
    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        # Same view and digest as every Agent provider: gates compare digests across them.
        spec = node.spec.doc.spec
        ssm_parameters(spec, str(node.address))  # env: secrets are refused at plan time
        attrs = agent_attrs(ctx.workspace, spec, node.address.env or "")
        sensitive = frozenset(k for k in attrs if k.startswith("secrets."))
        return Desired(digest=digest_of(attrs), attrs=attrs, sensitive=sensitive)

    # --- observe ----------------------------------------------------------------------
    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        aws = self.aws(AwsTarget.from_json(prior.private["target"]))
        names = _names(prior.address, ctx)
        settings = self.settings(ctx, Address.parse(prior.address).env or "")
        try:
            telemetry = self.telemetry(ctx, prior.address, prior.digest or "").env
        except PermanentError:
            telemetry = None  # refused: the plan's update (desired) says why
        return observe(aws, names, prior, settings, telemetry)

    # --- mutate -----------------------------------------------------------------------
    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        return self._deploy(node, desired, None, token, ctx)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        return self._deploy(node, desired, prior, token, ctx)

    def _deploy(
        self,
        node: GraphNode,
        desired: Desired,
        prior: ResourceState | None,
        token: str,
        ctx: Context,
    ) -> ResourceState:
        """artifact -> secrets -> role -> runtime -> READY -> tags -> endpoint, then record."""
        address = str(node.address)
        settings = self._required_settings(ctx, node.address)
        target = AwsTarget.of(settings)
        aws = self.aws(target)
        names = _names(address, ctx)
        old = AwsTarget.from_json(prior.private["target"]) if prior else None
        moved = old is not None and (old.region, old.endpoint_url) != (
            target.region,
            target.endpoint_url,
        )
        config, called, fresh = self._configure(node, desired, settings, aws, names, token, ctx)
        known = prior.provider_id if prior is not None and not moved else None
        runtime_id, arn = self._put_runtime(aws, names, known, config, desired.digest, token, fresh)
        ready = rt.wait_ready(aws, names, runtime_id, settings.ready_timeout)
        version = str(ready["agentRuntimeVersion"])
        rt.tag(aws, str(ready["agentRuntimeArn"]), names.tags(desired.digest))
        rt.ensure_endpoint(aws, names, runtime_id, version, token, settings.ready_timeout)
        if prior is not None and known is not None and runtime_id == known:
            arn = str(prior.outputs.get("arn") or arn)  # the ARN callers were given stays
        if prior is not None:
            managed = not settings.execution_role_arn
            self._cleanup_after_move(prior, names, old if moved else None, managed, ctx)
        return ResourceState(
            address=address,
            kind="Agent",
            provider=self.name,
            provider_id=runtime_id,
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={
                "arn": arn,
                "runtime_id": runtime_id,
                "qualifier": ENDPOINT_NAME,
                "version": version,
                "name": names.runtime,
                "region": target.region,
            },
            private={
                **private_for(settings, target),
                "config": config,
                "role": {"arn": config["roleArn"], "managed": not settings.execution_role_arn},
                "callees": called,
            },
        )

    def _configure(
        self,
        node: GraphNode,
        desired: Desired,
        settings: AwsSettings,
        aws: Aws,
        names: Names,
        token: str,
        ctx: Context,
    ) -> tuple[dict[str, Any], dict[str, dict[str, str]], bool]:
        """The full runtime configuration (artifact, secrets, callees, role, env).

        Returns (configuration, callees, role created just now).
        """
        spec = node.spec.doc.spec
        address, env_name = str(node.address), node.address.env or ""
        if settings.deploy == "container":
            artifact = ensure_image(aws, names, ctx.workspace.root, spec, settings, token)
        else:
            artifact = ensure_code(aws, names, ctx.workspace.root, spec, settings)
        secrets = ssm_parameters(spec, address)
        check_parameters(aws, secrets, address)
        telemetry = self.telemetry(ctx, address, desired.digest)
        check_parameters(aws, telemetry.parameters, address)
        called = callees(spec, env_name, address, ctx)
        model = str(desired.attrs.get("model") or "")
        needs = RoleNeeds(
            runtime_name=names.runtime,
            model=model,
            ssm_parameters=tuple(secrets.values()),
            telemetry_parameters=tuple(telemetry.parameters.values()),
            callee_arns=tuple(c["arn"] for c in called.values()),
            code_object=artifact.code_object,
            repository_arn=artifact.repository_arn,
        )
        role_arn, fresh = self._role(aws, names, settings, needs)
        env = runtime_env(
            ws=ctx.workspace,
            spec=spec,
            address=address,
            name=node.address.name,
            env_name=env_name,
            model=model,
            digest=desired.digest,
            workspace_id=ctx.workspace_id,
            secrets=secrets,
            called=called,
            telemetry=telemetry.env,
        )
        config = request_config(
            artifact=artifact.request,
            role_arn=role_arn,
            settings=settings,
            spec=spec,
            env=env,
            address=address,
        )
        return config, called, fresh

    @staticmethod
    def _role(aws: Aws, names: Names, settings: AwsSettings, needs: RoleNeeds) -> tuple[str, bool]:
        """The execution role: the environment's (as-is) or ours; (ARN, created just now)."""
        if settings.execution_role_arn:
            return settings.execution_role_arn, False
        return ensure_role(
            aws,
            names,
            names.role,
            execution_trust(aws),
            execution_policy(aws, needs),
            f"agentops execution role of {names.address}",
            settings.permissions_boundary,
        )

    def _cleanup_after_move(
        self,
        prior: ResourceState,
        names: Names,
        old_target: AwsTarget | None,
        managed: bool,
        ctx: Context,
    ) -> None:
        """After a region move, remove the old region's runtime; drop a replaced managed role."""
        if old_target is not None:
            # IAM is global: the role is the one the new runtime uses, keep it.
            same_bucket = (
                prior.private.get("bucket")
                == self._required_settings(ctx, Address.parse(prior.address)).artifact_bucket
            )
            teardown(
                self.aws(old_target),
                names,
                prior.provider_id,
                prior.private,
                ctx.log,
                iam=False,
                objects=not same_bucket,
            )
        if prior.private.get("role", {}).get("managed") and not managed:
            delete_role(
                self.aws(AwsTarget.from_json(prior.private["target"])), names, names.role, ctx.log
            )

    def _put_runtime(
        self,
        aws: Aws,
        names: Names,
        known: str | None,
        config: dict[str, Any],
        digest: str,
        token: str,
        fresh_role: bool,
    ) -> tuple[str, str]:
        """Update the runtime we know (or own by name), or create it: (id, ARN)."""
        current = rt.get(aws, known) if known else None
        if current is None:
            owned = find_owned(aws, names)
            current = rt.get(aws, owned[0]["agentRuntimeId"]) if owned else None
        if current is None:
            tags = {**names.tags(digest), TAG_TOKEN: token}
            made = retry_new_role(
                lambda: rt.create(aws, names, config, tags, token), fresh=fresh_role
            )
            if rt.get(aws, made["agentRuntimeId"]) is None:
                # AWS replays a clientToken's first answer for a while; if that runtime was
                # deleted since (destroy, then apply again), ask again with a fresh token.
                made = rt.create(aws, names, config, tags, rt.derived_token(token, "again"))
            return str(made["agentRuntimeId"]), str(made["agentRuntimeArn"])
        runtime_id = str(current["agentRuntimeId"])
        if current.get("status") not in ("READY", "CREATE_FAILED", "UPDATE_FAILED"):
            rt.wait_ready(aws, names, runtime_id, 300.0)  # AWS refuses updates mid-transition
        salt = str(current.get("agentRuntimeVersion"))
        retry_new_role(
            lambda: rt.update(
                aws, names, runtime_id, config, rt.derived_token(token, "update", salt)
            ),
            fresh=fresh_role,
        )
        return runtime_id, str(current["agentRuntimeArn"])

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        target = AwsTarget.from_json(prior.private["target"])
        aws = self.aws(target)
        names = _names(prior.address, ctx)
        live = rt.get(aws, prior.provider_id or "")
        if live is not None:
            tags = rt.tags_of(aws, str(live["agentRuntimeArn"]))
            if tags and not names.owns(tags):
                raise PermanentError(
                    f"{rt.runtime_label(names, prior.provider_id)} carries another owner's tags; "
                    "agentops deletes only what this workspace created",
                    hint="check the tags, then remove it from state with care",
                )
        teardown(aws, names, prior.provider_id, prior.private, ctx.log, token=token)

    # --- import -----------------------------------------------------------------------
    def adopt(self, node: GraphNode, desired: Desired, ident: str, ctx: Context) -> ResourceState:
        """`agentops import`: adopt the runtime `ident` (id or ARN) for this address."""
        settings = self._required_settings(ctx, node.address)
        aws = self.aws(AwsTarget.of(settings))
        return adopt(aws, _names(str(node.address), ctx), ident, settings)

    # --- previews ---------------------------------------------------------------------
    def sweep_previews(
        self, ctx: Context, *, parent: str, older_than: float, now: float, live: Collection[str]
    ) -> list[SweptPreview]:
        """What killed previews of the main state `parent` left in the AWS targets of this
        workspace's agentcore environments, torn down (`agentcore.sweep`)."""
        out: list[SweptPreview] = []
        seen: set[AwsTarget] = set()
        for _name, env in sorted(ctx.workspace.environments.items()):
            spec = env.doc.spec
            if spec.runtime != "agentcore" or spec.aws is None:
                continue
            target = AwsTarget.of(spec.aws)
            if target in seen:
                continue
            seen.add(target)
            out += sweep_previews(
                self.aws(target),
                parent=parent,
                older_than=older_than,
                now=now,
                live=live,
                private=private_for(spec.aws, target),
                log=ctx.log,
            )
        return out

    # --- crash recovery ---------------------------------------------------------------
    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        address = Address.parse(pending.address)
        settings = self.settings(ctx, address.env or "")
        if prior is not None:
            target = AwsTarget.from_json(prior.private["target"])
        elif settings is not None:
            target = AwsTarget.of(settings)
        else:
            return None  # nothing recorded and nowhere to look
        private = dict(prior.private) if prior else private_for(settings, target)
        names = _names(pending.address, ctx)
        return recover(self.aws(target), names, pending, prior, private, ctx.log)

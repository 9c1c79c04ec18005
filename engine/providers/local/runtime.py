"""Local runtime provider: each Agent of each environment as its own process on 127.0.0.1.

The process serves the AgentCore app contract (`POST /invocations`, `GET /ping`) through
`engine.runtime.host`, on a stable port per (environment, agent) that survives updates:
an update starts the new version on the same port (SO_REUSEPORT), waits until it is
healthy, switches the record and only then stops the old one - no moment without a healthy
agent. Ownership: every process carries `AGENTOPS_WORKSPACE_ID` and `AGENTOPS_ADDRESS` in
its environment, so anything a crash left behind is found by scanning /proc, like tagged
cloud resources.

Access mirrors the IAM of AgentCore (`engine.runtime.token`): an agent accepts the engine
token and its own, stable per address; its process gets a 0600 file with the tokens of the
agents in its `calls:` (in its environment) and nothing else, so it can call only those.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from engine.errors import PermanentError
from engine.providers.base import Context, Desired, Observed
from engine.providers.secret_refs import SsmTarget, resolve_secret
from engine.runtime.callees import env_var_for
from engine.runtime.token import (
    CALLEE_TOKENS_ENV,
    agent_token_path,
    forget_agent_tokens,
    load_or_create_agent_token,
    load_or_create_token,
    token_path,
    write_callee_tokens,
)
from engine.runtime.trace_export import EXPORT_CONFIG_ENV, write_config
from engine.spec.digests import agent_attrs, digest_of, system_prompt
from engine.spec.graph import GraphNode
from engine.spec.schema import AgentSpec
from engine.spec.schema.base import SECRET_RE
from engine.state.model import PendingOp, ResourceState
from engine.state.private import private_dir

if TYPE_CHECKING:
    from engine.runtime.process import AgentProcess

SENSITIVE_PREFIX = "secrets."
#: recorded in a resource's `private`: its process accepts per-agent tokens. A process
#: started before them accepts only the engine token, so its callers with per-agent tokens
#: could not reach it: observe reports it as drift and the next apply rolls it over.
TOKEN_SCHEME = "per-agent"
#: Langfuse's OTLP traces endpoint, under the environment's host
OTLP_PATH = "/api/public/otel/v1/traces"


def owned_processes(workspace_id: str) -> dict[str, list[int]]:
    """address -> pids of live processes tagged with this workspace (scans /proc)."""
    out: dict[str, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if f"AGENTOPS_WORKSPACE_ID={workspace_id}".encode() not in raw:
            continue
        env = dict(part.split(b"=", 1) for part in raw.split(b"\0") if b"=" in part)
        address = env.get(b"AGENTOPS_ADDRESS", b"").decode()
        if address and env.get(b"AGENTOPS_HOST_PROCESS") == b"1":
            out.setdefault(address, []).append(int(entry))
    return out


class LocalRuntimeProvider:
    name: ClassVar[str] = "local-runtime"
    kinds: ClassVar[frozenset[str]] = frozenset({"Agent"})

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    # --- desired ----------------------------------------------------------------------
    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        spec = node.spec.doc.spec
        attrs = agent_attrs(ctx.workspace, spec, node.address.env or "")
        sensitive = frozenset(k for k in attrs if k.startswith(SENSITIVE_PREFIX))
        return Desired(digest=digest_of(attrs), attrs=attrs, sensitive=sensitive)

    # --- observe ----------------------------------------------------------------------
    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        from engine.runtime.process import AgentProcess, probe_agent

        proc = AgentProcess.from_json(prior.private["process"])
        probe = probe_agent(proc)
        if not probe.alive:
            return Observed(exists=False, healthy=False, status="process gone")
        if not probe.healthy:
            return Observed(
                exists=True,
                healthy=False,
                status=probe.status,
                digest=proc.digest,
                outputs=prior.outputs,
            )
        scheme = prior.private.get("tokens", "shared")
        drift = {} if scheme == TOKEN_SCHEME else {"runtime token": (scheme, TOKEN_SCHEME)}
        return Observed(exists=True, digest=proc.digest, outputs=prior.outputs, drift=drift)

    # --- mutate -----------------------------------------------------------------------
    def launch_env(
        self,
        *,
        spec: AgentSpec,
        address: str,
        name: str,
        env_name: str,
        model: str,
        digest: str,
        ctx: Context,
    ) -> dict[str, str]:
        """The process environment of an agent: the runtime contract's variables.

        Writes the agent's callee-token file when it has `calls:` (the variable holds only the
        file's path).
        """
        env: dict[str, str] = {
            "AGENTOPS_MODEL": model,
            "AGENTOPS_SYSTEM_PROMPT": system_prompt(ctx.workspace, spec),
            "AGENTOPS_AGENT_NAME": name,
            "AGENTOPS_ENVIRONMENT": env_name,
            "AGENTOPS_ADDRESS": address,
            "AGENTOPS_WORKSPACE_ID": ctx.workspace_id,
            "AGENTOPS_DIGEST": digest,
            "AGENTOPS_HOST_PROCESS": "1",
            # the host records every invocation here (engine.runtime.tracing)
            "AGENTOPS_TRACE_DB": str(self.state_dir / "traces.sqlite"),
        }
        export = self.trace_export_file(env_name, ctx)
        if export is not None:  # a path only: the keys stay in the 0600 file
            env[EXPORT_CONFIG_ENV] = str(export)
        if spec.tools:
            servers = {t.name: t.model_dump(mode="json", exclude_none=True) for t in spec.tools}
            env["AGENTOPS_MCP_SERVERS"] = json.dumps({"mcpServers": servers})
        env.update(spec.env)
        env.update(resolve_secrets(spec.secrets))
        tokens: dict[str, str] = {}
        for callee in spec.calls:
            callee_address = f"agent.{callee}[{env_name}]"
            out = ctx.outputs(callee_address)
            if not out or "url" not in out:
                raise PermanentError(
                    f"{address} calls {callee}, which has no address in {env_name}",
                    hint=f"apply {callee_address} first",
                )
            env[env_var_for(callee, "URL")] = str(out["url"])
            tokens[callee] = load_or_create_agent_token(self.state_dir, callee_address)
        if tokens:
            env[CALLEE_TOKENS_ENV] = str(write_callee_tokens(self.state_dir, address, tokens))
        return env

    def trace_export_file(self, env_name: str, ctx: Context) -> Path | None:
        """In a `store: langfuse` environment, the 0600 file the host exports traces with.

        Written next to the runtime token on every start (keys may have been rotated): the
        OTLP endpoint of the environment's Langfuse and the Basic `Authorization` header,
        from its resolved secret references. Nothing secret goes into the process
        environment: the host gets the file's path in `AGENTOPS_TRACE_EXPORT`.
        """
        env = ctx.workspace.environments.get(env_name)
        spec = env.doc.spec if env is not None else None
        if spec is None or spec.store != "langfuse" or spec.langfuse is None:
            return None
        lf = spec.langfuse
        ssm = SsmTarget.of(spec.aws)
        what = f"environment '{env_name}': langfuse"
        host = lf.host
        if SECRET_RE.match(host):
            host = resolve_secret(host, what=f"{what}.host", ssm=ssm).reveal()
        public = resolve_secret(lf.public_key, what=f"{what}.publicKey", ssm=ssm).reveal()
        secret = resolve_secret(lf.secret_key, what=f"{what}.secretKey", ssm=ssm).reveal()
        basic = base64.b64encode(f"{public}:{secret}".encode()).decode()
        path = private_dir(self.state_dir) / f"trace-export.{env_name}.json"
        write_config(
            path,
            {
                "endpoint": host.rstrip("/") + OTLP_PATH,
                "headers": {"Authorization": f"Basic {basic}"},
                "environment": env_name if len(env_name) <= 40 else None,
            },
        )
        return path

    def token(self) -> str:
        """The engine token: every agent process accepts it, none holds it."""
        return load_or_create_token(self.state_dir)

    def forget(self, address: str) -> None:
        """Drop the tokens of an agent (or ephemeral variant) that no longer runs."""
        forget_agent_tokens(self.state_dir, address)

    def spawn(
        self,
        *,
        spec: AgentSpec,
        address: str,
        name: str,
        env_name: str,
        model: str,
        digest: str,
        ctx: Context,
        log_name: str,
        port: int | None = None,
        old: AgentProcess | None = None,
        own_token: bool = False,
    ) -> AgentProcess:
        """Start (or roll over to) one agent process and wait until it is healthy.

        Also used by runs for ephemeral variants (address e.g. `experiment.hpo[dev]/v1`).
        With `own_token` (a declared agent) the process also accepts the token of `address`,
        which its callers hold; otherwise (a variant, which only the engine invokes) only
        the engine token.
        """
        from engine.runtime.process import (
            AgentStartError,
            allocate_port,
            replace_agent,
            start_agent,
        )

        logs = private_dir(self.state_dir / "logs" / env_name)
        engine_token = token_path(self.state_dir)
        load_or_create_token(self.state_dir)
        agent_token: Path | None = None
        if own_token:
            load_or_create_agent_token(self.state_dir, address)
            agent_token = agent_token_path(self.state_dir, address)
        kwargs: dict[str, Any] = dict(
            entrypoint=ctx.workspace.root / spec.source / spec.entrypoint,
            source=ctx.workspace.root / spec.source,
            cwd=ctx.workspace.root,
            env=self.launch_env(
                spec=spec,
                address=address,
                name=name,
                env_name=env_name,
                model=model,
                digest=digest,
                ctx=ctx,
            ),
            log_file=logs / f"{log_name}.log",
            token_file=engine_token,
            agent_token_file=agent_token,
            digest=digest,
            health_timeout=spec.lifecycle.health_timeout,
        )
        try:
            if old is not None:
                return replace_agent(old, **kwargs)
            return start_agent(port=port or allocate_port(), **kwargs)
        except AgentStartError as exc:
            raise PermanentError(
                f"agent {name} in {env_name} did not become healthy: {exc.reason}\n"
                f"--- last lines of {exc.log_file} ---\n{exc.log_tail}",
                hint=f"see the full log in {exc.log_file}; the previous version (if any) "
                "keeps serving",
            ) from exc

    def _start(
        self,
        node: GraphNode,
        desired: Desired,
        ctx: Context,
        port: int | None,
        old: AgentProcess | None = None,
    ) -> ResourceState:
        proc = self.spawn(
            spec=node.spec.doc.spec,
            address=str(node.address),
            name=node.address.name,
            env_name=node.address.env or "",
            model=str(desired.attrs["model"]),
            digest=desired.digest,
            ctx=ctx,
            log_name=node.address.name,
            port=port,
            old=old,
            own_token=True,
        )
        return ResourceState(
            address=str(node.address),
            kind="Agent",
            provider=self.name,
            provider_id=f"pid:{proc.pid}",
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={"url": proc.url, "port": proc.port, "log_file": proc.log_file},
            private={"process": proc.to_json(), "tokens": TOKEN_SCHEME},
        )

    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        return self._start(node, desired, ctx, port=None)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        from engine.runtime.process import AgentProcess, probe_agent

        old = AgentProcess.from_json(prior.private["process"])
        if probe_agent(old).alive:
            return self._start(node, desired, ctx, port=old.port, old=old)
        return self._start(node, desired, ctx, port=old.port)

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        from engine.runtime.process import AgentProcess, stop_agent

        spec_grace = 5.0
        stop_agent(AgentProcess.from_json(prior.private["process"]), grace=spec_grace)
        self._kill_strays(prior.address, ctx, keep=None)
        self.forget(prior.address)

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        """A crash mid-operation: keep what state recorded, stop any other tagged process."""
        keep = None
        if prior is not None:
            keep = int(prior.private["process"]["pid"])
            if not self.observe(prior, ctx).exists:
                prior = None
                keep = None
        self._kill_strays(pending.address, ctx, keep=keep)
        return prior

    def _kill_strays(self, address: str, ctx: Context, keep: int | None) -> None:
        for pid in owned_processes(ctx.workspace_id).get(address, []):
            if pid != keep:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)


def resolve_secrets(refs: dict[str, str]) -> dict[str, str]:
    """Local resolution of `env:NAME` references; `ssm:` needs the AWS runtime."""
    out = {}
    for var, ref in refs.items():
        scheme, _, target = ref.partition(":")
        if scheme == "env":
            value = os.environ.get(target)
            if value is None:
                raise PermanentError(
                    f"secret {var} references env:{target}, which is not set",
                    hint=f"export {target} before running agentops",
                )
            out[var] = value
        else:
            raise PermanentError(
                f"secret {var} references {ref}: ssm: references are resolved by the "
                "AgentCore runtime, not locally",
                hint="use env:NAME in local environments",
            )
    return out

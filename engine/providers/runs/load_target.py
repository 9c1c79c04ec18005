"""Where a LoadTest sends its traffic, checked before any load is generated.

Role: resolve the agent a LoadTest targets in its environment - the local runtime's stable URL
and token file, or (for `runtime: agentcore`) the runtime ARN - and fail early with a message
that says what to do when the agent is not deployed or does not answer its health check.
A refused connection under load would otherwise show up only as a 100 % error rate.
"""

from __future__ import annotations

import contextlib
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from engine.errors import PermanentError
from engine.providers.base import Context
from engine.runtime.token import token_path

PING_TIMEOUT = 3.0


@dataclass(frozen=True)
class Target:
    kind: str  # "local" | "agentcore"
    address: str  # the agent's address, e.g. agent.docs-assistant[prd]
    url: str = ""
    token_file: str | None = None
    arn: str | None = None
    region: str | None = None
    qualifier: str | None = None
    #: the AWS profile of the Environment (None: the default credential chain)
    profile: str | None = None

    @property
    def shown(self) -> str:
        return self.url or self.arn or self.address


def resolve_target(agent: str, env: str, ctx: Context) -> Target:
    address = f"agent.{agent}[{env}]"
    outputs = ctx.outputs(address)
    env_spec = ctx.workspace.environments[env].doc.spec
    apply_hint = f"apply it first: agentops apply --target '{address}'"
    if not outputs:
        raise PermanentError(
            f"{address} is not deployed, so there is nothing to load-test", hint=apply_hint
        )
    if env_spec.runtime == "agentcore":
        # The AgentCore provider's outputs: the ARN callers use, the endpoint agentops owns
        # (`qualifier`) and the region the runtime was deployed to, which wins over the
        # Environment's (it may have changed since, and the runtime did not move yet).
        arn = outputs.get("arn") or outputs.get("agent_runtime_arn")
        if not arn:
            raise PermanentError(f"{address} has no runtime ARN in its outputs", hint=apply_hint)
        aws = env_spec.aws
        region = outputs.get("region") or (aws.region if aws else None)
        return Target(
            "agentcore",
            address,
            arn=str(arn),
            region=str(region) if region else None,
            qualifier=str(outputs["qualifier"]) if outputs.get("qualifier") else None,
            profile=aws.profile if aws else None,
        )
    url = outputs.get("url")
    if not url:
        raise PermanentError(f"{address} has no URL in its outputs", hint=apply_hint)
    token = token_path(ctx.state_dir)
    if not token.is_file():
        raise PermanentError(
            f"the local runtime token {token} is missing, so {address} cannot be invoked",
            hint=f"re-apply the agent: agentops apply --target '{address}'",
        )
    return Target("local", address, url=str(url), token_file=str(token))


def preflight(target: Target) -> None:
    """GET /ping next to the invocation URL; PermanentError with the reason if unhealthy."""
    if target.kind != "local":
        return
    parts = urlsplit(target.url)
    ping = f"{parts.scheme}://{parts.netloc}/ping"
    hint = (
        f"check it with 'agentops status'; redeploy with 'agentops apply --target {target.address}'"
    )
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port or 80, timeout=PING_TIMEOUT
    )
    try:
        conn.request("GET", "/ping")
        resp = conn.getresponse()
        body = resp.read()
    except ConnectionRefusedError:
        raise PermanentError(
            f"{target.address} is not reachable at {ping}: connection refused (is it running?)",
            hint=hint,
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise PermanentError(
            f"{target.address} did not answer its health check at {ping}: {exc}", hint=hint
        ) from None
    finally:
        conn.close()
    status = ""
    with contextlib.suppress(ValueError, AttributeError):
        status = str(json.loads(body).get("status", ""))
    if resp.status != 200 or status not in ("Healthy", "HealthyBusy"):
        raise PermanentError(
            f"{target.address} is unhealthy at {ping}: HTTP {resp.status} {status or body[:80]!r}",
            hint=hint,
        )

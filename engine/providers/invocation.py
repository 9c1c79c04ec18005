"""Pick the invocation client for a deployed agent (local runtime or AgentCore)."""

from __future__ import annotations

from pathlib import Path

from engine.errors import UsageError
from engine.invoke.base import Invoker
from engine.state.model import ResourceState


def invoker_for(
    res: ResourceState, state_dir: Path, *, timeout: float = 120.0, source: str | None = None
) -> Invoker:
    """LocalInvoker or AgentCoreInvoker: both are `Invoker`s (invoke/ainvoke, `with`).

    `source` (`evaluation`, `experiment`, `loadtest`): whose traffic the calls are, sent the
    way each runtime lets it reach the agent's trace; None is production traffic."""
    if res.provider == "agentcore":
        from engine.providers.agentcore.invoke import AgentCoreInvoker

        return AgentCoreInvoker.from_state(res, timeout=timeout, source=source)
    if res.provider == "local-runtime":
        from engine.invoke import LocalInvoker
        from engine.runtime.token import load_or_create_token

        return LocalInvoker(
            str(res.outputs["url"]),
            load_or_create_token(state_dir),
            timeout=timeout,
            headers={"X-Agentops-Source": source} if source else None,
        )
    raise UsageError(
        f"{res.address}: invoking agents of provider '{res.provider}' is not supported yet"
    )

"""Invoker: what every invocation client offers, whichever runtime it reaches.

Role: the shape `engine.providers.invocation.invoker_for` hands out: `invoke` and `ainvoke`,
`close` and `aclose`, and both context managers (`with` closes, `async with` a-closes). The
local runtime's client (`local.py`) and AgentCore's (`engine.providers.agentcore.invoke`)
derive from it; the payload is encoded the same way for both. `trace_id` (32 hex) makes the
call continue that trace: it carries a W3C `traceparent` (`trace_context.traceparent`), so the
agent's spans are children of the caller's span.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from engine.invoke.result import InvocationResult, InvokeError


def encode_payload(payload: Mapping[str, object]) -> bytes:
    """The request body: strict JSON (no NaN), UTF-8; `InvokeError` if it is not JSON."""
    try:
        return json.dumps(payload, ensure_ascii=False, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvokeError(f"payload is not JSON-serialisable: {exc}") from exc


class Invoker(ABC):
    """Invoke one deployed agent; failures of the agent or the wire are results, not raises."""

    @abstractmethod
    def invoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult: ...

    @abstractmethod
    async def ainvoke(
        self,
        payload: Mapping[str, object],
        *,
        session_id: str | None = None,
        trace_id: str | None = None,
    ) -> InvocationResult: ...

    @abstractmethod
    def close(self) -> None: ...

    async def aclose(self) -> None:
        """Close whatever `ainvoke` opened too; by default there is nothing more than `close`."""
        self.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

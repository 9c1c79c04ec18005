"""The one client that invokes a deployed agent: CLI, experiments, gates and load tests use it.

Role: turn "call this agent with this payload" into an `InvocationResult`, whatever happened on
the wire. Normal failures are results with `ok=False`; `InvokeError` is raised only for mistakes
in the calling code (see `result.py`). Modules:

* `answer` - the answer contract: what a JSON or `text/event-stream` body means (`parse_answer`);
* `result` - `InvocationResult`, `InvokeError`, session ids;
* `base` - `Invoker`, the shape every client has (invoke/ainvoke, close/aclose, `with`);
* `local` - `LocalInvoker`, `POST <url>` to the local runtime (`engine.runtime`), with its
  retry rule. AgentCore's client is `engine.providers.agentcore.invoke.AgentCoreInvoker`.
"""

from __future__ import annotations

from engine.invoke.answer import ParsedAnswer, parse_answer
from engine.invoke.base import Invoker
from engine.invoke.local import LocalInvoker
from engine.invoke.result import InvocationResult, InvokeError, new_session_id
from engine.runtime.session import SESSION_HEADER, is_valid_session_id

__all__ = [
    "SESSION_HEADER",
    "InvocationResult",
    "InvokeError",
    "Invoker",
    "LocalInvoker",
    "ParsedAnswer",
    "is_valid_session_id",
    "new_session_id",
    "parse_answer",
]

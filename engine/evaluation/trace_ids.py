"""Trace ids of a run's cases: decided before the agent is invoked, shared by every record.

Pipeline role: the one derivation the runner (`engine.providers.runs.eval_runner`, which sends
the id as the case invocation's `traceparent`) and the Langfuse run recorder
(`engine.providers.langfuse.runs`, which writes the case's root span under it) both use, so
in Langfuse the engine's case trace and the agent's spans are one trace, and locally the
agent host's trace row of a case (`agentops traces show <id>`) carries the id its run
record keeps (`CaseResult.trace_id`).

The seed is what the engine knows before anything runs - the workspace, the environment,
the run name (address, variant, agent digest, run id) and the item x repetition - so the id
is the same in `store: local` and `store: langfuse` environments, and re-recording a run
reuses it.
"""

from __future__ import annotations

import hashlib


def run_name(address: str, variant: str, agent_digest: str, run_id: str) -> str:
    """`qualitygate.docs[tst] · baseline · agent 1a2b3c4d5e6f · <run id>`: variant + digest."""
    return f"{address} · {variant} · agent {agent_digest[:12]} · {run_id}"


def case_trace_id(workspace_id: str, env: str, name: str, item_id: str, repetition: int) -> str:
    """The W3C trace id (32 hex) of one item x repetition of the run named `name`."""
    seed = f"agentops/case/{workspace_id}/{env}/{name}/{item_id}/{repetition}"
    tid = hashlib.sha256(seed.encode()).digest()[:16].hex()
    return "1" * 32 if tid == "0" * 32 else tid  # all-zero is invalid (1 in 2**128)

"""Fault injection for crash-safety tests: SIGKILL this process at the k-th fault point.

Set `AGENTOPS_FAULT=<point>:<k>` (points: `provider_call`, `state_write`, or `any`) and the
process kills itself with SIGKILL - no cleanup, no finally blocks, exactly like a power cut
or an OOM kill - when that point is reached for the k-th time. Unset, this costs one dict
lookup per point. It exists so that the test suite can prove, for every k, that re-running
`agentops apply` converges.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def point(name: str) -> None:
    spec = os.environ.get("AGENTOPS_FAULT")
    if not spec:
        return
    target, _, k = spec.partition(":")
    if target not in (name, "any"):
        return
    key = target
    _counts[key] = _counts.get(key, 0) + 1
    if _counts[key] == int(k or "1"):
        os.kill(os.getpid(), signal.SIGKILL)

"""One trace as a person reads it (`agentops traces show`, `agentops annotate`)."""

from __future__ import annotations

import json
import time
from typing import Any


def render_trace(trace: Any, scores: list[tuple[str, str, float, bool, str | None]]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(trace.started_at))
    lines = [
        f"trace {trace.trace_id}",
        f"  agent    {trace.address} (digest {trace.digest})",
        f"  when     {when} · {trace.latency_ms:.0f} ms · {trace.source} · {trace.status}"
        + (f" · session {trace.session_id}" if trace.session_id else ""),
        "",
        "Input:",
        f"  {trace.input}",
        "",
        "Answer:" if trace.error is None else f"Error: {trace.error}",
    ]
    if trace.output:
        lines += [f"  {line}" for line in trace.output.splitlines()]
    if trace.trajectory:
        lines += ["", "Trajectory:"]
        for i, step in enumerate(trace.trajectory, 1):
            name = step.get("tool", step.get("name", "?")) if isinstance(step, dict) else step
            args = step.get("input", {}) if isinstance(step, dict) else {}
            lines.append(f"  {i}. {name}({json.dumps(args, ensure_ascii=False)})")
    if trace.usage:
        lines += ["", f"Usage: {json.dumps(trace.usage)}"]
    if scores:
        lines += ["", "Scores:"]
        for monitor, name, value, passed, comment in scores:
            mark = "pass" if passed else "FAIL"
            lines.append(f"  {name:<12} {value:.2f} {mark}  {monitor}  {comment or ''}".rstrip())
    return "\n".join(lines)

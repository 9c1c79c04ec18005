"""Record a finished LoadTest's requests in Langfuse: one trace per request, one session per run.

Pipeline role: called by the LoadTest provider after the run was analysed and saved locally,
when the run's environment has `store: langfuse`. Locust runs in its own gevent-patched
process, which must never meet the Langfuse SDK (OpenTelemetry threads, httpx); so the
engine records from the raw samples afterwards, in its own process: each request becomes a
trace (input = the prompt, output = the answer, latency = the measured one, level ERROR for
a failed request, grading in the metadata), grouped as the Langfuse *session* named after
the run id, so the whole load test is one session view in the Langfuse UI.

Volume: every request is recorded up to `MAX_TRACES`; a bigger run is sampled evenly (every
k-th request, k in the metadata) - a capacity test can send a million requests, and
Langfuse bills per observation. Trace ids are seeded by run id and request number, so a
retry after an error upserts instead of duplicating. Flushed before returning.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.errors import AgentOpsError
from engine.load.analysis import Sample
from engine.providers.langfuse.runs import LangfuseRunRecorder

MAX_TRACES = 10_000


@dataclass
class LoadRecording:
    session_id: str
    recorded: int
    requests: int
    #: every `step`-th request was recorded (1: all)
    step: int
    url: str


def record_load_run(
    recorder: LangfuseRunRecorder,
    *,
    run_id: str,
    address: str,
    samples: Sequence[Sample],
    prompts: Mapping[str, str],
    max_traces: int = MAX_TRACES,
) -> LoadRecording:
    """Every (or every k-th) request as a trace in the session `run_id`; flushed."""
    step = max(1, math.ceil(len(samples) / max_traces)) if samples else 1
    recorded = 0
    for seq in range(0, len(samples), step):
        s = samples[seq]
        error = None if s.ok else (s.error or f"HTTP {s.status}")
        recorder.record_invocation(
            session_id=run_id,
            name=f"{address} · {s.prompt}",
            input={"prompt": prompts.get(s.prompt, s.prompt)},
            output=s.text if s.ok else None,
            latency_ms=s.ms,
            error=error,
            metadata={
                "agentops_run": run_id,
                "request": seq,
                "prompt": s.prompt,
                "tags": list(s.tags),
                "expect": s.expect,
                "refused": s.refused,
                "cold": s.cold,
                "status": s.status,
                "worker": s.worker,
                "session": s.session,
                "sampled_every": step,
            },
            trace_id=hashlib.sha256(f"agentops/load/{run_id}/{seq}".encode()).digest()[:16].hex(),
        )
        recorded += 1
    recorder.flush()
    conn = recorder.conn
    url = conn.link(f"/project/{conn.project.id}/sessions/{run_id}")
    return LoadRecording(run_id, recorded, len(samples), step, url)


def record_summary(
    recorder: LangfuseRunRecorder,
    *,
    run_id: str,
    address: str,
    samples: Sequence[Sample],
    prompts: Mapping[str, str],
) -> tuple[dict[str, object], str | None]:
    """(summary["langfuse"], the error message when Langfuse did not take the run)."""
    try:
        got = record_load_run(
            recorder, run_id=run_id, address=address, samples=samples, prompts=prompts
        )
    except AgentOpsError as exc:
        message = f"{exc} ({exc.hint})" if exc.hint else str(exc)
        return {"error": message}, f"the run was not recorded in Langfuse: {message}"
    return {"session": got.url, "traces": got.recorded, "sampled_every": got.step}, None

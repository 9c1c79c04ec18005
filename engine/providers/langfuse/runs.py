"""Run recorder: Experiment and QualityGate runs recorded as Langfuse dataset runs.

Pipeline role: called by the evaluation runner (`engine.evaluation`) when the run's
environment has `store: langfuse`, *after* the engine computed each result; the local store
keeps its copy as always. Usage (`docs/langfuse.md` has the integration note):

    recorder = LangfuseRunRecorder.for_environment(ctx, env)     # checks the keys: do it
    run = recorder.start_run(dataset=..., run_name=..., items=...)  # before deploying
    run.record_item(item_id, input=..., output=..., latency_ms=..., error=..., scores=[...])
    summary = run.finish({"facts": 0.83, "pass_rate": 0.9})    # run-level scores
    recorder.flush()                                             # before the command exits

Why not `run_experiment`: it runs the task and the evaluators itself, while the engine has
already invoked the agent (with its own concurrency, repetitions, timeouts and teardown) and
scored every answer; replaying results through it would fake timings and, since it drops
items whose task raised, lose failed calls. The lower-level equivalent is what it sends
anyway: one trace per item whose spans carry the experiment attributes (run id and name,
dataset id, dataset item id - the server turns these into dataset run items), item scores
on the trace, run-level scores on the run (`datasetRunId`). Every recorded case is a trace,
failed calls included (level ERROR, every score 0), and `finish` records inputs that never
got a result the same way, so results always count up to inputs.

Ids are deterministic: the run id is Langfuse's own derivation (project, dataset, run
name), trace ids are seeded by workspace, environment, run name, item and repetition
(`engine.evaluation.trace_ids.case_trace_id`, which the runner sent as the invocation's W3C
`traceparent` before the call: the agent's spans join the item's trace as children of its
root), and score ids are seeded too, so re-sending after an error never duplicates anything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
import urllib.parse
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import PermanentError
from engine.evaluation.trace_ids import case_trace_id, run_name
from engine.providers.base import Context
from engine.providers.langfuse.http import LangfuseConnection
from engine.providers.langfuse.items import NAMESPACE, dataset_name, item_uuid
from engine.providers.langfuse.store import target_for
from engine.providers.langfuse.traces import trace_invocation
from engine.spec.datasets import LoadedItem

__all__ = [
    "DatasetRunRecording",
    "LangfuseRunRecorder",
    "RunSummary",
    "ScoreInput",
    "experiment_id",
    "run_name",
]

#: (score name, value in [0, 1] or None for "does not apply", comment)
ScoreInput = tuple[str, float | None, str | None]
#: the environment the SDK gives experiment traces, so they stay out of production views
EXPERIMENT_ENVIRONMENT = "sdk-experiment"
SCORE_BATCH = 100


def experiment_id(project_id: str, dataset_id: str, name: str) -> str:
    # Byte for byte the Langfuse server's (and SDK's) stable id of a dataset run.
    payload = json.dumps(
        ["langfuse-experiment-v1", project_id, dataset_id, name],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


@dataclass
class RunSummary:
    run_name: str
    experiment_id: str
    dataset_id: str
    expected: int
    recorded: int
    failed: int
    #: "item_id#repetition" of inputs that got no result and were recorded as errors
    missing: list[str]
    url: str


class LangfuseRunRecorder:
    """Records runs of one environment; thread-safe, cheap per item (no network I/O)."""

    def __init__(self, conn: LangfuseConnection, *, workspace_id: str, env: str) -> None:
        self.conn = conn
        self.workspace_id = workspace_id
        self.env = env
        self._scores: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @classmethod
    def for_environment(
        cls, ctx: Context, env: str, *, conn: LangfuseConnection | None = None
    ) -> LangfuseRunRecorder:
        """Resolve and check the environment's keys now, before any agent is deployed."""
        connection = conn or LangfuseConnection(target_for(ctx, env, f"environment.{env}"))
        return cls(connection, workspace_id=ctx.workspace_id, env=env)

    @property
    def client(self) -> Any:
        from engine.providers.langfuse.tracing import tracing_for

        return tracing_for(self.conn)

    def start_run(
        self,
        *,
        dataset: str,
        run_name: str,
        items: Sequence[LoadedItem],
        repetitions: int = 1,
        score_names: Sequence[str] = (),
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> DatasetRunRecording:
        """A dataset run of `dataset` (the engine's name) over `items` x `repetitions`."""
        name = dataset_name(self.env, dataset)
        quoted = urllib.parse.quote(name, safe="")
        found = self.conn.find(
            f"GET dataset {name}",
            lambda o: self.conn.api.datasets.get(dataset_name=quoted, request_options=o),
        )
        if found is None:
            raise PermanentError(
                f"environment '{self.env}': Langfuse has no dataset '{name}' to record the "
                f"run '{run_name}' against",
                hint=f"apply dataset.{dataset}[{self.env}] first (runs depend on it)",
            )
        self.client  # noqa: B018 - fail now (tracing disabled, key clash), not mid-run
        return DatasetRunRecording(
            self,
            run_name=run_name,
            dataset=dataset,
            dataset_id=str(found.id),
            items=list(items),
            repetitions=repetitions,
            score_names=list(score_names),
            description=description,
            metadata=dict(metadata or {}),
        )

    # --- scores -------------------------------------------------------------------------
    def _queue_score(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._scores.append({k: v for k, v in body.items() if v is not None})

    def flush(self) -> None:
        """Export the traces, then send the queued scores in batches; raise on rejections."""
        self.client.flush()
        with self._lock:
            pending, self._scores = self._scores, []
        rejected: list[str] = []
        for start in range(0, len(pending), SCORE_BATCH):
            try:
                got = self._send(pending[start : start + SCORE_BATCH])
            except BaseException:
                with self._lock:  # keep what was not sent: the next flush tries again
                    self._scores[:0] = pending[start:]
                raise
            rejected.extend(str(e.message) for e in getattr(got, "errors", None) or ())
        if rejected:
            raise PermanentError(
                f"environment '{self.env}': Langfuse rejected {len(rejected)} score(s): "
                + self.conn.redact("; ".join(sorted(set(rejected)))[:300])
            )

    def _send(self, batch: list[dict[str, Any]]) -> Any:
        # POST /api/public/scores takes a JSON array: one request per batch. Score ids are
        # deterministic, so a retried batch upserts instead of duplicating.
        return self.conn.call(
            f"send {len(batch)} score(s)",
            lambda o: self.conn.api.scores.create(request=batch, request_options=o),
        )

    # --- traces -------------------------------------------------------------------------
    def record_invocation(
        self,
        *,
        session_id: str,
        name: str,
        input: object,
        output: object,
        latency_ms: float,
        error: str | None = None,
        trajectory: Sequence[Mapping[str, Any]] = (),
        usage: Mapping[str, int] | None = None,
        metadata: Mapping[str, Any] | None = None,
        trace_id: str | None = None,
    ) -> str:
        """One trace outside any dataset run (a load test's request), grouped by session.

        `trace_id` (32 hex, e.g. seeded by run and request) makes re-sending idempotent."""
        from langfuse import propagate_attributes

        env = self.env if len(self.env) <= 40 and not self.env.startswith("langfuse") else None
        with propagate_attributes(session_id=session_id[:200], trace_name=name, environment=env):
            trace_id, _ = trace_invocation(
                self.client, trace_id, name, input=input, output=output, latency_ms=latency_ms,
                error=error, trajectory=trajectory, usage=usage, metadata=dict(metadata or {}),
                experiment=None,
            )  # fmt: skip
        return trace_id


@dataclass
class DatasetRunRecording:
    recorder: LangfuseRunRecorder
    run_name: str
    dataset: str
    dataset_id: str
    items: list[LoadedItem]
    repetitions: int
    score_names: list[str]
    description: str | None
    metadata: dict[str, Any]
    recorded: dict[tuple[str, int], bool] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _missing: list[tuple[str, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        project = self.recorder.conn.project.id
        self.experiment_id = experiment_id(project, self.dataset_id, self.run_name)
        self._by_id = {i.id: i for i in self.items}

    @property
    def url(self) -> str:
        conn = self.recorder.conn
        return conn.link(
            f"/project/{conn.project.id}/datasets/{self.dataset_id}/runs/{self.experiment_id}"
        )

    def trace_id(self, item_id: str, repetition: int = 0) -> str:
        """The case's trace id: the one the runner sent with the invocation (`traceparent`)."""
        rec = self.recorder
        return case_trace_id(rec.workspace_id, rec.env, self.run_name, item_id, repetition)

    def record_item(
        self,
        item_id: str,
        *,
        input: object,
        output: object,
        latency_ms: float,
        error: str | None = None,
        scores: Iterable[ScoreInput] = (),
        trajectory: Sequence[Mapping[str, Any]] = (),
        usage: Mapping[str, int] | None = None,
        repetition: int = 0,
    ) -> str:
        """One case: a trace linked to the dataset item, and its scores. Returns the trace id."""
        item = self._by_id.get(item_id)
        if item is None:
            raise PermanentError(f"run '{self.run_name}': item '{item_id}' is not in the run")
        trace_id = self.trace_id(item_id, repetition)
        rec = self.recorder
        experiment = {
            "id": self.experiment_id,
            "name": self.run_name,
            "description": self.description,
            "metadata": self.metadata,
            "dataset_id": self.dataset_id,
            "item_id": item_uuid(rec.workspace_id, rec.env, self.dataset, item_id),
            "expected_output": item.expected_output,
            "item_metadata": {**item.metadata, "agentops_item": item_id, "repetition": repetition},
        }
        from langfuse import propagate_attributes

        with propagate_attributes(trace_name=self.run_name, environment=EXPERIMENT_ENVIRONMENT):
            _, observation = trace_invocation(
                rec.client, trace_id, "experiment-item-run", input=input, output=output,
                latency_ms=latency_ms, error=error, trajectory=trajectory, usage=usage,
                metadata={"agentops_item": item_id, "repetition": repetition},
                experiment=experiment,
            )  # fmt: skip
        for name, value, comment in self._scores_of(scores, error):
            rec._queue_score(
                {
                    "id": str(uuid.uuid5(NAMESPACE, f"score/{trace_id}/{name}")),
                    "traceId": trace_id,
                    "observationId": observation,
                    "name": name,
                    "value": value,
                    "comment": comment,
                    "dataType": "NUMERIC",
                    "timestamp": _now(),
                }
            )
        with self._lock:
            self.recorded[(item_id, repetition)] = error is None
        return trace_id

    def _scores_of(self, scores: Iterable[ScoreInput], error: str | None) -> list[ScoreInput]:
        out: dict[str, ScoreInput] = {}
        for name, value, comment in scores:
            if value is None or not math.isfinite(value):
                continue  # the evaluator does not apply to this item
            out[name] = (name, float(value), comment)
        if error is not None:
            # A failed call scores 0 on every evaluator: never dropped, never a blank.
            why = f"call failed: {error}"[:500]
            for name in [*self.score_names, *out]:
                out[name] = (name, 0.0, why)
        return list(out.values())

    def record_missing(self) -> list[tuple[str, int]]:
        """Record inputs that got no result as errors scoring 0 (idempotent); returns them."""
        expected = [(i.id, r) for r in range(self.repetitions) for i in self.items]
        with self._lock:
            missing = [k for k in expected if k not in self.recorded]
        for item_id, rep in missing:
            item = self._by_id[item_id]
            self.record_item(
                item_id,
                input=item.input,
                output=None,
                latency_ms=0.0,
                error="no result was recorded for this input",
                repetition=rep,
            )
        self._missing.extend(missing)
        return missing

    def finish(self, aggregates: Mapping[str, float | None] | None = None) -> RunSummary:
        """Record inputs that got no result as errors scoring 0, then the run-level scores."""
        self.record_missing()
        expected = self.repetitions * len(self.items)
        for name, value in sorted((aggregates or {}).items()):
            if value is None or not math.isfinite(value):
                continue
            self.recorder._queue_score(
                {
                    "id": str(uuid.uuid5(NAMESPACE, f"run-score/{self.experiment_id}/{name}")),
                    "datasetRunId": self.experiment_id,
                    "name": name,
                    "value": float(value),
                    "dataType": "NUMERIC",
                    "timestamp": _now(),
                }
            )
        with self._lock:
            failed = sum(1 for ok in self.recorded.values() if not ok)
        return RunSummary(
            run_name=self.run_name,
            experiment_id=self.experiment_id,
            dataset_id=self.dataset_id,
            expected=expected,
            recorded=len(self.recorded),
            failed=failed,
            missing=[f"{i}#{r}" for i, r in self._missing],
            url=self.url,
        )

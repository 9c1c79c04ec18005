"""Production traces of the local runtime: one row per invocation, written off the hot path.

Role: the agent host's half of the online flywheel. `TraceCapture` (ASGI, inside the token
check) takes a copy of each `POST /invocations` request and response as they pass, and hands
one tuple per finished request to a `TraceWriter` queue; the writer thread turns tuples into
rows (reading the answer's `response`, `trajectory` and `usage`) and inserts them in batches
into the trace database, `.agentops/traces.sqlite`, the local store's trace file (WAL, one
writer transaction per batch). On a clean stop the host flushes the queue before it exits,
so nothing that was answered is lost; a SIGKILL loses at most the last batch interval.

The table is the contract with the engine (`engine.providers.local.traces` reads it, and
`engine.monitoring` scores it): `seq` is the cursor (monotonic per file), `trace_id` the W3C
trace id (taken from the request's `traceparent` when the caller sent one, so an engine run
and the agent's trace share one id), `source` says whose traffic it was (`production` unless
the caller said `X-Agentops-Source: loadtest | evaluation | experiment`).

Standard library only: it runs in every agent process. In a `store: langfuse` environment
the writer also hands each stored batch to `engine.runtime.trace_export` (OpenTelemetry,
imported only then), which exports it to Langfuse's OTLP endpoint - with the parent span id
of the request's `traceparent`, so a call from an engine run is a child of the run's span.
"""

from __future__ import annotations

import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.state.private import private_dir, touch_private

if TYPE_CHECKING:
    from engine.runtime.trace_export import SpanExport

TRACE_DB_ENV = "AGENTOPS_TRACE_DB"
SOURCE_HEADER = "x-agentops-source"
TRACEPARENT_HEADER = "traceparent"
TAGS_HEADER = "x-agentops-tags"
SOURCES = ("production", "loadtest", "evaluation", "experiment", "monitor")
#: request and response bodies kept per trace (bytes); longer ones are cut and marked
BODY_LIMIT = 64 * 1024
FLUSH_INTERVAL = 0.2  # seconds between batches
BATCH_MAX = 512

SCHEMA = """
CREATE TABLE IF NOT EXISTS traces (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  trace_id TEXT NOT NULL UNIQUE,
  env TEXT NOT NULL, agent TEXT NOT NULL, address TEXT NOT NULL, digest TEXT NOT NULL,
  source TEXT NOT NULL, session_id TEXT, started_at REAL NOT NULL, latency_ms REAL NOT NULL,
  status TEXT NOT NULL, http_status INTEGER NOT NULL, input TEXT NOT NULL, output TEXT,
  trajectory TEXT NOT NULL, usage TEXT NOT NULL, error TEXT, tags TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS traces_agent ON traces (env, agent, seq);
CREATE INDEX IF NOT EXISTS traces_time ON traces (env, agent, started_at);
CREATE TABLE IF NOT EXISTS trace_scores (
  score_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, monitor TEXT NOT NULL,
  name TEXT NOT NULL, value REAL NOT NULL, passed INTEGER NOT NULL, comment TEXT,
  started_at REAL NOT NULL, scored_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS trace_scores_trace ON trace_scores (trace_id);
CREATE INDEX IF NOT EXISTS trace_scores_window ON trace_scores (monitor, started_at);
CREATE TABLE IF NOT EXISTS monitor_cursors (
  monitor TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS monitor_remote_cursors (
  monitor TEXT PRIMARY KEY, started_at REAL NOT NULL, trace_id TEXT NOT NULL,
  updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS monitor_exports (
  monitor TEXT PRIMARY KEY, seq INTEGER NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS annotation_items (
  queue TEXT NOT NULL, trace_id TEXT NOT NULL, monitor TEXT NOT NULL, reason TEXT NOT NULL,
  status TEXT NOT NULL, created_at REAL NOT NULL, score REAL, expected TEXT, note TEXT,
  annotated_at REAL, PRIMARY KEY (queue, trace_id));
CREATE INDEX IF NOT EXISTS annotation_pending ON annotation_items (queue, status, created_at);
"""

Captured = tuple[float, float, int, str, bytes, str, bytes, dict[str, str]]
"""(epoch start, latency ms, HTTP status, response content type, response body, session id,
request body, the request headers the trace needs)"""


def connect(path: Path, *, timeout: float = 30.0) -> sqlite3.Connection:
    """A connection to the trace database with the schema in place (WAL, private file)."""
    # 0600 before SQLite opens it: SQLite gives -wal and -shm the database file's mode
    touch_private(private_dir(path.parent) / path.name)
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    return conn


def new_trace_id() -> str:
    return os.urandom(16).hex()


def trace_id_from(traceparent: str | None) -> str | None:
    """The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if valid."""
    if not traceparent:
        return None
    parts = traceparent.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    tid = parts[1].lower()
    if tid == "0" * 32 or any(c not in "0123456789abcdef" for c in tid):
        return None
    return tid


def parent_span_from(traceparent: str | None) -> str | None:
    """The caller's span id (16 hex) of a valid W3C `traceparent`, else None."""
    if trace_id_from(traceparent) is None:
        return None
    span = str(traceparent).strip().split("-")[2].lower()
    if len(span) != 16 or span == "0" * 16 or any(c not in "0123456789abcdef" for c in span):
        return None
    return span


def _text(body: bytes) -> str:
    text = body[:BODY_LIMIT].decode("utf-8", errors="replace")
    return text + ("…[truncated]" if len(body) > BODY_LIMIT else "")


def _prompt(request: bytes) -> str:
    """The prompt of a runtime request (`{"prompt": …}`), else the body as text."""
    try:
        value = json.loads(request[:BODY_LIMIT])
    except ValueError:
        return _text(request)
    if isinstance(value, dict):
        for key in ("prompt", "input", "query", "message"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return json.dumps(value, ensure_ascii=False)


def _answer(
    status: int, content_type: str, body: bytes
) -> tuple[str | None, list[Any], dict[str, Any], str | None]:
    """(response text, trajectory, usage, error) of a runtime answer; never raises."""
    text = _text(body)
    if content_type.split(";")[0].strip().lower() == "text/event-stream":
        parts: list[str] = []
        for line in text.splitlines():
            if not line.startswith("data:"):
                continue
            try:
                frame = json.loads(line[5:].strip())
            except ValueError:
                continue
            if isinstance(frame, dict) and "error" in frame:
                return "".join(parts) or None, [], {}, str(frame.get("message") or frame["error"])
            if isinstance(frame, str):
                parts.append(frame)
            elif isinstance(frame, dict) and isinstance(frame.get("response"), str):
                parts = [frame["response"]]
        return "".join(parts), [], {}, None if status < 300 else f"HTTP {status}"
    try:
        value = json.loads(text)
    except ValueError:
        return None, [], {}, f"HTTP {status}: answer is not JSON"
    if not isinstance(value, dict):
        return None, [], {}, f"HTTP {status}: answer is not a JSON object"
    if status >= 300 or "error" in value and "response" not in value:
        return None, [], {}, f"HTTP {status}: {value.get('error', value)}"
    response = value.get("response")
    trajectory = value.get("trajectory")
    usage = value.get("usage")
    return (
        response if isinstance(response, str) else None,
        trajectory if isinstance(trajectory, list) else [],
        usage if isinstance(usage, dict) else {},
        None if isinstance(response, str) else "answer has no 'response' string",
    )


def build_row(captured: Captured, identity: dict[str, str]) -> tuple[Any, ...]:
    """One `traces` row (without `seq`) from a captured request."""
    started, latency_ms, status, ctype, body, session, request, headers = captured
    response, trajectory, usage, error = _answer(status, ctype, body)
    source = headers.get(SOURCE_HEADER, "production")
    if source not in SOURCES:
        source = "production"
    tags = [t.strip() for t in headers.get(TAGS_HEADER, "").split(",") if t.strip()]
    trace_id = trace_id_from(headers.get(TRACEPARENT_HEADER)) or new_trace_id()
    return (
        trace_id,
        identity["env"],
        identity["agent"],
        identity["address"],
        identity["digest"],
        source,
        session or None,
        started,
        latency_ms,
        "error" if error else "ok",
        status,
        _prompt(request),
        response,
        json.dumps(trajectory, ensure_ascii=False),
        json.dumps(usage, ensure_ascii=False),
        error,
        json.dumps(tags),
    )


INSERT = (
    "INSERT OR IGNORE INTO traces (trace_id, env, agent, address, digest, source, session_id,"
    " started_at, latency_ms, status, http_status, input, output, trajectory, usage, error,"
    " tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def write_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class TraceWriter:
    """A daemon thread that batches captured requests into the trace database."""

    def __init__(
        self, path: Path, identity: dict[str, str], export: SpanExport | None = None
    ) -> None:
        self.path = path
        self.identity = identity
        #: in a `store: langfuse` environment: a copy of every stored row goes to Langfuse
        self.export = export
        self._queue: queue.SimpleQueue[Captured | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="agentops-traces", daemon=True)
        self.written = 0
        self.failed = 0

    def start(self) -> None:
        self._thread.start()

    def put(self, captured: Captured) -> None:
        """Called on the request path: one queue append, nothing else."""
        self._queue.put(captured)

    def close(self, timeout: float = 10.0) -> None:
        """Flush everything queued so far and stop the thread (clean stop)."""
        self._queue.put(None)
        self._thread.join(timeout)
        if self.export is not None:
            self.export.close()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        stopping = False
        while not stopping:
            batch: list[Captured] = []
            try:
                item = self._queue.get(timeout=FLUSH_INTERVAL)
            except queue.Empty:
                continue
            deadline = time.monotonic() + FLUSH_INTERVAL
            while True:
                if item is None:
                    stopping = True
                    break
                batch.append(item)
                if len(batch) >= BATCH_MAX:
                    break
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
            if not batch:
                continue
            rows = [build_row(c, self.identity) for c in batch]
            try:
                if conn is None:
                    conn = connect(self.path)
                write_rows(conn, rows)
                self.written += len(rows)
            except sqlite3.Error as exc:  # the agent keeps serving; the log says what was lost
                self.failed += len(rows)
                print(f"agentops-traces: {len(rows)} trace(s) not recorded: {exc}", flush=True)
            if self.export is not None:
                # a call that came with a traceparent is a child of the caller's span
                parents = [parent_span_from(c[7].get(TRACEPARENT_HEADER)) for c in batch]
                try:
                    self.export.export(rows, parents)
                except Exception as exc:  # noqa: BLE001 - never take the agent down
                    print(f"agentops-traces: {len(rows)} trace(s) not exported: {exc}", flush=True)
        if conn is not None:
            conn.close()


def writer_from_env(environ: dict[str, str]) -> TraceWriter | None:
    """The host's writer, when the runtime asked for traces (`AGENTOPS_TRACE_DB`)."""
    path = environ.get(TRACE_DB_ENV)
    if not path:
        return None
    identity = {
        "env": environ.get("AGENTOPS_ENVIRONMENT", ""),
        "agent": environ.get("AGENTOPS_AGENT_NAME", ""),
        "address": environ.get("AGENTOPS_ADDRESS", ""),
        "digest": environ.get("AGENTOPS_DIGEST", ""),
    }
    from engine.runtime.trace_export import export_from_env

    try:
        export = export_from_env(environ, identity)
    except (OSError, ValueError) as exc:  # the local store still records everything
        print(f"agentops-traces: not exporting traces: {exc}", flush=True)
        export = None
    return TraceWriter(Path(path), identity, export)

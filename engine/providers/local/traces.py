"""The local trace store: production traces, their scores, monitor cursors, annotation queues.

Why one file (~430 lines): every method is one SQL statement or transaction over the same
four tables, and the transactions that move a cursor together with its page's scores must
see the whole schema; splitting by table would split those transactions.

Role: the engine's side of `.agentops/traces.sqlite`, which every local agent process writes
(`engine.runtime.tracing` owns the schema). Reads are paged by `seq` (the cursor) and by
time through the indexes, so a Monitor's cost follows its window, never the table's size.
Scores have deterministic ids (monitor, trace, evaluator): a page scored twice after a crash
replaces its own rows instead of counting twice. A cursor moves in the same transaction as
the scores of its page.

A Monitor whose traces live in Langfuse (AgentCore agents) reads them there; each page it
read is mirrored here with its scores, in one transaction with its remote cursor
(`monitor_remote_cursors`: the start time and id of the last trace read), so the window,
the export to Langfuse, `agentops traces` and `annotate` work on them as on local traces.

One file past ~400 lines: every query of `traces.sqlite` the engine makes is here, next to
the transactions whose guarantees they rely on.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from engine.errors import PermanentError
from engine.monitoring.model import AnnotationItem, Trace, TraceScore
from engine.runtime.tracing import INSERT, connect

_COLUMNS = (
    "seq, trace_id, env, agent, address, digest, source, session_id, started_at, latency_ms,"
    " status, http_status, input, output, trajectory, usage, error, tags"
)


def _trace(row: sqlite3.Row | tuple[Any, ...]) -> Trace:
    r = tuple(row)
    return Trace(
        seq=r[0],
        trace_id=r[1],
        env=r[2],
        agent=r[3],
        address=r[4],
        digest=r[5],
        source=r[6],
        session_id=r[7],
        started_at=r[8],
        latency_ms=r[9],
        status=r[10],
        http_status=r[11],
        input=r[12],
        output=r[13],
        trajectory=json.loads(r[14]),
        usage=json.loads(r[15]),
        error=r[16],
        tags=json.loads(r[17]),
    )


def trace_store(state_dir: Path) -> TraceStore:
    """The trace store of a workspace's state directory (`.agentops/traces.sqlite`)."""
    return TraceStore(state_dir / "traces.sqlite")


class TraceStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = connect(self.path)
        except sqlite3.Error as exc:
            raise PermanentError(
                f"cannot open the trace store {self.path}: {exc}",
                hint="check the file's permissions, or move it aside to start a new one",
            ) from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            raise PermanentError(f"trace store {self.path}: {exc}") from exc
        finally:
            conn.close()

    # -- traces -------------------------------------------------------------------------

    def head(self, env: str, agent: str) -> int:
        """The newest `seq` of an agent's traces (0 when there is none)."""
        if not self.path.exists():
            return 0
        with self.connect() as conn:
            row = conn.execute(
                "SELECT max(seq) FROM traces WHERE env = ? AND agent = ?", (env, agent)
            ).fetchone()
        return int(row[0] or 0)

    def first_seq_since(self, env: str, agent: str, since: float) -> int:
        """The `seq` just before the first trace started at or after `since` (time index)."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT min(seq) FROM traces WHERE env = ? AND agent = ? AND started_at >= ?",
                (env, agent, since),
            ).fetchone()
        return int(row[0]) - 1 if row[0] is not None else self.head(env, agent)

    def page(self, env: str, agent: str, after: int, limit: int) -> list[Trace]:
        """Up to `limit` traces with `seq > after`, oldest first."""
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM traces WHERE env = ? AND agent = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (env, agent, after, limit),
            ).fetchall()
        return [_trace(r) for r in rows]

    def recent(
        self,
        *,
        env: str | None,
        agent: str | None,
        since: float | None,
        limit: int,
        source: str | None = None,
    ) -> list[Trace]:
        """The newest traces first, with their scores, for `agentops traces`."""
        where: list[str] = []
        args: list[str | float] = []
        for column, value in (("env", env), ("agent", agent), ("source", source)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        if not self.path.exists():
            return []
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM traces {clause} ORDER BY seq DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
            traces = [_trace(r) for r in rows]
            return [self._with_scores(conn, t) for t in traces]

    def get(self, trace_id: str) -> Trace | None:
        if not self.path.exists():
            return None
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM traces WHERE trace_id = ? OR trace_id LIKE ? LIMIT 2",
                (trace_id, f"{trace_id}%"),
            ).fetchall()
            if len(rows) != 1:
                if len(rows) > 1:
                    raise PermanentError(
                        f"trace id prefix {trace_id!r} is ambiguous",
                        hint="give more characters of the id",
                    )
                return None
            return self._with_scores(conn, _trace(rows[0]))

    def scores_of(self, trace_id: str) -> list[tuple[str, str, float, bool, str | None]]:
        """(monitor, name, value, passed, comment) of every score on a trace."""
        with self.connect() as conn:
            return [
                (r[0], r[1], float(r[2]), bool(r[3]), r[4])
                for r in conn.execute(
                    "SELECT monitor, name, value, passed, comment FROM trace_scores"
                    " WHERE trace_id = ? ORDER BY monitor, name",
                    (trace_id,),
                )
            ]

    @staticmethod
    def _with_scores(conn: sqlite3.Connection, trace: Trace) -> Trace:
        rows = conn.execute(
            "SELECT name, value FROM trace_scores WHERE trace_id = ?", (trace.trace_id,)
        ).fetchall()
        if not rows:
            return trace
        return Trace(**{**trace.__dict__, "scores": {r[0]: float(r[1]) for r in rows}})

    # -- monitors -----------------------------------------------------------------------

    def cursor(self, monitor: str) -> int | None:
        if not self.path.exists():
            return None
        with self.connect() as conn:
            row = conn.execute(
                "SELECT seq FROM monitor_cursors WHERE monitor = ?", (monitor,)
            ).fetchone()
        return None if row is None else int(row[0])

    def commit_page(
        self,
        monitor: str,
        cursor: int,
        scores: Sequence[TraceScore],
        annotations: Sequence[tuple[str, str, str]],
        now: float,
    ) -> None:
        """Scores of one page, the annotation items it routed, and the cursor: one transaction.

        `annotations` are (queue, trace id, reason); an item already queued keeps its state.
        """
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                _write_page(conn, monitor, cursor, scores, annotations, now)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def remote_cursor(self, monitor: str) -> tuple[float, str] | None:
        """(start time, trace id) of the last remote trace the monitor read, if any."""
        if not self.path.exists():
            return None
        with self.connect() as conn:
            row = conn.execute(
                "SELECT started_at, trace_id FROM monitor_remote_cursors WHERE monitor = ?",
                (monitor,),
            ).fetchone()
        return None if row is None else (float(row[0]), str(row[1]))

    def commit_remote_page(
        self,
        monitor: str,
        remote: tuple[float, str],
        traces: Sequence[Trace],
        scores: Sequence[TraceScore],
        annotations: Sequence[tuple[str, str, str]],
        now: float,
    ) -> int:
        """A page read from a remote store: its traces (mirrored, kept when already here),
        scores, annotation items, the remote cursor and the local one (the newest local
        `seq` of the mirrored traces, what the export to Langfuse pages by): one
        transaction. Returns the local cursor."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(INSERT, [_row(t) for t in traces])
                marks = ",".join("?" for _ in traces)
                row = conn.execute(
                    f"SELECT max(seq) FROM traces WHERE trace_id IN ({marks})",
                    [t.trace_id for t in traces],
                ).fetchone()
                prior = conn.execute(
                    "SELECT seq FROM monitor_cursors WHERE monitor = ?", (monitor,)
                ).fetchone()
                seq = max(int(row[0] or 0), int(prior[0]) if prior else 0)
                _write_page(conn, monitor, seq, scores, annotations, now)
                conn.execute(
                    "INSERT INTO monitor_remote_cursors (monitor, started_at, trace_id,"
                    " updated_at) VALUES (?,?,?,?) ON CONFLICT(monitor) DO UPDATE SET"
                    " started_at = excluded.started_at, trace_id = excluded.trace_id,"
                    " updated_at = excluded.updated_at",
                    (monitor, remote[0], remote[1], now),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return seq

    # -- the Langfuse copy of a monitor's results (store: langfuse) ---------------------

    def export_cursor(self, monitor: str) -> int | None:
        """The `seq` up to which the monitor's scores and queue items are in Langfuse."""
        with self.connect() as conn:
            row = conn.execute(
                "SELECT seq FROM monitor_exports WHERE monitor = ?", (monitor,)
            ).fetchone()
        return None if row is None else int(row[0])

    def set_export_cursor(self, monitor: str, seq: int, now: float) -> None:
        with self.connect() as conn:
            conn.execute(
                "INSERT INTO monitor_exports (monitor, seq, updated_at) VALUES (?,?,?)"
                " ON CONFLICT(monitor) DO UPDATE SET seq = excluded.seq,"
                " updated_at = excluded.updated_at",
                (monitor, seq, now),
            )

    def to_export(
        self, monitor: str, env: str, agent: str, after: int, upto: int
    ) -> tuple[list[tuple[str, str, str, float, str | None]], list[tuple[str, str]]]:
        """(scores as (id, trace, name, value, comment), queue items as (queue, trace)) the
        monitor recorded on the agent's traces with `after < seq <= upto`."""
        with self.connect() as conn:
            scores = conn.execute(
                "SELECT s.score_id, s.trace_id, s.name, s.value, s.comment FROM trace_scores s"
                " JOIN traces t ON t.trace_id = s.trace_id WHERE s.monitor = ? AND t.env = ?"
                " AND t.agent = ? AND t.seq > ? AND t.seq <= ? ORDER BY t.seq, s.name",
                (monitor, env, agent, after, upto),
            ).fetchall()
            items = conn.execute(
                "SELECT a.queue, a.trace_id FROM annotation_items a JOIN traces t"
                " ON t.trace_id = a.trace_id WHERE a.monitor = ? AND t.env = ? AND t.agent = ?"
                " AND t.seq > ? AND t.seq <= ? ORDER BY t.seq",
                (monitor, env, agent, after, upto),
            ).fetchall()
        return (
            [(str(r[0]), str(r[1]), str(r[2]), float(r[3]), r[4]) for r in scores],
            [(str(r[0]), str(r[1])) for r in items],
        )

    def usage_between(
        self, env: str, agent: str, source: str, since: float, until: float
    ) -> tuple[int, list[dict[str, Any]]]:
        """(traces, their usage records) of an agent's `source` traffic that started in
        [since, until]: what a load test's requests reported (the time index)."""
        if not self.path.exists():
            return 0, []
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT usage FROM traces WHERE env = ? AND agent = ? AND started_at >= ?"
                " AND started_at <= ? AND source = ?",
                (env, agent, since, until, source),
            ).fetchall()
        usages = [json.loads(r[0]) for r in rows]
        return len(rows), [u for u in usages if isinstance(u, dict)]

    def window_scores(self, monitor: str, since: float) -> list[TraceScore]:
        """Every score the monitor recorded on traces that started at or after `since`."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT trace_id, name, value, passed, comment, started_at FROM trace_scores"
                " WHERE monitor = ? AND started_at >= ?",
                (monitor, since),
            ).fetchall()
        return [TraceScore(r[0], r[1], float(r[2]), bool(r[3]), r[4], float(r[5])) for r in rows]

    def window_traces(
        self, env: str, agent: str, since: float, sources: Sequence[str], limit: int
    ) -> tuple[int, int, list[float]]:
        """(traces, errors, latencies) of an agent's traces of these sources since `since`."""
        marks = ",".join("?" for _ in sources)
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT status, latency_ms FROM traces WHERE env = ? AND agent = ?"
                f" AND started_at >= ? AND source IN ({marks}) ORDER BY seq DESC LIMIT ?",
                (env, agent, since, *sources, limit),
            ).fetchall()
        errors = sum(1 for r in rows if r[0] == "error")
        return len(rows), errors, [float(r[1]) for r in rows]

    # -- annotation queues --------------------------------------------------------------

    def queue_items(self, queue: str, status: str | None = None) -> list[AnnotationItem]:
        if not self.path.exists():
            return []
        clause, args = ("AND status = ?", (queue, status)) if status else ("", (queue,))
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT queue, trace_id, monitor, reason, status, created_at, score, expected,"
                f" note FROM annotation_items WHERE queue = ? {clause}"
                " ORDER BY created_at, trace_id",
                args,
            ).fetchall()
        return [AnnotationItem(*r) for r in rows]

    def queues(self) -> dict[str, dict[str, int]]:
        """queue -> {status: count}."""
        if not self.path.exists():
            return {}
        out: dict[str, dict[str, int]] = {}
        with self.connect() as conn:
            for q, status, n in conn.execute(
                "SELECT queue, status, count(*) FROM annotation_items GROUP BY queue, status"
            ):
                out.setdefault(q, {})[status] = int(n)
        return out

    def annotate(
        self,
        queue: str,
        trace_id: str,
        *,
        status: str,
        score: float | None,
        expected: str | None,
        note: str | None,
        now: float,
    ) -> None:
        with self.connect() as conn:
            cur = conn.execute(
                "UPDATE annotation_items SET status = ?, score = ?, expected = ?, note = ?,"
                " annotated_at = ? WHERE queue = ? AND trace_id = ?",
                (status, score, expected, note, now, queue, trace_id),
            )
            if cur.rowcount != 1:
                raise PermanentError(f"trace {trace_id} is not in annotation queue {queue}")

    def low_scoring(self, monitor: str, below: float, limit: int) -> list[tuple[str, float]]:
        """(trace id, worst score) of the monitor's traces scoring below `below`, worst first."""
        if not self.path.exists():
            return []
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT trace_id, min(value) AS worst FROM trace_scores WHERE monitor = ?"
                " GROUP BY trace_id HAVING worst < ? ORDER BY worst, max(started_at) DESC"
                " LIMIT ?",
                (monitor, below, limit),
            ).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]


def _row(t: Trace) -> tuple[Any, ...]:
    """A trace as a `traces` row (`engine.runtime.tracing.INSERT` order)."""
    return (
        t.trace_id, t.env, t.agent, t.address, t.digest, t.source, t.session_id,
        t.started_at, t.latency_ms, t.status, t.http_status, t.input, t.output,
        json.dumps(t.trajectory), json.dumps(t.usage), t.error, json.dumps(t.tags),
    )  # fmt: skip


def _write_page(
    conn: sqlite3.Connection,
    monitor: str,
    cursor: int,
    scores: Sequence[TraceScore],
    annotations: Sequence[tuple[str, str, str]],
    now: float,
) -> None:
    """Scores, annotation items and the cursor, inside the caller's transaction."""
    conn.executemany(
        "INSERT OR REPLACE INTO trace_scores (score_id, trace_id, monitor, name,"
        " value, passed, comment, started_at, scored_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (f"{monitor}/{s.trace_id}/{s.name}", s.trace_id, monitor, s.name, s.value,
             int(s.passed), s.comment, s.started_at, now)
            for s in scores
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT OR IGNORE INTO annotation_items (queue, trace_id, monitor, reason,"
        " status, created_at) VALUES (?,?,?,?, 'pending', ?)",
        [(q, t, monitor, reason, now) for q, t, reason in annotations],
    )
    conn.execute(
        "INSERT INTO monitor_cursors (monitor, seq, updated_at) VALUES (?,?,?)"
        " ON CONFLICT(monitor) DO UPDATE SET seq = excluded.seq,"
        " updated_at = excluded.updated_at",
        (monitor, cursor, now),
    )

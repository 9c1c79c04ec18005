"""Load runs and their raw samples in the local store (SQLite), and the HTML fragment of a run.

Role: persistence for `LocustProvider`. Every request of every run is kept with its float
latency (not only Locust's rounded percentiles), so reports can be recomputed and runs
compared later. Tables are created on first use (`CREATE TABLE IF NOT EXISTS`) next to the
dataset tables of `LocalStore`. The answer text is kept only where grading found the wrong
behaviour (a harmful prompt answered, a harmless one refused): that is what someone reads.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from engine.load.analysis import Sample
from engine.providers.local.store import LocalStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS load_runs (
  run_id TEXT PRIMARY KEY, address TEXT NOT NULL, agent TEXT NOT NULL, env TEXT NOT NULL,
  inputs_digest TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL, summary TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS load_runs_by_address ON load_runs (address, finished_at);
CREATE TABLE IF NOT EXISTS load_samples (
  run_id TEXT NOT NULL, seq INTEGER NOT NULL, t REAL NOT NULL, latency_ms REAL NOT NULL,
  ok INTEGER NOT NULL, status INTEGER NOT NULL, error TEXT, prompt TEXT NOT NULL,
  tags TEXT NOT NULL, expect TEXT NOT NULL, cold INTEGER NOT NULL, session TEXT NOT NULL,
  worker TEXT NOT NULL, refused INTEGER, response TEXT,
  PRIMARY KEY (run_id, seq));
"""


def _init(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _wrong(s: Sample) -> bool:
    return s.refused is not None and s.refused != (s.expect == "refuse")


def save_run(
    store: LocalStore,
    *,
    run_id: str,
    address: str,
    agent: str,
    env: str,
    inputs_digest: str,
    status: str,
    started_at: str,
    finished_at: str,
    summary: dict[str, Any],
    samples: Sequence[Sample],
) -> None:
    """One transaction: the run row and all its samples."""
    rows = [
        (
            run_id,
            i,
            s.t,
            s.ms,
            int(s.ok),
            s.status,
            s.error,
            s.prompt,
            json.dumps(list(s.tags)),
            s.expect,
            int(s.cold),
            s.session,
            s.worker,
            None if s.refused is None else int(s.refused),
            s.text[:2000] if _wrong(s) else None,
        )
        for i, s in enumerate(samples)
    ]
    with store.connect() as conn:
        _init(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR REPLACE INTO load_runs VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    address,
                    agent,
                    env,
                    inputs_digest,
                    status,
                    started_at,
                    finished_at,
                    json.dumps(summary, sort_keys=True),
                ),
            )
            conn.execute("DELETE FROM load_samples WHERE run_id=?", (run_id,))
            conn.executemany(
                "INSERT INTO load_samples VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def load_runs(store: LocalStore, address: str | None = None) -> list[dict[str, Any]]:
    """Recorded runs, newest first: run_id, address, status, finished_at, summary."""
    with store.connect() as conn:
        _init(conn)
        query = "SELECT run_id, address, status, finished_at, summary FROM load_runs"
        args: tuple[str, ...] = ()
        if address is not None:
            query += " WHERE address=?"
            args = (address,)
        rows = conn.execute(query + " ORDER BY finished_at DESC", args).fetchall()
    return [
        {
            "run_id": r[0],
            "address": r[1],
            "status": r[2],
            "finished_at": r[3],
            "summary": json.loads(r[4]),
        }
        for r in rows
    ]


def load_samples(store: LocalStore, run_id: str) -> list[Sample]:
    with store.connect() as conn:
        _init(conn)
        rows = conn.execute(
            "SELECT t, latency_ms, ok, status, error, prompt, cold, session, worker, response,"
            " expect, tags, refused FROM load_samples WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
    return [
        Sample(
            r[0],
            r[1],
            bool(r[2]),
            r[3],
            r[4],
            r[5],
            bool(r[6]),
            r[7],
            r[8],
            r[9] or "",
            r[10],
            tuple(json.loads(r[11])),
            None if r[12] is None else bool(r[12]),
        )
        for r in rows
    ]


def load_run_html(store: LocalStore, run_id: str) -> str:
    """The HTML fragment of one recorded run (for `agentops report`): see engine.load.html."""
    from engine.load.html import render_run

    runs = {r["run_id"]: r for r in load_runs(store)}
    if run_id not in runs:
        raise KeyError(f"no load run {run_id!r} in {store.path}")
    run = runs[run_id]
    return render_run(run["address"], run_id, run["summary"], load_samples(store, run_id))


def find_run(store: LocalStore, what: str | None = None) -> dict[str, Any] | None:
    """The newest recorded run matching `what`: a run id, an address (`loadtest.soak[prd]`),
    an address without environment (`loadtest.soak`), or anything (None). run_id, address,
    status, finished_at and summary, as `load_runs` gives them; None when nothing matches."""
    where = "1=1"
    args: tuple[object, ...] = ()
    if what:
        # substr, not LIKE: `_` and `%` are ordinary characters in names
        where = "run_id = ? OR address = ? OR substr(address, 1, ?) = ?"
        args = (what, what, len(what) + 1, what + "[")
    with store.connect() as conn:
        _init(conn)
        row = conn.execute(
            "SELECT run_id, address, status, finished_at, summary FROM load_runs "
            f"WHERE {where} ORDER BY finished_at DESC, rowid DESC LIMIT 1",  # noqa: S608
            args,
        ).fetchone()
    if row is None:
        return None
    return {
        "run_id": row[0],
        "address": row[1],
        "status": row[2],
        "finished_at": row[3],
        "summary": json.loads(row[4]),
    }


def run_report(store: LocalStore, run_id: str, fmt: str) -> str:
    """The report of one recorded run, regenerated from the store: `html` (a standalone page,
    `engine.load.html.render_page`) or `markdown` (`engine.load.report.markdown`)."""
    from engine.load import html, report

    run = find_run(store, run_id)
    if run is None or run["run_id"] != run_id:
        raise KeyError(f"no load run {run_id!r} in {store.path}")
    if fmt == "markdown":
        return report.markdown(run["address"], run["summary"])
    samples = load_samples(store, run_id)
    return html.render_page(run["address"], run_id, run["summary"], samples, run["status"])

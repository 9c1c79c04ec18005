"""Evaluation store: every run, variant, case and score in the local SQLite store.

Pipeline role: the end of a run (`save`) and the start of every report (`load`). The tables
live in the same `.agentops/store.sqlite` as the datasets (`engine.providers.local.store`)
and are created on first use. One run is written in one transaction, so a run is either
fully recorded or not at all; results are never updated afterwards.

    eval_runs      one row per run: address, digests, status, evaluators, gate, timings, and
                   a gate's comparison with its baseline (with the baseline's cases)
    eval_variants  one row per variant: matrix values, agent digest, rank, aggregate
    eval_results   one row per variant x item x repetition: answer, error, latency, usage,
                   trajectory, and the trace id its invocation was sent with (the agent's
                   trace row of the call, `agentops traces show <id>`; added to older files)
    eval_scores    one row per result x evaluator: value, comment, error, skipped
    eval_items     one row per dataset item the run asked: its input and expected output
                   (so reports show them after the dataset changed; none for older runs)
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from engine.errors import UsageError
from engine.evaluation.baseline import Comparison
from engine.evaluation.cases import CaseResult
from engine.evaluation.gate import GateOutcome
from engine.evaluation.ranking import RankingOutcome, decide
from engine.evaluation.results import EvaluatorInfo, VariantAggregate
from engine.evaluation.run import EvalRun, ItemRecord, VariantRun
from engine.evaluators import Score
from engine.providers.local.store import LocalStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS eval_runs (
  run_id TEXT PRIMARY KEY, address TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  env TEXT NOT NULL, agent TEXT NOT NULL, dataset TEXT NOT NULL, status TEXT NOT NULL,
  message TEXT, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
  inputs_digest TEXT NOT NULL, agent_digest TEXT NOT NULL, dataset_digest TEXT NOT NULL,
  meta TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS eval_runs_address ON eval_runs (address, finished_at);
CREATE TABLE IF NOT EXISTS eval_variants (
  run_id TEXT NOT NULL, variant TEXT NOT NULL, position INTEGER NOT NULL, label TEXT NOT NULL,
  matrix_values TEXT NOT NULL, agent_digest TEXT NOT NULL, model TEXT NOT NULL,
  rank INTEGER, metric REAL, aggregate TEXT NOT NULL,
  PRIMARY KEY (run_id, variant));
CREATE TABLE IF NOT EXISTS eval_results (
  run_id TEXT NOT NULL, variant TEXT NOT NULL, item_id TEXT NOT NULL,
  repetition INTEGER NOT NULL, item_index INTEGER NOT NULL, ok INTEGER NOT NULL,
  response TEXT NOT NULL, error TEXT, latency_ms REAL NOT NULL, usage TEXT NOT NULL,
  trajectory TEXT NOT NULL, trace_id TEXT,
  PRIMARY KEY (run_id, variant, item_id, repetition));
CREATE TABLE IF NOT EXISTS eval_scores (
  run_id TEXT NOT NULL, variant TEXT NOT NULL, item_id TEXT NOT NULL,
  repetition INTEGER NOT NULL, evaluator TEXT NOT NULL, value REAL, comment TEXT,
  error TEXT, skipped INTEGER NOT NULL,
  PRIMARY KEY (run_id, variant, item_id, repetition, evaluator));
CREATE TABLE IF NOT EXISTS eval_items (
  run_id TEXT NOT NULL, item_id TEXT NOT NULL, item_index INTEGER NOT NULL,
  input TEXT NOT NULL, expected TEXT NOT NULL,
  PRIMARY KEY (run_id, item_id));
"""

_META_KEYS = (
    "repetitions",
    "objective",
    "latency_limits",
    "max_errors",
    "timings",
    "reports",
    "langfuse",
    "cost",
)


class EvalStore:
    def __init__(self, store: LocalStore) -> None:
        self.store = store
        self._ready = False

    def _init(self, conn: sqlite3.Connection) -> None:
        if not self._ready:
            conn.executescript(SCHEMA)
            columns = {r[1] for r in conn.execute("PRAGMA table_info(eval_results)")}
            if "trace_id" not in columns:  # a store written before cases had trace ids
                conn.execute("ALTER TABLE eval_results ADD COLUMN trace_id TEXT")
            self._ready = True

    # --- write ------------------------------------------------------------------------
    def save(self, run: EvalRun) -> None:
        meta: dict[str, Any] = {k: getattr(run, k) for k in _META_KEYS}
        meta["evaluators"] = [asdict(e) for e in run.evaluators]
        meta["gate"] = run.gate.to_json() if run.gate else None
        meta["ranking"] = run.ranking.to_json() if run.ranking else None
        meta["comparison"] = run.comparison.to_json() if run.comparison else None
        with self.store.connect() as conn:
            self._init(conn)
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO eval_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        run.run_id, run.address, run.kind, run.name, run.env, run.agent,
                        run.dataset, run.status, run.message, run.started_at, run.finished_at,
                        run.inputs_digest, run.agent_digest, run.dataset_digest, _dumps(meta),
                    ),
                )  # fmt: skip
                for pos, v in enumerate(run.variants):
                    self._save_variant(conn, run.run_id, pos, v)
                conn.executemany(
                    "INSERT OR REPLACE INTO eval_items VALUES (?,?,?,?,?)",
                    [
                        (run.run_id, i.id, i.index, _dumps(i.input), _dumps(i.expected))
                        for i in run.items
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _save_variant(self, conn: sqlite3.Connection, run_id: str, pos: int, v: VariantRun) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO eval_variants VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                run_id, v.name, pos, v.label, _dumps(v.values), v.agent_digest, v.model,
                v.rank, v.metric, _dumps(v.aggregate.to_json()),
            ),
        )  # fmt: skip
        conn.executemany(
            "INSERT OR REPLACE INTO eval_results (run_id, variant, item_id, repetition, "
            "item_index, ok, response, error, latency_ms, usage, trajectory, trace_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    run_id, v.name, c.item_id, c.repetition, c.item_index, int(c.ok),
                    c.response, c.error, c.latency_ms, _dumps(c.usage), _dumps(c.trajectory),
                    c.trace_id or None,
                )
                for c in v.cases
            ],
        )  # fmt: skip
        conn.executemany(
            "INSERT OR REPLACE INTO eval_scores VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    run_id, v.name, c.item_id, c.repetition, label, s.value, s.comment,
                    s.error, int(s.skipped),
                )
                for c in v.cases
                for label, s in c.scores.items()
            ],
        )  # fmt: skip

    # --- read -------------------------------------------------------------------------
    def find(self, what: str | None = None, *, succeeded: bool = False) -> str | None:
        """The newest run id for a run id, an address (`experiment.hpo[dev]`), an address
        without environment (`experiment.hpo`), or anything (None)."""
        where, args = "1=1", []
        if what:
            where = "(run_id = ? OR address = ? OR address LIKE ?)"
            args = [what, what, f"{what}[%"]
        if succeeded:
            where += " AND status = 'succeeded'"
        with self.store.connect() as conn:
            self._init(conn)
            row = conn.execute(
                f"SELECT run_id FROM eval_runs WHERE {where} "  # noqa: S608 - fixed fragments
                "ORDER BY finished_at DESC, rowid DESC LIMIT 1",
                args,
            ).fetchone()
        return str(row[0]) if row else None

    def find_passing(self, address: str, agent_digest: str) -> str | None:
        """The newest succeeded run of `address` that evaluated `agent_digest` (a baseline)."""
        with self.store.connect() as conn:
            self._init(conn)
            row = conn.execute(
                "SELECT run_id FROM eval_runs WHERE address = ? AND agent_digest = ? "
                "AND status = 'succeeded' ORDER BY finished_at DESC, rowid DESC LIMIT 1",
                (address, agent_digest),
            ).fetchone()
        return str(row[0]) if row else None

    def previous(self, run: EvalRun) -> str | None:
        """The run of the same address recorded before `run` (the one a report diffs
        against), whatever its status; None for the first run."""
        with self.store.connect() as conn:
            self._init(conn)
            row = conn.execute(
                "SELECT run_id FROM eval_runs WHERE address = ? AND run_id != ? "
                "AND finished_at <= ? ORDER BY finished_at DESC, rowid DESC LIMIT 1",
                (run.address, run.run_id, run.finished_at),
            ).fetchone()
        return str(row[0]) if row else None

    def load(self, run_id: str) -> EvalRun:
        with self.store.connect() as conn:
            self._init(conn)
            row = conn.execute("SELECT * FROM eval_runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                raise UsageError(f"no evaluation run '{run_id}' in {self.store.path}")
            variants = conn.execute(
                "SELECT variant, label, matrix_values, agent_digest, model, rank, metric, "
                "aggregate FROM eval_variants WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
            results = conn.execute(
                "SELECT variant, item_id, repetition, item_index, ok, response, error, "
                "latency_ms, usage, trajectory, trace_id FROM eval_results WHERE run_id = ? "
                "ORDER BY variant, repetition, item_index, item_id",
                (run_id,),
            ).fetchall()
            scores = conn.execute(
                "SELECT variant, item_id, repetition, evaluator, value, comment, error, skipped "
                "FROM eval_scores WHERE run_id = ?",
                (run_id,),
            ).fetchall()
            items = conn.execute(
                "SELECT item_id, item_index, input, expected FROM eval_items WHERE run_id = ? "
                "ORDER BY item_index, item_id",
                (run_id,),
            ).fetchall()
        run = _build(row, variants, results, scores)
        run.items = [ItemRecord(i, n, json.loads(a), json.loads(b)) for i, n, a, b in items]
        return run


def _dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _build(
    row: tuple[Any, ...],
    variants: list[tuple[Any, ...]],
    results: list[tuple[Any, ...]],
    scores: list[tuple[Any, ...]],
) -> EvalRun:
    meta = json.loads(row[14])
    infos = [EvaluatorInfo(**e) for e in meta["evaluators"]]
    by_case: dict[tuple[str, str, int], dict[str, Score]] = {}
    for variant, item_id, rep, label, value, comment, error, skipped in scores:
        by_case.setdefault((variant, item_id, rep), {})[label] = Score(
            label, value, comment, error, bool(skipped)
        )
    order = [e.label for e in infos]
    cases: dict[str, list[CaseResult]] = {}
    for variant, item_id, rep, index, ok, response, error, latency, usage, traj, tid in results:
        found = by_case.get((variant, item_id, rep), {})
        ordered = {k: found[k] for k in order if k in found}
        cases.setdefault(variant, []).append(
            CaseResult(
                item_id, index, rep, bool(ok), response, error, latency,
                json.loads(usage), json.loads(traj), ordered, tid or "",
            )
        )  # fmt: skip
    vruns = [
        VariantRun(
            name=name,
            label=label,
            values=json.loads(values),
            agent_digest=digest,
            model=model,
            aggregate=VariantAggregate.from_json(json.loads(agg)),
            cases=cases.get(name, []),
            rank=rank,
            metric=metric,
        )
        for name, label, values, digest, model, rank, metric, agg in variants
    ]
    gate = meta.get("gate")
    run = EvalRun(
        run_id=row[0],
        address=row[1],
        kind=row[2],
        name=row[3],
        env=row[4],
        agent=row[5],
        dataset=row[6],
        status=row[7],
        message=row[8],
        started_at=row[9],
        finished_at=row[10],
        inputs_digest=row[11],
        agent_digest=row[12],
        dataset_digest=row[13],
        evaluators=infos,
        variants=vruns,
        gate=GateOutcome.from_json(gate) if gate else None,
        repetitions=int(meta.get("repetitions") or 1),
        objective=meta.get("objective"),
        latency_limits=meta.get("latency_limits"),
        max_errors=meta.get("max_errors"),
        timings=meta.get("timings") or {},
        reports=meta.get("reports") or {},
        langfuse=meta.get("langfuse") or {},
        cost=meta.get("cost") or {},
    )
    if meta.get("comparison"):
        run.comparison = Comparison.from_json(meta["comparison"])
    ranking, objective = meta.get("ranking"), run.objective
    if ranking is not None:
        run.ranking = RankingOutcome.from_json(ranking)
    elif run.kind == "Experiment" and objective and run.variants:
        # recorded before experiments had verdicts: judge its cases now, the same way
        run.ranking = decide(run.variants, infos, objective["metric"], objective["goal"])
    return run

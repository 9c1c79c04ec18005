"""Local store provider: Datasets in a SQLite file under `.agentops/` (the embedded default).

Items are upserted by their deterministic ids inside one transaction per sync; items that
left the dataset are ARCHIVED, never deleted; deleting a dataset archives all of it. An
unchanged re-sync writes nothing. Observation recomputes the digest of the ACTIVE items, so
an item edited or archived behind the engine's back shows as drift.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from engine.errors import PermanentError, TemporaryError
from engine.providers.base import Context, Desired, Observed
from engine.spec.datasets import LoadedItem, canonical_json, dataset_digest
from engine.spec.digests import digest_of
from engine.spec.graph import GraphNode
from engine.state.model import PendingOp, ResourceState, now_iso
from engine.state.private import private_dir, touch_private

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
  env TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, status TEXT NOT NULL,
  workspace_id TEXT NOT NULL, token TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (env, name));
CREATE TABLE IF NOT EXISTS items (
  env TEXT NOT NULL, dataset TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL,
  digest TEXT NOT NULL, content TEXT NOT NULL, updated_at TEXT NOT NULL,
  PRIMARY KEY (env, dataset, id));
"""


_F = TypeVar("_F", bound=Callable[..., Any])
#: attempts of one store operation that found the database locked (each a whole transaction)
BUSY_ATTEMPTS = 5


def _retry_busy(fn: _F) -> _F:
    """Run a store operation again when SQLite said "database is locked" without waiting.

    The busy timeout (30 s) covers ordinary lock waits, but SQLite returns SQLITE_BUSY at once
    in a few WAL cases (e.g. while another connection resets the WAL index); each operation is
    one transaction, rolled back on error, so running it again is safe. Seen in `make demo`:
    a dataset sync failing next to an experiment saving its run.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import tenacity  # lazy: importing the store must not cost what only a retry needs

        retrying = tenacity.Retrying(  # one per call: a Retrying keeps per-call statistics
            retry=tenacity.retry_if_exception_type(TemporaryError),
            wait=tenacity.wait_exponential(multiplier=0.1),  # 0.1, 0.2, 0.4, 0.8 s
            stop=tenacity.stop_after_attempt(BUSY_ATTEMPTS),
            reraise=True,
        )
        return retrying(fn, *args, **kwargs)

    return cast(_F, wrapper)


class LocalStore:
    """The SQLite file shared by the dataset provider and the run recorders."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._init_lock = threading.Lock()
        self._ready = False

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            # 0600 before SQLite opens it: SQLite gives -wal and -shm the database's mode
            touch_private(private_dir(self.path.parent) / self.path.name)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise PermanentError(f"cannot open the local store {self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            with self._init_lock:
                if not self._ready:
                    conn.executescript(SCHEMA)
                    self._ready = True
            yield conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                raise TemporaryError(f"the local store is busy: {exc}", delay=0.5) from exc
            raise PermanentError(f"local store error: {exc}") from exc
        finally:
            conn.close()

    @_retry_busy
    def active_items(self, env: str, name: str) -> list[LoadedItem]:
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT content FROM items WHERE env=? AND dataset=? AND status='ACTIVE'",
                (env, name),
            ).fetchall()
        out = []
        for (content,) in rows:
            d = json.loads(content)
            out.append(LoadedItem(d["id"], 0, d["input"], d["expected_output"], d["metadata"]))
        return out

    @_retry_busy
    def dataset_row(self, env: str, name: str) -> tuple[str, str, str] | None:
        with self.connect() as conn:
            row = conn.execute(
                "SELECT digest, status, workspace_id FROM datasets WHERE env=? AND name=?",
                (env, name),
            ).fetchone()
        return (row[0], row[1], row[2]) if row else None

    @_retry_busy
    def sync(
        self,
        env: str,
        name: str,
        items: list[LoadedItem],
        digest: str,
        workspace_id: str,
        token: str,
    ) -> dict[str, int]:
        """Upsert + archive in one transaction; returns counts of what really changed."""
        now = now_iso()
        counts = {"created": 0, "updated": 0, "archived": 0, "unchanged": 0}
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                existing = {
                    r[0]: (r[1], r[2])
                    for r in conn.execute(
                        "SELECT id, digest, status FROM items WHERE env=? AND dataset=?",
                        (env, name),
                    )
                }
                for item in items:
                    prev = existing.pop(item.id, None)
                    if prev == (item.digest, "ACTIVE"):
                        counts["unchanged"] += 1
                        continue
                    counts["created" if prev is None else "updated"] += 1
                    conn.execute(
                        "INSERT INTO items VALUES (?,?,?,?,?,?,?) ON CONFLICT(env, dataset, id)"
                        " DO UPDATE SET status='ACTIVE', digest=excluded.digest,"
                        " content=excluded.content, updated_at=excluded.updated_at",
                        (
                            env,
                            name,
                            item.id,
                            "ACTIVE",
                            item.digest,
                            canonical_json(item.content()),
                            now,
                        ),
                    )
                for iid, (_, status) in existing.items():
                    if status == "ACTIVE":
                        counts["archived"] += 1
                        conn.execute(
                            "UPDATE items SET status='ARCHIVED', updated_at=? WHERE env=? AND"
                            " dataset=? AND id=?",
                            (now, env, name, iid),
                        )
                conn.execute(
                    "INSERT INTO datasets VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(env, name) DO"
                    " UPDATE SET digest=excluded.digest, status='ACTIVE',"
                    " token=excluded.token, updated_at=excluded.updated_at",
                    (env, name, digest, "ACTIVE", workspace_id, token, now, now),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return counts

    @_retry_busy
    def archive(self, env: str, name: str) -> int:
        now = now_iso()
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            n = conn.execute(
                "UPDATE items SET status='ARCHIVED', updated_at=? WHERE env=? AND "
                "dataset=? AND status='ACTIVE'",
                (now, env, name),
            ).rowcount
            conn.execute(
                "UPDATE datasets SET status='ARCHIVED', updated_at=? WHERE env=? AND name=?",
                (now, env, name),
            )
            conn.execute("COMMIT")
        return n


class LocalStoreProvider:
    name: ClassVar[str] = "local-store"
    kinds: ClassVar[frozenset[str]] = frozenset({"Dataset"})

    def __init__(self, store: LocalStore) -> None:
        self.store = store

    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        items = ctx.workspace.items.get(node.address.name, [])
        digest = dataset_digest(items)
        attrs = {
            "items": len(items),
            "content": digest,
            "source": node.spec.doc.spec.file or "inline",
        }
        return Desired(digest=digest_of(attrs), attrs=attrs)

    def _items(self, node: GraphNode, ctx: Context) -> list[LoadedItem]:
        return ctx.workspace.items.get(node.address.name, [])

    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        env, name = prior.private["env"], prior.private["name"]
        row = self.store.dataset_row(env, name)
        if row is None or row[1] != "ACTIVE":
            return Observed(exists=False, status="missing")
        actual = dataset_digest(self.store.active_items(env, name))
        recorded = prior.attrs.get("content")
        drift = {} if actual == recorded else {"content": (recorded, actual)}
        return Observed(exists=True, digest=prior.digest, drift=drift)

    def _sync(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        env, name = node.address.env or "", node.address.name
        items = self._items(node, ctx)
        counts = self.store.sync(
            env, name, items, str(desired.attrs["content"]), ctx.workspace_id, token
        )
        ctx.log(
            f"{node.address}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['archived']} archived, {counts['unchanged']} unchanged"
        )
        return ResourceState(
            address=str(node.address),
            kind="Dataset",
            provider=self.name,
            provider_id=f"{env}/{name}",
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={"items": len(items), "store": str(self.store.path)},
            private={"env": env, "name": name, "counts": counts},
        )

    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        return self._sync(node, desired, token, ctx)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        return self._sync(node, desired, token, ctx)

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        self.store.archive(prior.private["env"], prior.private["name"])

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        # The sync is one SQLite transaction: either it committed or nothing happened.
        env_name = pending.address.rsplit("[", 1)
        name = env_name[0].split(".", 1)[1]
        env = env_name[1].rstrip("]") if len(env_name) > 1 else ""
        row = self.store.dataset_row(env, name)
        if pending.op == "delete":
            return None if row is None or row[1] != "ACTIVE" else prior
        if row is None or row[1] != "ACTIVE":
            return prior
        if prior is not None and row[0] == prior.attrs.get("content"):
            return prior  # the interrupted sync never committed
        content = row[0]
        items = self.store.active_items(env, name)
        attrs = {
            "items": len(items),
            "content": content,
            "source": prior.attrs.get("source") if prior else "adopted",
        }
        return ResourceState(
            address=pending.address,
            kind="Dataset",
            provider=self.name,
            provider_id=f"{env}/{name}",
            digest=digest_of(attrs),
            attrs=attrs,
            outputs={"items": len(items), "store": str(self.store.path)},
            private={"env": env, "name": name},
        )

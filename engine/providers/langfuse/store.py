"""Langfuse store provider: Datasets of `store: langfuse` environments as Langfuse datasets.

Pipeline role: the `ResourceProvider` the registry routes such Datasets to, the remote twin
of `local_store` (same desired view, same semantics):

* create/update = one sync: GET the dataset (create it if missing), list its items page by
  page, then write only what differs (`langfuse_items.plan_sync`): new and edited items are
  upserted by their deterministic ids, items that left the spec are ARCHIVED, never
  deleted. An unchanged re-sync costs the reads and no write at all.
* observe = the same reads, summarised (`langfuse_items.survey`): an item edited, archived
  or added in the Langfuse UI makes the dataset drift, the plan shows an update, and apply
  heals it.
* delete = archive every active item (the public API cannot delete datasets, and agentops
  never deletes data silently anyway).

The first contact with an environment's Langfuse resolves its key references and checks them
(`langfuse_http`), so wrong keys fail before any write. State keeps references and digests,
never key values. The langfuse SDK is imported only when a Langfuse dataset is touched.
"""

from __future__ import annotations

import threading
import urllib.parse
from pathlib import Path
from typing import Any, ClassVar

from engine.errors import PermanentError
from engine.providers.base import Context, Desired, Observed
from engine.providers.langfuse.http import LangfuseConnection, LangfuseTarget, RetryPolicy
from engine.providers.langfuse.items import (
    ACTIVE,
    ARCHIVED,
    MARKER,
    RemoteItem,
    SyncPlan,
    WantedItem,
    archived_metadata,
    dataset_name,
    plan_sync,
    survey,
    wanted_digest,
)
from engine.spec.datasets import dataset_digest
from engine.spec.digests import digest_of
from engine.spec.graph import GraphNode
from engine.state.model import PendingOp, ResourceState

#: items per page when listing (100 is the largest page Langfuse list endpoints document)
DEFAULT_PAGE_SIZE = 100


def target_for(ctx: Context, env_name: str, address: str) -> LangfuseTarget:
    env = ctx.workspace.environments.get(env_name)
    settings = env.doc.spec.langfuse if env is not None else None
    if env is None or settings is None:
        raise PermanentError(f"{address}: environment '{env_name}' has no 'langfuse' section")
    return LangfuseTarget.of(env_name, settings, env.doc.spec.aws)


class LangfuseStoreProvider:
    name: ClassVar[str] = "langfuse-store"
    kinds: ClassVar[frozenset[str]] = frozenset({"Dataset"})

    def __init__(
        self,
        state_dir: Path | None = None,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.state_dir = state_dir
        self.page_size = page_size
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._connections: dict[LangfuseTarget, LangfuseConnection] = {}
        self._lock = threading.Lock()

    # --- plumbing ---------------------------------------------------------------------
    def connection(self, target: LangfuseTarget) -> LangfuseConnection:
        """The checked connection of an environment: keys resolved and verified once."""
        with self._lock:
            conn = self._connections.get(target)
            if conn is None:
                conn = LangfuseConnection(target, retry=self.retry, timeout=self.timeout)
                self._connections[target] = conn
            return conn

    def _dataset(self, conn: LangfuseConnection, name: str) -> Any:
        quoted = urllib.parse.quote(name, safe="")
        return conn.find(
            f"GET dataset {name}",
            lambda o: conn.api.datasets.get(dataset_name=quoted, request_options=o),
        )

    def _items(self, conn: LangfuseConnection, name: str) -> list[RemoteItem]:
        def page_of(page: int) -> Any:
            return conn.call(
                f"list the items of dataset {name} (page {page})",
                lambda o: conn.api.dataset_items.list(
                    dataset_name=name, page=page, limit=self.page_size, request_options=o
                ),
            )

        out: list[RemoteItem] = []
        page = 1
        while True:
            got = page_of(page)
            out.extend(
                RemoteItem(
                    lf_id=it.id,
                    status=str(getattr(it.status, "value", it.status)),
                    input=it.input,
                    expected_output=it.expected_output,
                    metadata=it.metadata,
                )
                for it in got.data
            )
            if got.meta.total_pages <= page or not got.data:
                return out
            page += 1

    # --- desired / observe ------------------------------------------------------------
    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        # The same view as the local store, plus where the data lives: moving a dataset to
        # another Langfuse host or project is a replace (archive there, sync here).
        items = ctx.workspace.items.get(node.address.name, [])
        env = node.address.env or ""
        target = target_for(ctx, env, str(node.address))
        # (not `project:`: it only verifies the keys, the keys decide the project)
        attrs = {
            "items": len(items),
            "content": dataset_digest(items),
            "source": node.spec.doc.spec.file or "inline",
            "langfuse": f"{target.shown_host} dataset {dataset_name(env, node.address.name)}",
        }
        return Desired(digest=digest_of(attrs), attrs=attrs, replace_on=frozenset({"langfuse"}))

    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        conn = self.connection(LangfuseTarget.from_json(prior.private["target"]))
        name = str(prior.private["dataset"])
        if self._dataset(conn, name) is None:
            return Observed(exists=False, healthy=False, status="missing in Langfuse")
        found = survey(self._items(conn, name), prior.address)
        if found.digest == prior.private.get("wire"):
            return Observed(exists=True, digest=prior.digest, outputs=prior.outputs)
        synced = int(prior.private.get("synced", prior.attrs.get("items", 0)))
        drift = {"content": (prior.attrs.get("content"), found.describe(synced))}
        return Observed(exists=True, digest=prior.digest, drift=drift, outputs=prior.outputs)

    # --- create / update / delete ---------------------------------------------------------
    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        return self._sync(node, desired, ctx)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        return self._sync(node, desired, ctx)

    def _sync(self, node: GraphNode, desired: Desired, ctx: Context) -> ResourceState:
        address, env = str(node.address), node.address.env or ""
        target = target_for(ctx, env, address)
        conn = self.connection(target)  # resolves and checks the keys before any write
        name = dataset_name(env, node.address.name)
        dataset, created = self._ensure_dataset(conn, name, address, ctx)
        wanted = [
            WantedItem.of(i, workspace_id=ctx.workspace_id, env=env, name=node.address.name)
            for i in ctx.workspace.items.get(node.address.name, [])
        ]
        # a dataset created just now has no items: one read fewer against the rate limit
        plan = plan_sync(wanted, [] if created else self._items(conn, name))
        self._write(conn, name, address, plan)
        counts = plan.counts()
        ctx.log(
            f"{address}: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['restored']} restored, {counts['archived']} archived, "
            f"{counts['unchanged']} unchanged in Langfuse dataset {name}"
        )
        return ResourceState(
            address=address,
            kind="Dataset",
            provider=self.name,
            provider_id=f"{conn.project.id}/{dataset.id}",
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={
                "items": len(wanted),
                "dataset": name,
                "dataset_id": dataset.id,
                "project_id": conn.project.id,
                "url": conn.link(f"/project/{conn.project.id}/datasets/{dataset.id}"),
            },
            private={
                "target": target.to_json(),
                "dataset": name,
                "wire": wanted_digest(wanted),
                "synced": len(wanted),
                "counts": counts,
            },
        )

    def _ensure_dataset(
        self, conn: LangfuseConnection, name: str, address: str, ctx: Context
    ) -> tuple[Any, bool]:
        """The dataset (GET first, create only if missing) and whether it was created."""
        found = self._dataset(conn, name)
        if found is not None:
            owner = found.metadata.get(MARKER) if isinstance(found.metadata, dict) else None
            workspace = owner.get("workspace") if isinstance(owner, dict) else None
            if workspace != ctx.workspace_id:
                # Like AgentCore runtimes: a name we do not own is an error, never an adoption.
                who = f"workspace {workspace}" if workspace else "someone outside agentops"
                raise PermanentError(
                    f"{address}: Langfuse dataset '{name}' in project {conn.project.name} "
                    f"belongs to {who}, not to this workspace ({ctx.workspace_id})",
                    hint="restore this workspace's state (.agentops/) if it is the same "
                    "workspace, or rename the dataset in Langfuse",
                )
            return found, False
        marker = {"workspace": ctx.workspace_id, "address": address}
        created = conn.call(
            f"create dataset {name}",
            lambda o: conn.api.datasets.create(
                name=name,
                description=f"managed by agentops ({address}); edit the spec, not this dataset",
                metadata={MARKER: marker},
                request_options=o,
            ),
        )
        return created, True

    def _write(self, conn: LangfuseConnection, name: str, address: str, plan: SyncPlan) -> None:
        # One POST per item: the public API has no batch upsert for dataset items. The
        # retry policy spaces the writes out when Langfuse answers 429.
        for w in plan.upserts:
            self._upsert(conn, name, w, address)
        for r in plan.archive:
            self._archive(conn, name, r)

    def _upsert(self, conn: LangfuseConnection, name: str, w: WantedItem, address: str) -> None:
        conn.call(
            f"upsert item {w.item.id} of dataset {name}",
            lambda o: conn.api.dataset_items.create(
                dataset_name=name,
                id=w.lf_id,
                input=w.item.input,
                expected_output=w.item.expected_output,
                metadata=w.metadata(address),
                status=ACTIVE,
                request_options=o,
            ),
        )

    def _archive(self, conn: LangfuseConnection, name: str, r: RemoteItem) -> None:
        # The upsert replaces the item: send its content back unchanged, only the status moves.
        conn.call(
            f"archive item {r.lf_id} of dataset {name}",
            lambda o: conn.api.dataset_items.create(
                dataset_name=name,
                id=r.lf_id,
                input=r.input,
                expected_output=r.expected_output,
                metadata=archived_metadata(r),
                status=ARCHIVED,
                request_options=o,
            ),
        )

    # --- import -------------------------------------------------------------------------
    def adopt(self, node: GraphNode, desired: Desired, ident: str, ctx: Context) -> ResourceState:
        """`agentops import dataset.x[env] NAME`: adopt an existing Langfuse dataset.

        Only under the name agentops gives the address (`<env>/<name>`): every later sync
        writes there. Refused when another workspace's marker is on it; else the marker of
        this workspace is set (the dataset POST upserts by name) and the record is written
        with the digest `imported`, so the next plan shows the update that syncs the items.
        """
        address, env = str(node.address), node.address.env or ""
        name = dataset_name(env, node.address.name)
        if ident != name:
            raise PermanentError(
                f"{address} lives in the Langfuse dataset '{name}', not '{ident}'",
                hint=f"rename the dataset in Langfuse to '{name}', then import it by that name",
            )
        target = target_for(ctx, env, address)
        conn = self.connection(target)
        found = self._dataset(conn, name)
        if found is None:
            raise PermanentError(
                f"there is no dataset '{name}' in Langfuse project {conn.project.name}",
                hint="check the name, or run agentops apply to create it",
            )
        metadata = dict(found.metadata) if isinstance(found.metadata, dict) else {}
        owner = metadata.get(MARKER)
        workspace = owner.get("workspace") if isinstance(owner, dict) else None
        if workspace not in (None, ctx.workspace_id):
            raise PermanentError(
                f"Langfuse dataset '{name}' belongs to agentops workspace {workspace}, not to "
                f"this one ({ctx.workspace_id}); agentops never adopts another workspace's data",
                hint="remove it from that workspace's state first (agentops state rm there)",
            )
        marker = {"workspace": ctx.workspace_id, "address": address}
        conn.call(
            f"mark dataset {name} as managed by agentops",
            lambda o: conn.api.datasets.create(
                name=name,
                description=found.description,
                metadata={**metadata, MARKER: marker},
                request_options=o,
            ),
        )
        remote = self._items(conn, name)
        active = [r for r in remote if r.status == ACTIVE]
        return ResourceState(
            address=address,
            kind="Dataset",
            provider=self.name,
            provider_id=f"{conn.project.id}/{found.id}",
            digest="imported",
            # where it lives is what was just verified: the next plan is an update (a sync),
            # never a replace, which would archive the adopted items first
            attrs={"langfuse": desired.attrs["langfuse"]},
            outputs={
                "items": len(active),
                "dataset": name,
                "dataset_id": found.id,
                "project_id": conn.project.id,
                "url": conn.link(f"/project/{conn.project.id}/datasets/{found.id}"),
            },
            private={
                "target": target.to_json(),
                "dataset": name,
                "wire": survey(remote, address).digest,
                "synced": len(active),
                "imported": {"id": ident},
            },
        )

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        conn = self.connection(LangfuseTarget.from_json(prior.private["target"]))
        name = str(prior.private["dataset"])
        if self._dataset(conn, name) is None:
            return
        plan = plan_sync([], self._items(conn, name))
        self._write(conn, name, prior.address, plan)
        ctx.log(f"{prior.address}: archived {len(plan.archive)} item(s) of {name}")

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        # Every write is an idempotent upsert, so an interrupted sync is finished by the next
        # one. Keep what state knew: observe reports whatever the crash left half-written.
        if prior is None:
            return None
        if pending.op == "delete":
            conn = self.connection(LangfuseTarget.from_json(prior.private["target"]))
            name = str(prior.private["dataset"])
            if self._dataset(conn, name) is None:
                return None
            items = self._items(conn, name)
            return prior if any(r.status == ACTIVE for r in items) else None
        return prior

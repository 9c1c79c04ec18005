"""Dataset items in Langfuse: ids, content digests, and what a sync has to write.

Pipeline role: the pure half of the Langfuse store (`langfuse_store` does the I/O). It
decides, from the items the workspace declares and the items Langfuse holds, which items to
create, update, restore or archive, and how far Langfuse has drifted from the last sync.

* **Names and ids.** The Langfuse dataset of `dataset.golden[tst]` is `tst/golden` (Langfuse
  shows `/` as folders; two environments sharing one project never collide). Item ids are
  global in a Langfuse project, so each is `uuid5(workspace id / env / dataset / item id)`:
  deterministic (an upsert, never a duplicate) and unique to this workspace.
* **Digests.** Every item we write carries a marker in its metadata (`_agentops`: our item
  id, the content digest, the owning address). The digest is computed over the item's
  content as it comes back over the wire (JSON numbers normalised, since `1.0` returns as
  `1`), so comparing a remote item with the spec needs no write and no per-item state: an
  item edited in the Langfuse UI no longer hashes to its marker, an item added in the UI has
  no marker, an item archived in the UI is ARCHIVED without our `archived` flag.
* **Nothing is deleted.** Items that left the spec (or were added outside agentops) are
  archived (status ARCHIVED), which Langfuse keeps and can restore.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.spec.datasets import LoadedItem, canonical_json, sha256_hex

MARKER = "_agentops"
ACTIVE, ARCHIVED = "ACTIVE", "ARCHIVED"
#: namespace of every Langfuse id agentops derives (never change it: ids would all move)
NAMESPACE = uuid.UUID("5b0e6f0c-7a53-4d52-9a38-6c1d2f3b8e41")


def dataset_name(env: str, name: str) -> str:
    return f"{env}/{name}" if env else name


def item_uuid(workspace_id: str, env: str, name: str, item_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{workspace_id}/{env}/{name}/{item_id}"))


def _normal(value: object) -> object:
    """JSON as it comes back from Langfuse: integral floats are ints, tuples are lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def content_digest(item_id: str, input: object, expected: object, metadata: object) -> str:
    content = {"id": item_id, "input": input, "expected_output": expected, "metadata": metadata}
    return sha256_hex(canonical_json(_normal(content)))[:16]


def set_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """Order-independent digest of (Langfuse id, content digest) pairs."""
    return sha256_hex("\n".join(sorted(f"{a}:{b}" for a, b in pairs)))[:16]


@dataclass(frozen=True)
class WantedItem:
    """An item of the spec, as it should be in Langfuse."""

    lf_id: str
    item: LoadedItem
    digest: str

    @classmethod
    def of(cls, item: LoadedItem, *, workspace_id: str, env: str, name: str) -> WantedItem:
        digest = content_digest(item.id, item.input, item.expected_output, item.metadata)
        return cls(item_uuid(workspace_id, env, name, item.id), item, digest)

    def metadata(self, address: str) -> dict[str, Any]:
        marker = {"id": self.item.id, "digest": self.digest, "address": address}
        return {**self.item.metadata, MARKER: marker}


@dataclass(frozen=True)
class RemoteItem:
    """A Langfuse dataset item, reduced to what the sync compares."""

    lf_id: str
    status: str
    input: Any
    expected_output: Any
    metadata: Any

    @property
    def marker(self) -> Mapping[str, Any] | None:
        if isinstance(self.metadata, Mapping):
            found = self.metadata.get(MARKER)
            return found if isinstance(found, Mapping) else None
        return None

    @property
    def user_metadata(self) -> Any:
        if isinstance(self.metadata, Mapping):
            return {k: v for k, v in self.metadata.items() if k != MARKER}
        return self.metadata

    def digest_as(self, item_id: str) -> str:
        """This item's content digest, taking it to be our item `item_id`."""
        return content_digest(item_id, self.input, self.expected_output, self.user_metadata)

    def own_digest(self) -> str:
        marker = self.marker or {}
        return self.digest_as(str(marker.get("id") or self.lf_id))

    def owned_by(self, address: str) -> bool:
        return (self.marker or {}).get("address") == address


@dataclass
class SyncPlan:
    """The writes one sync needs; an unchanged dataset has none."""

    create: list[WantedItem] = field(default_factory=list)
    update: list[WantedItem] = field(default_factory=list)
    restore: list[WantedItem] = field(default_factory=list)
    archive: list[RemoteItem] = field(default_factory=list)
    unchanged: int = 0

    @property
    def upserts(self) -> list[WantedItem]:
        return self.create + self.update + self.restore

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.create),
            "updated": len(self.update),
            "restored": len(self.restore),
            "archived": len(self.archive),
            "unchanged": self.unchanged,
        }


def plan_sync(wanted: Sequence[WantedItem], remote: Sequence[RemoteItem]) -> SyncPlan:
    by_id = {r.lf_id: r for r in remote}
    plan = SyncPlan()
    for w in wanted:
        r = by_id.pop(w.lf_id, None)
        if r is None:
            plan.create.append(w)
        elif r.status != ACTIVE:
            plan.restore.append(w)
        elif r.digest_as(w.item.id) != w.digest or (r.marker or {}).get("digest") != w.digest:
            plan.update.append(w)
        else:
            plan.unchanged += 1
    # Whatever else is active - items removed from the spec, items added in the UI - is
    # archived: the spec is the source of truth, and ARCHIVED keeps the item restorable.
    plan.archive = [r for r in by_id.values() if r.status == ACTIVE]
    return plan


def wanted_digest(wanted: Sequence[WantedItem]) -> str:
    """What `survey(...).digest` reads right after a clean sync of `wanted`."""
    return set_digest((w.lf_id, w.digest) for w in wanted)


@dataclass(frozen=True)
class Survey:
    """Langfuse's side of a dataset, summarised for drift detection."""

    digest: str
    active: int
    edited: int
    foreign: int
    archived_elsewhere: int

    def describe(self, synced: int) -> str:
        parts = []
        if self.edited:
            parts.append(f"{self.edited} edited")
        if self.archived_elsewhere:
            parts.append(f"{self.archived_elsewhere} archived")
        missing = synced - (self.active - self.foreign) - self.archived_elsewhere
        if missing > 0:
            parts.append(f"{missing} missing")
        if self.foreign:
            parts.append(f"{self.foreign} added")
        detail = ", ".join(parts) or "items differ"
        return f"changed in Langfuse: {detail} outside agentops"


def survey(remote: Sequence[RemoteItem], address: str) -> Survey:
    active = [r for r in remote if r.status == ACTIVE]
    edited = sum(
        1
        for r in active
        if r.owned_by(address) and (r.marker or {}).get("digest") != r.own_digest()
    )
    foreign = sum(1 for r in active if not r.owned_by(address))
    archived_elsewhere = sum(
        1
        for r in remote
        if r.status != ACTIVE and r.owned_by(address) and not (r.marker or {}).get("archived")
    )
    return Survey(
        digest=set_digest((r.lf_id, r.own_digest()) for r in active),
        active=len(active),
        edited=edited,
        foreign=foreign,
        archived_elsewhere=archived_elsewhere,
    )


def archived_metadata(remote: RemoteItem) -> Any:
    """Metadata to send with an archive: ours get the `archived` flag, others stay as-is."""
    marker = remote.marker
    if marker is None or not isinstance(remote.metadata, Mapping):
        return remote.metadata
    return {**remote.metadata, MARKER: {**marker, "archived": True}}

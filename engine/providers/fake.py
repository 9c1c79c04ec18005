"""FakeProvider: a function-backed provider for tests, in the spirit of httpx's MockTransport.

It keeps its "real world" in a JSON file (so a crash test can kill the process and look
at what survived), records every call, tags what it creates with the workspace id, address
and idempotency token, and lets a test inject failures with a handler:

    def handler(call: FakeCall) -> None:
        if call.op == "create" and call.address.startswith("agent.b"):
            raise PermanentError("boom")

Idempotency like a cloud API: a create with a token already seen returns the resource that
token created instead of making a second one.
"""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from engine.providers.base import Context, Desired, Observed
from engine.spec.datasets import dataset_digest
from engine.spec.digests import agent_attrs, digest_of
from engine.spec.graph import GraphNode
from engine.state.local import atomic_write
from engine.state.model import PendingOp, ResourceState


@dataclass(frozen=True)
class FakeCall:
    op: str
    address: str
    token: str | None = None


class FakeProvider:
    name: ClassVar[str] = "fake"
    kinds: ClassVar[frozenset[str]] = frozenset({"Agent", "Dataset"})

    def __init__(self, world: Path, handler: Callable[[FakeCall], None] | None = None) -> None:
        self.world_path = world
        self.handler = handler
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()
        self._cache: tuple[tuple[int, int], dict[str, dict[str, Any]]] | None = None

    # --- the world --------------------------------------------------------------------
    def world(self) -> dict[str, dict[str, Any]]:
        """The world as a fresh copy (cached by mtime: observing N resources reads it once)."""
        try:
            st = self.world_path.stat()
        except FileNotFoundError:
            return {}
        key = (st.st_mtime_ns, st.st_size)
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, json.loads(self.world_path.read_text()))
        return copy.deepcopy(self._cache[1])

    def _peek(self, rid: str) -> dict[str, Any] | None:
        """Read-only lookup without copying the whole world (observe is called N times)."""
        try:
            st = self.world_path.stat()
        except FileNotFoundError:
            return None
        if self._cache is None or self._cache[0] != (st.st_mtime_ns, st.st_size):
            self.world()
        return self._cache[1].get(rid) if self._cache else None

    def _save(self, world: dict[str, dict[str, Any]]) -> None:
        self.world_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.world_path, json.dumps(world, sort_keys=True).encode())

    def _call(self, op: str, address: str, token: str | None = None) -> None:
        call = FakeCall(op, address, token)
        self.calls.append(call)
        if self.handler is not None:
            self.handler(call)

    # --- provider ---------------------------------------------------------------------
    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        # The same views as the real providers, so digests match what gates test.
        if node.kind == "Agent":
            attrs = agent_attrs(ctx.workspace, node.spec.doc.spec, node.address.env or "")
            secret = frozenset(k for k in attrs if k.startswith("secrets."))
            return Desired(digest=digest_of(attrs), attrs=attrs, sensitive=secret)
        items = ctx.workspace.items.get(node.address.name, [])
        attrs = {"items": len(items), "content": dataset_digest(items)}
        return Desired(digest=digest_of(attrs), attrs=attrs)

    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        self._call("observe", prior.address)
        res = self._peek(prior.provider_id or "")
        if res is None:
            return Observed(exists=False, status="missing")
        return Observed(exists=True, digest=res["digest"])

    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        address = str(node.address)
        self._call("create", address, token)
        with self._lock:
            world = self.world()
            for rid, res in world.items():
                if res["tags"].get("token") == token:  # idempotent retry of the same create
                    return self._state(node, desired, rid)
            rid = f"fake-{len(world) + 1}-{os.getpid()}-{token[-8:]}"
            world[rid] = {
                "digest": desired.digest,
                "tags": {"workspace": ctx.workspace_id, "address": address, "token": token},
            }
            self._save(world)
        return self._state(node, desired, rid)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        self._call("update", prior.address, token)
        with self._lock:
            world = self.world()
            rid = prior.provider_id or ""
            world.setdefault(
                rid, {"tags": {"workspace": ctx.workspace_id, "address": prior.address}}
            )
            world[rid]["digest"] = desired.digest
            world[rid]["tags"]["token"] = token
            self._save(world)
        return self._state(node, desired, rid)

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        self._call("delete", prior.address, token)
        with self._lock:
            world = self.world()
            world.pop(prior.provider_id or "", None)
            self._save(world)

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        self._call("recover", pending.address, pending.token)
        world = self.world()
        owned = {
            rid: r
            for rid, r in world.items()
            if r["tags"].get("address") == pending.address
            and r["tags"].get("workspace") == ctx.workspace_id
        }
        if pending.op == "delete":
            return None if not owned else prior
        keep = prior.provider_id if prior else None
        adopted = next(
            (rid for rid, r in owned.items() if r["tags"].get("token") == pending.token), None
        )
        if adopted is not None:
            keep = adopted
        for rid in list(owned):  # anything else tagged for this address is a leak
            if rid != keep:
                world.pop(rid)
        self._save(world)
        if keep is None or keep not in world:
            return None
        res = world[keep]
        return ResourceState(
            address=pending.address,
            kind=pending.kind,
            provider=self.name,
            provider_id=keep,
            digest=res["digest"],
            attrs=prior.attrs if prior and prior.digest == res["digest"] else {"adopted": True},
        )

    def _state(self, node: GraphNode, desired: Desired, rid: str) -> ResourceState:
        return ResourceState(
            address=str(node.address),
            kind=node.kind,
            provider=self.name,
            provider_id=rid,
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={"id": rid, "url": f"fake://{rid}"},
        )

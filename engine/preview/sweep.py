"""`agentops preview --sweep --older-than 24h`: remove what killed previews left.

Pipeline role: beside `engine.preview.run`, called by `engine.commands.preview`. Two places
are searched, and only what a preview provably owns is touched:

1. this machine: every `.agentops/previews/<name>/` whose marker (`preview.json`) is older
   than the age and whose lock no live preview holds. Resources its state still records (a
   teardown that failed) are deleted through their providers, processes tagged with its
   workspace id are killed, and the directory goes - unless something could not be
   deleted, in which case it stays (with its state) for the next sweep and says what.
   A directory without a marker is never touched.
2. AWS: a CI runner that was killed leaves no directory anywhere, so for the workspace's
   `runtime: agentcore` environments the AgentCore provider lists runtimes and `/agentops/`
   IAM roles tagged as a preview *of this main state* (`agentops:preview-of` is the main
   state's workspace id) that started before the age, and tears each down
   (`engine.providers.agentcore.sweep`). Previews running here now are skipped.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.applier import idempotency_token
from engine.errors import AgentOpsError
from engine.preview.run import MARKER, PREVIEWS_DIRNAME, kill_owned
from engine.providers.base import Context
from engine.providers.registry import Registry
from engine.spec.workspace import Workspace
from engine.state.backend import state_dir
from engine.state.local import LocalStateStore
from engine.state.store import StateStore


@dataclass(frozen=True)
class Swept:
    name: str
    age_s: float
    killed: list[int]
    #: resources deleted: from the preview's state, or found by their tags in AWS
    removed: list[str] = field(default_factory=list)
    #: what could not be deleted (the preview's directory is kept for the next sweep)
    left: list[str] = field(default_factory=list)


def _marker(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MARKER).read_text(encoding="utf-8"))
        float(data["started"])
        str(data["workspace_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a preview we recognise: never touched
    return data if isinstance(data, dict) else None


def _delete_recorded(
    directory: Path, store: LocalStateStore, ws: Workspace, registry: Registry | None
) -> tuple[list[str], list[str]]:
    """Delete what a preview's own state still records; (removed, left)."""
    state = store.read()
    if not state.resources:
        return [], []
    reg = registry or Registry.default(directory)
    removed, left = [], []
    ctx = Context(workspace=ws, state_dir=directory, workspace_id=state.workspace_id)
    for address, res in sorted(state.resources.items()):
        token = idempotency_token(state.lineage, address, "delete", res.digest)
        try:
            reg.resource_by_name(res.provider).delete(res, token, ctx)
        except AgentOpsError as exc:
            left.append(f"{address} ({res.provider} {res.provider_id}): {exc}")
            continue
        store.append(state, {"type": "forget", "address": address})
        removed.append(f"{address} ({res.provider} {res.provider_id})")
    store.compact_if_needed(state, force=True)
    return removed, left


def _sweep_local(
    base: Path,
    older_than: float,
    now: float,
    ws: Workspace,
    registry: Registry | None,
    live: set[str],
) -> list[Swept]:
    out: list[Swept] = []
    for directory in sorted(p for p in base.iterdir() if p.is_dir()):
        marker = _marker(directory)
        if marker is None:
            continue
        age = now - float(marker["started"])
        store = LocalStateStore(directory)
        try:
            with store.lock("preview --sweep", 0.0):
                if age < older_than:
                    continue
                removed, left = _delete_recorded(directory, store, ws, registry)
                killed = kill_owned(str(marker["workspace_id"]))
        except AgentOpsError:
            live.add(str(marker["workspace_id"]))  # a live preview holds it
            continue
        if not left:
            shutil.rmtree(directory, ignore_errors=True)
        out.append(Swept(directory.name, age, killed, removed, left))
    return out


def sweep(
    root: Path,
    older_than: float,
    *,
    now: float | None = None,
    ws: Workspace | None = None,
    main_store: StateStore | None = None,
    registry: Registry | None = None,
) -> list[Swept]:
    """Remove previews older than `older_than` seconds that no live preview holds, here and
    (with a workspace and its main state) in AWS. See the module docstring."""
    base = state_dir(root) / PREVIEWS_DIRNAME
    now = time.time() if now is None else now
    live: set[str] = set()
    local_ws = ws if ws is not None else Workspace(root)
    out = _sweep_local(base, older_than, now, local_ws, registry, live) if base.is_dir() else []
    if ws is None or main_store is None:
        return out
    main = main_store.read()
    if not main.serial:
        return out  # no main state: no preview of it can be told apart by its tags
    reg = registry or Registry.default(state_dir(root))
    provider = None
    with contextlib.suppress(AgentOpsError):
        provider = reg.resource_by_name("agentcore")
    sweep_previews = getattr(provider, "sweep_previews", None)
    if sweep_previews is None:
        return out
    ctx = Context(workspace=ws, state_dir=state_dir(root), workspace_id=main.workspace_id)
    found = sweep_previews(ctx, parent=main.workspace_id, older_than=older_than, now=now, live=live)
    by_name: dict[str, Swept] = {s.name: s for s in out}
    for f in found:
        what = f"{f.address}: {', '.join(f.found)} (AgentCore, by tags)"
        prior = by_name.get(f.preview)
        if prior is None:
            by_name[f.preview] = Swept(f.preview, f.age_s, [], [what])
        else:
            prior.removed.append(what)
    return sorted(by_name.values(), key=lambda s: s.name)

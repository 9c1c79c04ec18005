"""The state's bytes and its journal entries, shared by every `StateStore`.

Pipeline role: below the stores. A snapshot is `State` as sorted JSON; a journal entry is one
change (`pending`, `clear_pending`, `resource`, `forget`, `run`, `forget_run`, or `replace`:
a whole new state) carrying the serial it produced. Reading a state is "decode the snapshot,
then `apply_entry` every later entry": the local file and S3 replay the same entries with
the same function, so both stores mean the same thing by a serial.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from engine.errors import StateError
from engine.state.model import STATE_VERSION, PendingOp, ResourceState, RunRecord, State


def encode_state(state: State) -> bytes:
    return json.dumps(state.model_dump(mode="json"), indent=1, sort_keys=True).encode() + b"\n"


def decode_state(data: bytes, where: str, *, restore_hint: str) -> State:
    """Parse a snapshot, or a StateError that says what is wrong and how to recover."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(
            f"cannot read {where}: it is not JSON ({exc}); nothing was written over it",
            hint=restore_hint,
        ) from exc
    if not isinstance(doc, dict) or "lineage" not in doc or "serial" not in doc:
        raise StateError(
            f"{where} is not an agentops state (no serial and lineage); nothing was written "
            "over it",
            hint="check the state location (--state, AGENTOPS_STATE, agentops.yaml), "
            f"or {restore_hint}",
        )
    if doc.get("version") != STATE_VERSION:
        raise StateError(
            f"{where} has state version {doc.get('version')!r}; this agentops reads version "
            f"{STATE_VERSION}",
            hint="upgrade agentops, or restore a compatible state",
        )
    try:
        return State.model_validate(doc)
    except ValidationError as exc:
        raise StateError(
            f"{where} is not a valid state: {exc.error_count()} problems; nothing was written "
            "over it",
            hint=restore_hint,
        ) from exc


def apply_entry(state: State, entry: dict[str, Any]) -> None:
    """Replay one journal entry onto a state (the same function builds and replays)."""
    kind = entry["type"]
    state.serial = max(state.serial, int(entry.get("serial", state.serial)))
    if kind == "pending":
        op = PendingOp.model_validate(entry["op"])
        state.pending[op.address] = op
    elif kind == "clear_pending":
        state.pending.pop(entry["address"], None)
    elif kind == "resource":
        res = ResourceState.model_validate(entry["resource"])
        state.resources[res.address] = res
        state.pending.pop(res.address, None)
    elif kind == "forget":
        state.resources.pop(entry["address"], None)
        state.pending.pop(entry["address"], None)
    elif kind == "run":
        run = RunRecord.model_validate(entry["run"])
        state.runs[run.address] = run
    elif kind == "forget_run":
        state.runs.pop(entry["address"], None)
    elif kind == "replace":
        new = State.model_validate(entry["state"])
        for name in State.model_fields:
            setattr(state, name, getattr(new, name))
        state.serial = int(entry.get("serial", new.serial))
    else:  # pragma: no cover - a journal from a newer agentops
        raise StateError(f"unknown journal entry type '{kind}'", hint="upgrade agentops")

"""State model: versioned, one record per address, pending operations, last run results.

Secrets never enter state: resource attributes hold secret *references* (`ssm:/x`) or
hashes of resolved values, never the values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

STATE_VERSION = 1


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResourceState(_Model):
    address: str
    kind: str
    provider: str
    provider_id: str | None = None
    #: digest of the desired spec that was applied
    digest: str
    #: the applied attributes (flat, secrets as references/hashes) - the base for field diffs
    attrs: dict[str, Any] = Field(default_factory=dict)
    outputs: dict[str, Any] = Field(default_factory=dict)
    status: Literal["ready", "tainted"] = "ready"
    #: opaque provider data, stored as-is (e.g. a local process record)
    private: dict[str, Any] = Field(default_factory=dict)
    updated_at: str = Field(default_factory=now_iso)


class RunRecord(_Model):
    address: str
    kind: str
    inputs_digest: str
    status: Literal["succeeded", "failed"]
    started_at: str
    finished_at: str
    summary: dict[str, Any] = Field(default_factory=dict)
    #: the last inputs digest that succeeded (kept when a later run fails)
    last_success_digest: str | None = None
    message: str | None = None


class PendingOp(_Model):
    """Recorded before a provider call, cleared after; left behind only by a crash."""

    address: str
    kind: str
    provider: str
    op: Literal["create", "update", "delete"]
    token: str
    digest: str | None = None
    started_at: str = Field(default_factory=now_iso)
    pid: int | None = None


class State(_Model):
    version: int = STATE_VERSION
    serial: int = 0
    lineage: str = Field(default_factory=lambda: str(uuid.uuid4()))
    #: stable id of this workspace's state; the ownership tag on everything it creates
    workspace_id: str = Field(default_factory=lambda: uuid.uuid4().hex[:12])
    resources: dict[str, ResourceState] = Field(default_factory=dict)
    runs: dict[str, RunRecord] = Field(default_factory=dict)
    pending: dict[str, PendingOp] = Field(default_factory=dict)

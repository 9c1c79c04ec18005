"""Verdicts by digest: a gate's result, keyed by what it judged rather than where it ran.

Pipeline role: written after a preview's gate runs (`engine.preview.run`), read by every
plan of the main state (`engine.reconcile.prepare`). The key is the gate's inputs digest
minus the environment: the agent digest, the dataset digest, every evaluator's digest, the
judge and callee identities, and the gate's own spec without `environment` and `promotes`
(its thresholds). A preview in `pr-123` and the gate in `tst` therefore compute the same key
for the same change, and the gate on main reuses a passing verdict instead of running again.

Where: `verdicts/<key>.json` in the workspace's `.agentops/` directory, next to the local
state. A verdict is immutable and content-addressed, so previews of different pull requests
never write the same file unless they judged the same thing (and then either copy is right).
Only passing verdicts are reused: a failure on main runs again.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.spec.datasets import canonical_json, sha256_hex
from engine.spec.graph import GraphNode
from engine.state.model import RunRecord, now_iso

VERDICTS_DIRNAME = "verdicts"
#: run-input attributes that name the environment rather than the thing judged
_ENV_BOUND = ("spec",)


def verdict_key(node: GraphNode, attrs: Mapping[str, Any]) -> str:
    """The environment-free digest of a gate's inputs."""
    spec = node.spec.doc.spec.model_dump(
        mode="json", by_alias=True, exclude={"environment", "promotes"}
    )
    parts = {k: v for k, v in attrs.items() if k not in _ENV_BOUND}
    parts["gate"] = sha256_hex(canonical_json(spec))[:16]
    parts["kind"] = node.kind
    return sha256_hex(canonical_json(parts))[:16]


@dataclass(frozen=True)
class Verdict:
    key: str
    gate: str
    passed: bool
    verdict: str
    agent_digest: str
    preview: str
    recorded_at: str
    summary: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def verdict_path(state_dir: Path, key: str) -> Path:
    return state_dir / VERDICTS_DIRNAME / f"{key}.json"


def save_verdict(state_dir: Path, v: Verdict) -> Path:
    """Write atomically (temp file + rename): a reader never sees half a verdict."""
    path = verdict_path(state_dir, v.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".verdict-")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(v.to_json(), fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)
    return path


def load_verdict(state_dir: Path, key: str) -> Verdict | None:
    try:
        data = json.loads(verdict_path(state_dir, key).read_text(encoding="utf-8"))
        return Verdict(**data)
    except (OSError, ValueError, TypeError):
        return None


def reused_record(
    address: str, inputs_digest: str, attrs: Mapping[str, Any], v: Verdict
) -> RunRecord:
    """The run record a reused verdict stands for: a succeeded run of the current inputs."""
    summary = {
        **v.summary,
        "agent_digest": v.agent_digest,
        "inputs": dict(attrs),
        "reused": {"preview": v.preview, "key": v.key, "recorded_at": v.recorded_at},
    }
    return RunRecord(
        address=address,
        kind="QualityGate",
        inputs_digest=inputs_digest,
        status="succeeded",
        started_at=v.recorded_at,
        finished_at=now_iso(),
        summary=summary,
        last_success_digest=inputs_digest,
        message=f"verdict reused from preview {v.preview}",
    )

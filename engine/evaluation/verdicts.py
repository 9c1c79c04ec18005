"""Verdicts by digest: a gate's result, keyed by what it judged rather than where it ran.

Pipeline role: written after a preview's gate runs (`engine.preview.run`), read by every
plan of the main state (`engine.reconcile.prepare`). The key is the gate's inputs digest
minus the environment: the agent digest, the dataset digest, every evaluator's digest, the
judge and callee identities, and the gate's own spec without `environment` and `promotes`
(its thresholds). A preview in `pr-123` and the gate in `tst` therefore compute the same key
for the same change, and the gate on main reuses a passing verdict instead of running again.

Where: `verdicts/<key>.json` in the state's sidecar (`engine.state.sidecar`): the local
state's directory (`.agentops/`), or beside an S3 state under its prefix, so a verdict a
preview records in CI is found by the apply on main on another machine. A verdict is
immutable and written once under its content-derived key: previews of different pull
requests never write the same key unless they judged the same thing (and then the first
copy stays). Only passing verdicts are reused: a failure on main runs again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.spec.datasets import canonical_json, sha256_hex
from engine.spec.graph import GraphNode
from engine.state.model import RunRecord, now_iso
from engine.state.sidecar import Sidecar

VERDICTS_DIRNAME = "verdicts"
#: run-input attributes that name the environment rather than the thing judged
_ENV_BOUND = ("spec",)


def verdict_key(node: GraphNode, attrs: Mapping[str, Any]) -> str:
    """The environment-free digest of a gate's inputs."""
    spec = node.spec.doc.spec.model_dump(
        mode="json", by_alias=True, exclude={"environment", "promotes"}
    )
    if spec.get("baseline", 0) is None:
        del spec["baseline"]  # no declared baseline: the key every gate had before it existed
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


def verdict_key_path(key: str) -> str:
    return f"{VERDICTS_DIRNAME}/{key}.json"


def save_verdict(sidecar: Sidecar, v: Verdict) -> bool:
    """Record `v` once under its key; False when a verdict for the key was already there."""
    body = json.dumps(v.to_json(), indent=1, sort_keys=True) + "\n"
    return sidecar.put_once(verdict_key_path(v.key), body.encode())


def load_verdict(sidecar: Sidecar, key: str) -> Verdict | None:
    data = sidecar.get(verdict_key_path(key))
    if data is None:
        return None
    try:
        return Verdict(**json.loads(data))
    except (ValueError, TypeError):
        return None  # not a verdict we can read: the gate runs (nothing is reused blindly)


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

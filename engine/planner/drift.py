"""Drift: how an observation differs from the record, and the refresh-only plan.

Pure, like the rest of the planner. `drifted`/`drift_detail` feed every plan's DRIFTED
reason; `refresh_changes` is `plan --refresh-only`: only what changed behind agentops' back,
as edits of the state (`apply --refresh-only` records them, `engine.reconcile.accept_refresh`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from engine.planner.plan import Action, Change, FieldDiff, Reason, ReasonEntry
from engine.providers.base import Observed
from engine.spec.addresses import Address
from engine.state.model import ResourceState, State


def drifted(observed: Observed, prior: ResourceState) -> bool:
    return (
        (not observed.healthy)
        or bool(observed.drift)
        or (observed.digest is not None and observed.digest != prior.digest)
    )


def drift_detail(observed: Observed, prior: ResourceState) -> str:
    parts = []
    if not observed.healthy:
        parts.append(f"status {observed.status}")
    if observed.digest is not None and observed.digest != prior.digest:
        parts.append(f"running digest {observed.digest} != recorded {prior.digest}")
    parts.extend(f"{k}: {a!r} → {b!r}" for k, (a, b) in sorted(observed.drift.items()))
    return "; ".join(parts)


def refresh_changes(
    state: State,
    observed: Mapping[str, Observed],
    envs: Sequence[str] = (),
    targets: Sequence[Address] = (),
) -> list[Change]:
    """`--refresh-only`: what changed behind agentops' back, as edits of the state only.

    A resource deleted outside agentops is forgotten (DELETE of the record, nothing else is
    deleted); one that drifted gets its observation recorded (UPDATE of the record). Drift
    already accepted by an earlier `apply --refresh-only` is not shown again.
    """
    out = []
    for address, prior in sorted(state.resources.items()):
        addr = Address.parse(address)
        if envs and addr.env not in envs:
            continue
        if targets and not any(addr.matches(t) for t in targets):
            continue
        seen = observed.get(address)
        if seen is None:
            continue
        change = Change(
            address, prior.kind, Action.UPDATE, prior.provider, prior_digest=prior.digest
        )
        if not seen.exists:
            change.action = Action.DELETE
            change.reasons.append(
                ReasonEntry(Reason.DRIFTED, f"{seen.status}: forget it (nothing is deleted)")
            )
        elif refresh_record(seen) == prior.private.get(REFRESHED, {}).get("observed"):
            continue  # accepted before, unchanged since
        elif drifted(seen, prior) or _outputs_moved(seen, prior):
            change.digest = seen.digest or prior.digest
            change.field_diffs = _observed_diffs(seen, prior)
            change.reasons.append(
                ReasonEntry(Reason.DRIFTED, drift_detail(seen, prior) or "outputs changed")
            )
        else:
            continue
        out.append(change)
    return out


#: key in `ResourceState.private` where `apply --refresh-only` records an accepted observation
REFRESHED = "refreshed"


def refresh_record(observed: Observed) -> dict[str, object]:
    """The JSON form of an observation, as `apply --refresh-only` records it."""
    raw = {
        "status": observed.status,
        "healthy": observed.healthy,
        "digest": observed.digest,
        "drift": {k: [a, b] for k, (a, b) in sorted(observed.drift.items())},
    }
    loaded: dict[str, object] = json.loads(json.dumps(raw, sort_keys=True, default=str))
    return loaded


def _outputs_moved(observed: Observed, prior: ResourceState) -> bool:
    """An output the provider observed differs from the recorded one (none observed: no)."""
    return any(prior.outputs.get(k) != v for k, v in observed.outputs.items())


def _observed_diffs(observed: Observed, prior: ResourceState) -> list[FieldDiff]:
    diffs = [FieldDiff(k, a, b) for k, (a, b) in sorted(observed.drift.items())]
    if observed.digest is not None and observed.digest != prior.digest:
        diffs.append(FieldDiff("digest", prior.digest, observed.digest))
    for key, value in sorted(observed.outputs.items()):
        if prior.outputs.get(key) != value:
            diffs.append(FieldDiff(f"outputs.{key}", prior.outputs.get(key), value))
    return diffs

"""Sweeping what killed previews left in AWS, found by their tags alone.

Pipeline role: `agentops preview --sweep` (`engine.preview.sweep`) calls
`AgentCoreProvider.sweep_previews` for every AWS target of the workspace's `runtime:
agentcore` environments. A preview tags everything it creates with the ownership tags plus
`agentops:preview` (its name), `agentops:preview-of` (the main state's workspace id) and
`agentops:preview-started` (`engine.providers.base`). A killed CI runner takes the preview's
local state with it, so the sweeper looks in AWS: every AgentCore runtime, and every IAM
role under `/agentops/` (a preview killed between creating the role and the runtime leaves
only the role), whose tags say

* it belongs to a preview of *this* main state (`preview-of` is our workspace id), and
* the preview started longer ago than `--older-than`, and
* its preview is not one that runs here now (its workspace id is not in `live`).

Each such (preview workspace id, address) is torn down with the same `teardown` a destroy
uses, which deletes only what those tags prove the preview created for that address.
Nothing without all three tags is ever touched: other workspaces' previews, standing
environments, resources made by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.aws import Aws
from engine.providers.agentcore.names import (
    MANAGED_BY,
    ROLE_PATH,
    TAG_ADDRESS,
    TAG_MANAGED_BY,
    TAG_WORKSPACE,
    address_of_tag,
    names_for,
    tags_dict,
)
from engine.providers.agentcore.teardown import teardown
from engine.providers.base import TAG_PREVIEW, TAG_PREVIEW_OF, TAG_PREVIEW_STARTED


@dataclass(frozen=True)
class SweptPreview:
    """One address of a killed preview that the sweep tore down."""

    preview: str
    workspace_id: str
    address: str
    age_s: float
    #: what was found: "runtime <name> (<id>)", "role <name>"
    found: tuple[str, ...]


@dataclass(frozen=True)
class _Orphan:
    tags: dict[str, str]
    what: str
    runtime_id: str | None = None


def _started(tags: dict[str, str]) -> float | None:
    try:
        return float(tags[TAG_PREVIEW_STARTED])
    except (KeyError, ValueError):
        return None


def _ours(tags: dict[str, str], parent: str) -> bool:
    return (
        bool(parent)
        and tags.get(TAG_MANAGED_BY) == MANAGED_BY
        and tags.get(TAG_PREVIEW_OF) == parent
        and bool(tags.get(TAG_PREVIEW))
        and bool(tags.get(TAG_WORKSPACE))
        and bool(tags.get(TAG_ADDRESS))
        and _started(tags) is not None
    )


def _orphans(aws: Aws, parent: str, roles: bool) -> Iterator[_Orphan]:
    for summary in aws.pages(rt.CP, "ListAgentRuntimes", "agentRuntimes", "AgentCore runtimes"):
        tags = rt.tags_of(aws, str(summary["agentRuntimeArn"]))
        if _ours(tags, parent):
            rid = str(summary["agentRuntimeId"])
            yield _Orphan(tags, f"runtime {summary.get('agentRuntimeName')} ({rid})", rid)
    if not roles:
        return
    for role in aws.pages("iam", "ListRoles", "Roles", "IAM roles", PathPrefix=ROLE_PATH):
        name = str(role["RoleName"])
        what = f"IAM role {name}"
        tags = tags_dict(aws.call("iam", "ListRoleTags", what, RoleName=name).get("Tags"))
        if _ours(tags, parent):
            yield _Orphan(tags, f"role {name}")


def sweep_previews(
    aws: Aws,
    *,
    parent: str,
    older_than: float,
    now: float,
    live: Collection[str],
    private: dict[str, Any],
    log: Callable[[str], None],
    roles: bool = True,
) -> list[SweptPreview]:
    """Tear down what previews of `parent` started before `now - older_than` left here."""
    groups: dict[tuple[str, str], list[_Orphan]] = {}
    for o in _orphans(aws, parent, roles):
        started = _started(o.tags) or now
        if now - started < older_than or o.tags[TAG_WORKSPACE] in live:
            continue
        key = (o.tags[TAG_WORKSPACE], address_of_tag(o.tags[TAG_ADDRESS]))
        groups.setdefault(key, []).append(o)
    out = []
    for (workspace_id, address), found in sorted(groups.items()):
        names = names_for(address, workspace_id)
        runtime_id = next((o.runtime_id for o in found if o.runtime_id), None)
        # teardown checks the ownership tags of each object again before deleting it
        teardown(aws, names, runtime_id, private, log, token=names.ref)
        tags = found[0].tags
        out.append(
            SweptPreview(
                preview=tags[TAG_PREVIEW],
                workspace_id=workspace_id,
                address=address,
                age_s=now - (_started(tags) or now),
                found=tuple(o.what for o in found),
            )
        )
    return out

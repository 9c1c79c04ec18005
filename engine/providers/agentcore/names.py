"""AgentCore naming and ownership tags: pure functions, no AWS calls.

Pipeline role: every AWS object the AgentCore provider creates for an address gets its name
and tags from here, so `create`, `observe`, `delete` and crash recovery (`recover`, which
finds leftovers by name and proves ownership by tags) always agree.

One short reference per (workspace, address), `<agent>-<env>-<hash8>`, is the stem of every
name. The hash is over the workspace id and the address, so the names are

* stable: the same address in the same workspace always maps to the same names;
* unique: two workspaces (or `a-b`/`c` vs `a`/`b-c`) never share a name, even where
  sanitising (AgentCore allows no hyphens) or truncating would make the readable part equal;
* valid: AgentCore `[a-zA-Z][a-zA-Z0-9_]{0,47}`, IAM roles <= 64, CodeBuild, ECR and S3.

Tag values may not contain `[` or `]` in AWS, so the address `agent.x[prd]` is tagged as
`agent.x@prd`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.spec.addresses import Address

TAG_MANAGED_BY = "agentops:managed-by"
TAG_WORKSPACE = "agentops:workspace"
TAG_ADDRESS = "agentops:address"
TAG_DIGEST = "agentops:digest"
#: the idempotency token of the create that made a runtime (crash recovery adopts by it)
TAG_TOKEN = "agentops:token"
MANAGED_BY = "agentops"

#: the endpoint agentops owns on every runtime, pinned to the version it deployed last
ENDPOINT_NAME = "live"
#: IAM path of every role agentops creates (easy to list and to scope CI permissions)
ROLE_PATH = "/agentops/"
#: S3 prefix of every object agentops uploads to the artifact bucket
S3_PREFIX = "agentops"

_RUNTIME_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
_MAX_STEM = 30  # so that `agentops_<stem>_<hash8>` fits AgentCore's 48 characters


def address_tag(address: str) -> str:
    """`agent.x[prd]` -> `agent.x@prd` (AWS tag values allow no brackets)."""
    addr = Address.parse(address)
    return f"{addr.base}@{addr.env}" if addr.env else addr.base


@dataclass(frozen=True)
class Names:
    """Every name of the AWS objects behind one address."""

    address: str
    workspace_id: str
    ref: str  # `<agent>-<env>-<hash8>`, at most 39 characters, [a-z0-9-]
    #: tags the session adds to the ownership tags (a preview's name, parent, start)
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def runtime(self) -> str:
        """AgentCore runtime name: `agentops_<agent>_<env>_<hash8>` (no hyphens allowed)."""
        return "agentops_" + self.ref.replace("-", "_")

    @property
    def role(self) -> str:
        """IAM execution role (under ROLE_PATH)."""
        return f"agentops-{self.ref}"

    @property
    def build_role(self) -> str:
        """IAM service role of the CodeBuild project (container deploys only)."""
        return f"agentops-build-{self.ref}"

    @property
    def build_project(self) -> str:
        return f"agentops-{self.ref}"

    @property
    def repository(self) -> str:
        """ECR repository created when the environment names none.

        ECR allows one separator between alphanumerics (`a--b` is refused), while spec
        names may repeat hyphens: runs collapse to one; the ref's hash keeps names apart.
        """
        return "agentops/" + re.sub(r"-{2,}", "-", self.ref)

    @property
    def s3_prefix(self) -> str:
        """Everything uploaded for this address lives under this key prefix."""
        return f"{S3_PREFIX}/{self.ref}/"

    def code_key(self, content: str) -> str:
        return f"{self.s3_prefix}code-{content}.zip"

    def context_key(self, content: str) -> str:
        return f"{self.s3_prefix}build-context-{content}.zip"

    def image_tag(self, content: str) -> str:
        """Images are tagged by content, never `latest`; the ref keeps shared repos apart."""
        return f"{self.ref}-{content}"

    def tags(self, digest: str | None = None) -> dict[str, str]:
        """The ownership tags (plus the applied digest when known)."""
        out = {
            **dict(self.extra),
            TAG_MANAGED_BY: MANAGED_BY,
            TAG_WORKSPACE: self.workspace_id,
            TAG_ADDRESS: address_tag(self.address),
        }
        if digest is not None:
            out[TAG_DIGEST] = digest
        return out

    def owns(self, tags: Mapping[str, str]) -> bool:
        """True when `tags` say this workspace created the object for this address."""
        return tags.get(TAG_WORKSPACE) == self.workspace_id and tags.get(
            TAG_ADDRESS
        ) == address_tag(self.address)


def _sanitise(text: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-") or "x"


def address_of_tag(tag: str) -> str:
    """`agent.x@prd` -> `agent.x[prd]` (the inverse of `address_tag`)."""
    base, at, env = tag.partition("@")
    return f"{base}[{env}]" if at else base


def names_for(address: str, workspace_id: str, extra: Mapping[str, str] | None = None) -> Names:
    addr = Address.parse(address)
    digest = hashlib.sha256(f"{workspace_id}|{address}".encode()).hexdigest()[:8]
    readable = _sanitise(f"{addr.name}-{addr.env}" if addr.env else addr.name)
    readable = readable[:_MAX_STEM].rstrip("-")
    if not readable[0].isalpha():  # AgentCore names start with a letter (after `agentops_`
        readable = "a" + readable[: _MAX_STEM - 1]  # anyway, but ECR/IAM like it too)
    names = Names(
        address=address,
        workspace_id=workspace_id,
        ref=f"{readable}-{digest}",
        extra=tuple(sorted((extra or {}).items())),
    )
    assert _RUNTIME_NAME_RE.match(names.runtime), names.runtime
    return names


def tags_list(
    tags: Mapping[str, str], key: str = "Key", value: str = "Value"
) -> list[dict[str, str]]:
    """IAM/ECR want `[{"Key": k, "Value": v}]`; CodeBuild `[{"key": ..., "value": ...}]`."""
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def tags_dict(
    tags: list[dict[str, str]] | None, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    return {t[key]: t[value] for t in tags or []}

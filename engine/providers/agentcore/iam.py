"""IAM roles for AgentCore deployments: created, adopted only when owned, deleted.

Pipeline role: `create`/`update` of an agent ensure its execution role (documents from
`agentcore_policies`) before the runtime is created or updated; `delete` removes it after
the runtime. A role is only ever modified or deleted when its tags prove that this
workspace created it for this address; a given `executionRoleArn` is used as-is and never
touched, and a role of our name that we do not own is an error, never an adoption.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore.aws import Aws
from engine.providers.agentcore.names import ROLE_PATH, Names, tags_dict, tags_list

POLICY_NAME = "agentops"


def ensure_role(
    aws: Aws,
    names: Names,
    role_name: str,
    trust: dict[str, Any],
    policy: dict[str, Any],
    description: str,
    boundary: str | None = None,
) -> tuple[str, bool]:
    """Create or adopt (only if owned) the role; returns (arn, created now)."""
    what = f"IAM role {role_name}"
    found = aws.find("iam", "GetRole", what, RoleName=role_name)
    created = False
    if found is None:
        extra = {"PermissionsBoundary": boundary} if boundary else {}
        role = aws.call(
            "iam",
            "CreateRole",
            what,
            mutating=True,
            RoleName=role_name,
            Path=ROLE_PATH,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=description[:1000],
            Tags=tags_list(names.tags()),
            **extra,
        )["Role"]
        created = True
    else:
        role = found["Role"]
        tags = tags_dict(aws.call("iam", "ListRoleTags", what, RoleName=role_name).get("Tags"))
        if not names.owns(tags):
            raise PermanentError(
                f"{what} already exists and was not created by this workspace for "
                f"{names.address}; agentops never adopts or modifies roles it does not own",
                hint="delete or rename that role, or set 'executionRoleArn' to use it as-is",
            )
        current_boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary and current_boundary != boundary:
            aws.call(
                "iam",
                "PutRolePermissionsBoundary",
                what,
                mutating=True,
                RoleName=role_name,
                PermissionsBoundary=boundary,
            )
        current = role.get("AssumeRolePolicyDocument")
        if _as_doc(current) != trust:
            aws.call(
                "iam",
                "UpdateAssumeRolePolicy",
                what,
                mutating=True,
                RoleName=role_name,
                PolicyDocument=json.dumps(trust),
            )
    existing = aws.find("iam", "GetRolePolicy", what, RoleName=role_name, PolicyName=POLICY_NAME)
    if existing is None or _as_doc(existing.get("PolicyDocument")) != policy:
        aws.call(
            "iam",
            "PutRolePolicy",
            what,
            mutating=True,
            RoleName=role_name,
            PolicyName=POLICY_NAME,
            PolicyDocument=json.dumps(policy),
        )
    return str(role["Arn"]), created


def delete_role(
    aws: Aws, names: Names, role_name: str, log: Callable[[str], None] | None = None
) -> None:
    """Delete the role if (and only if) this workspace created it for this address."""
    what = f"IAM role {role_name}"
    if aws.find("iam", "GetRole", what, RoleName=role_name) is None:
        return
    tags = tags_dict(aws.call("iam", "ListRoleTags", what, RoleName=role_name).get("Tags"))
    if not names.owns(tags):
        if log is not None:
            log(f"{what} is not owned by this workspace: left untouched")
        return
    for policy in aws.call("iam", "ListRolePolicies", what, RoleName=role_name)["PolicyNames"]:
        aws.call(
            "iam", "DeleteRolePolicy", what, mutating=True, RoleName=role_name, PolicyName=policy
        )
    attached = aws.call("iam", "ListAttachedRolePolicies", what, RoleName=role_name)
    for policy in attached.get("AttachedPolicies", []):
        aws.call(
            "iam",
            "DetachRolePolicy",
            what,
            mutating=True,
            RoleName=role_name,
            PolicyArn=policy["PolicyArn"],
        )
    aws.call("iam", "DeleteRole", what, mutating=True, RoleName=role_name)


def _as_doc(value: object) -> object:
    """IAM returns policy documents decoded (boto3) or as URL-encoded JSON (some endpoints)."""
    if isinstance(value, str):
        from urllib.parse import unquote

        try:
            return json.loads(unquote(value))
        except ValueError:
            return value
    return value

"""Finding and removing what the AgentCore provider made for one address.

Pipeline role: `delete` (destroy, prune, replace), crash recovery (`recover` tears down the
leftovers of a create that never produced a runtime, and deletes owned duplicates) and
moves between regions. Everything found is checked against the ownership tags first:
only objects this workspace created for this address are deleted. A role, repository or
bucket the environment names (`executionRoleArn`, `ecrRepository`, `artifactBucket`) is
never deleted; in a shared repository only our image tags go, in the bucket only the
objects under our prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore import runtime as rt
from engine.providers.agentcore.aws import Aws
from engine.providers.agentcore.iam import delete_role
from engine.providers.agentcore.names import Names, tags_dict

Log = Callable[[str], None]


def find_owned(aws: Aws, names: Names, *, strict: bool = True) -> list[dict[str, Any]]:
    """Runtimes named like ours that our tags prove are ours (each with its `tags`).

    With `strict`, a runtime of that name owned by someone else is an error: agentops never
    adopts it, and AWS would refuse to create a second runtime with the name anyway.
    """
    owned: list[dict[str, Any]] = []
    for summary in rt.find_by_name(aws, names.runtime):
        tags = rt.tags_of(aws, str(summary["agentRuntimeArn"]))
        if names.owns(tags):
            owned.append({**summary, "tags": tags})
        elif strict:
            raise PermanentError(
                f"an AgentCore runtime named {names.runtime} ({summary['agentRuntimeId']}) "
                f"exists and was not created by this workspace for {names.address}",
                hint="agentops never adopts resources it does not own: delete or rename that "
                "runtime, or run agentops from the workspace (state) that created it",
            )
    return owned


def teardown(
    aws: Aws,
    names: Names,
    runtime_id: str | None,
    private: Mapping[str, Any],
    log: Log,
    *,
    token: str = "",
    runtime: bool = True,
    iam: bool = True,
    regional: bool = True,
    objects: bool = True,
) -> None:
    """Delete the runtime(s), roles, build project, repository/images and S3 objects we own."""
    timeout = 900.0
    if runtime:
        ids = {runtime_id} if runtime_id else set()
        ids |= {str(r["agentRuntimeId"]) for r in find_owned(aws, names, strict=False)}
        for rid in sorted(ids):
            rt.delete(aws, names, rid, rt.derived_token(token or names.ref, "delete", rid), timeout)
    if regional:
        _delete_project(aws, names, log)
        _delete_images(aws, names, private.get("repository"), log)
    if iam:
        if private.get("role", {}).get("managed", True):
            delete_role(aws, names, names.role, log)
        delete_role(aws, names, names.build_role, log)
    bucket = private.get("bucket")
    if objects and bucket:
        _delete_objects(aws, str(bucket), names.s3_prefix)


def _delete_project(aws: Aws, names: Names, log: Log) -> None:
    what = f"CodeBuild project {names.build_project}"
    found = aws.call("codebuild", "BatchGetProjects", what, names=[names.build_project])
    if not found.get("projects"):
        return
    tags = tags_dict(found["projects"][0].get("tags"), "key", "value")
    if not names.owns(tags):
        log(f"{what} is not owned by this workspace: left untouched")
        return
    aws.call("codebuild", "DeleteProject", what, mutating=True, name=names.build_project)


def _delete_images(aws: Aws, names: Names, shared: str | None, log: Log) -> None:
    """Our own repository goes entirely; in a shared one only our tags."""
    repo = shared or names.repository
    what = f"ECR repository {repo}"
    found = aws.find("ecr", "DescribeRepositories", what, repositoryNames=[repo])
    if found is None:
        return
    if not shared:
        arn = found["repositories"][0]["repositoryArn"]
        tags = tags_dict(aws.call("ecr", "ListTagsForResource", what, resourceArn=arn).get("tags"))
        if not names.owns(tags):
            log(f"{what} is not owned by this workspace: left untouched")
            return
        aws.call("ecr", "DeleteRepository", what, mutating=True, repositoryName=repo, force=True)
        return
    ours = [
        {"imageTag": i["imageTag"]}
        for i in aws.pages("ecr", "ListImages", "imageIds", what, repositoryName=repo)
        if str(i.get("imageTag", "")).startswith(names.ref + "-")
    ]
    for start in range(0, len(ours), 100):
        aws.call(
            "ecr",
            "BatchDeleteImage",
            what,
            mutating=True,
            repositoryName=repo,
            imageIds=ours[start : start + 100],
        )


def _delete_objects(aws: Aws, bucket: str, prefix: str) -> None:
    what = f"s3://{bucket}/{prefix}"
    keys = [
        {"Key": o["Key"]}
        for o in aws.pages("s3", "ListObjectsV2", "Contents", what, Bucket=bucket, Prefix=prefix)
    ]
    for start in range(0, len(keys), 1000):
        aws.call(
            "s3",
            "DeleteObjects",
            what,
            mutating=True,
            Bucket=bucket,
            Delete={"Objects": keys[start : start + 1000], "Quiet": True},
        )

"""Container images for AgentCore: the repository's Dockerfile built by CodeBuild into ECR.

Pipeline role: the artifact step of `deploy: container`. The build context (the `Dockerfile`
at the workspace root plus the agent's files, in the workspace layout) is zipped and uploaded
to S3 under a content-addressed key; the image tag `<ref>-<hash>` is a hash of that content,
so an unchanged agent builds nothing (one DescribeImages call) and a tag never moves (the
repository is IMMUTABLE; never `latest`). One CodeBuild project (arm64, privileged for
docker) and its least-privilege service role per address, created on first build; the
build is started with the image URI as an override and polled until it ends, and the image
must then exist in ECR.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.errors import PermanentError
from engine.providers.agentcore.artifacts import (
    Artifact,
    content_hash,
    deterministic_zip,
    object_exists,
    upload,
)
from engine.providers.agentcore.aws import Aws, poll_until
from engine.providers.agentcore.iam import ensure_role
from engine.providers.agentcore.names import Names, tags_list
from engine.providers.agentcore.policies import build_policy, trust_policy
from engine.spec.digests import agent_files, file_digest
from engine.spec.schema import AgentSpec
from engine.spec.schema.environment import AwsSettings

BUILD_IMAGE = "aws/codebuild/amazonlinux2-aarch64-standard:3.0"
BUILDSPEC = """\
version: 0.2
phases:
  pre_build:
    commands:
      - >-
        aws ecr get-login-password --region "$AWS_DEFAULT_REGION"
        | docker login --username AWS --password-stdin "$REGISTRY"
  build:
    commands:
      - >-
        docker build --platform linux/arm64 --build-arg SOURCE_DIR="$SOURCE_DIR"
        --build-arg AGENT_ENTRYPOINT="$ENTRYPOINT" --build-arg REQUIREMENTS="$REQUIREMENTS"
        -t "$IMAGE_URI" .
      - docker push "$IMAGE_URI"
"""
_BUILD_DONE = {"SUCCEEDED", "FAILED", "FAULT", "STOPPED", "TIMED_OUT"}


def ensure_repository(aws: Aws, names: Names, settings: AwsSettings) -> dict[str, Any]:
    """The ECR repository: the environment's (used as-is) or one per address (ours)."""
    name = settings.ecr_repository or names.repository
    what = f"ECR repository {name}"
    found = aws.find("ecr", "DescribeRepositories", what, repositoryNames=[name])
    if found is not None:
        return dict(found["repositories"][0])
    if settings.ecr_repository:
        raise PermanentError(
            f"{what} (the environment's 'ecrRepository') does not exist",
            hint="create it, or remove 'ecrRepository' to let agentops create one per agent",
        )
    created = aws.call(
        "ecr",
        "CreateRepository",
        what,
        mutating=True,
        repositoryName=name,
        imageTagMutability="IMMUTABLE",  # tags are content hashes: they never move
        imageScanningConfiguration={"scanOnPush": True},
        tags=tags_list(names.tags()),
    )
    return dict(created["repository"])


def _image_exists(aws: Aws, repo: str, tag: str) -> bool:
    found = aws.find(
        "ecr",
        "DescribeImages",
        f"image {repo}:{tag}",
        repositoryName=repo,
        imageIds=[{"imageTag": tag}],
    )
    return bool(found and found.get("imageDetails"))


def ensure_image(
    aws: Aws, names: Names, root: Path, spec: AgentSpec, settings: AwsSettings, token: str
) -> Artifact:
    """The agent's image in ECR, built by CodeBuild only when its content is new."""
    dockerfile = root / "Dockerfile"
    if not dockerfile.is_file():
        raise PermanentError(
            f"deploy: container needs a Dockerfile at the workspace root ({dockerfile})",
            hint="add one (see the repository's Dockerfile), or use deploy: code",
        )
    if not spec.requirements:
        raise PermanentError(
            f"{names.address}: deploy: container needs the agent's 'requirements' (the "
            "Dockerfile installs them)",
            hint="add 'requirements: requirements.txt' (relative to 'source') to the Agent",
        )
    repo = ensure_repository(aws, names, settings)
    extra = {
        "dockerfile": file_digest(dockerfile),
        "source": spec.source,
        "entrypoint": spec.entrypoint,
        "requirements": spec.requirements,
    }
    content = content_hash(root, spec, extra)
    tag = names.image_tag(content)
    uri = f"{repo['repositoryUri']}:{tag}"
    if not _image_exists(aws, repo["repositoryName"], tag):
        _build(aws, names, root, spec, settings, repo, content, uri, token)
        if not _image_exists(aws, repo["repositoryName"], tag):
            raise PermanentError(
                f"CodeBuild project {names.build_project} succeeded but {uri} is not in ECR",
                hint="check the project's build log (docker push step)",
            )
    return Artifact(
        request={"containerConfiguration": {"containerUri": uri}},
        repository_arn=str(repo["repositoryArn"]),
    )


def _build(
    aws: Aws,
    names: Names,
    root: Path,
    spec: AgentSpec,
    settings: AwsSettings,
    repo: dict[str, Any],
    content: str,
    uri: str,
    token: str,
) -> None:
    bucket = settings.artifact_bucket
    key = names.context_key(content)
    if not object_exists(aws, bucket, key):
        entries = {"Dockerfile": (root / "Dockerfile").read_bytes()}
        for rel in agent_files(root, spec):
            entries[f"{spec.source}/{rel}"] = (root / spec.source / rel).read_bytes()
        upload(aws, names, bucket, key, deterministic_zip(entries))
    ensure_project(aws, names, bucket, str(repo["repositoryArn"]), settings.permissions_boundary)
    env = {
        "IMAGE_URI": uri,
        "REGISTRY": str(repo["repositoryUri"]).split("/", 1)[0],
        "SOURCE_DIR": spec.source,
        "ENTRYPOINT": spec.entrypoint,
        "REQUIREMENTS": spec.requirements or "",
    }
    what = f"CodeBuild project {names.build_project}"
    build = aws.call(
        "codebuild",
        "StartBuild",
        what,
        mutating=True,
        projectName=names.build_project,
        sourceTypeOverride="S3",
        sourceLocationOverride=f"{bucket}/{key}",
        environmentVariablesOverride=[
            {"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env.items()
        ],
        idempotencyToken=f"{token[:40]}-{content}",
    )["build"]
    final = poll_until(
        lambda: aws.call("codebuild", "BatchGetBuilds", what, ids=[build["id"]])["builds"][0],
        lambda b: b.get("buildStatus") in _BUILD_DONE,
        timeout=settings.ready_timeout,
        what=f"the image build {build['id']}",
        first=2.0,
        longest=15.0,
    )
    if final.get("buildStatus") != "SUCCEEDED":
        link = (final.get("logs") or {}).get("deepLink", "the CodeBuild console")
        raise PermanentError(
            f"building {uri} failed ({final.get('buildStatus')}) in {what}",
            hint=f"see the build log: {link}",
        )


def ensure_project(
    aws: Aws, names: Names, bucket: str, repo_arn: str, boundary: str | None = None
) -> None:
    """One CodeBuild project (and service role) per address, created on first build."""
    what = f"CodeBuild project {names.build_project}"
    found = aws.call("codebuild", "BatchGetProjects", what, names=[names.build_project])
    if found.get("projects"):
        tags = {t["key"]: t["value"] for t in found["projects"][0].get("tags", [])}
        if not names.owns(tags):
            raise PermanentError(
                f"{what} exists and was not created by this workspace for {names.address}",
                hint="delete or rename it; agentops never adopts resources it does not own",
            )
        return
    trust = trust_policy("codebuild.amazonaws.com", aws.account_id(), None)
    policy = build_policy(aws, names.build_project, bucket, names.s3_prefix, repo_arn)
    role_arn, _ = ensure_role(
        aws,
        names,
        names.build_role,
        trust,
        policy,
        f"agentops image builds for {names.address}",
        boundary,
    )
    aws.call(
        "codebuild",
        "CreateProject",
        what,
        mutating=True,
        name=names.build_project,
        description=f"agentops image builds for {names.address}",
        source={"type": "S3", "location": f"{bucket}/{names.s3_prefix}", "buildspec": BUILDSPEC},
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "ARM_CONTAINER",
            "image": BUILD_IMAGE,
            "computeType": "BUILD_GENERAL1_SMALL",
            "privilegedMode": True,  # docker build needs it
        },
        serviceRole=role_arn,
        tags=tags_list(names.tags(), "key", "value"),
    )

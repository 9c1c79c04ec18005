"""`deploy: container`: CodeBuild builds the repository's Dockerfile into ECR, tagged by content.

moto's CodeBuild executes nothing; conftest.patch_moto_codebuild makes a started build
register the image named by its IMAGE_URI override in moto's ECR, as the buildspec's
`docker push` would.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from engine.providers.agentcore.names import names_for

from .conftest import REGION
from .helpers import apply_all, control, plan, put_secret, state, workspace

pytestmark = pytest.mark.usefixtures("aws")
SPECIALIST = "agent.specialist[prd]"


def builds(project: str) -> list[str]:
    return boto3.client("codebuild", region_name=REGION).list_builds_for_project(
        projectName=project
    )["ids"]


def test_container_deploy_builds_once_per_content(tmp_path: Path) -> None:
    workspace(tmp_path, deploy="container", orchestrator=False)
    put_secret()
    apply_all(tmp_path)
    st = state(tmp_path)
    names = names_for(SPECIALIST, st.workspace_id)
    runtime = control().get_agent_runtime(agentRuntimeId=st.resources[SPECIALIST].provider_id)
    uri = runtime["agentRuntimeArtifact"]["containerConfiguration"]["containerUri"]
    repo, tag = uri.rsplit(":", 1)
    assert repo.endswith("/" + names.repository) and tag.startswith(names.ref + "-")
    assert tag != "latest"
    ecr = boto3.client("ecr", region_name=REGION)
    assert (
        ecr.describe_repositories(repositoryNames=[names.repository])["repositories"][0][
            "imageTagMutability"
        ]
        == "IMMUTABLE"
    )
    assert len(builds(names.build_project)) == 1
    # ECR pull on exactly this repository for the runtime's role.
    doc = boto3.client("iam", region_name=REGION).get_role_policy(
        RoleName=names.role, PolicyName="agentops"
    )["PolicyDocument"]
    pull = next(s for s in doc["Statement"] if s.get("Sid") == "ImagePull")
    assert pull["Resource"].endswith(f":repository/{names.repository}")

    # Unchanged content: no build. A prompt change: no build either (not in the image).
    workspace(tmp_path, deploy="container", orchestrator=False, prompt="Be brief.")
    apply_all(tmp_path)
    assert len(builds(names.build_project)) == 1
    assert not plan(tmp_path).has_changes
    # A code change: one new image, new tag.
    (tmp_path / "src/specialist/app.py").write_text("# v2\n")
    apply_all(tmp_path)
    assert len(builds(names.build_project)) == 2
    images = ecr.list_images(repositoryName=names.repository)["imageIds"]
    assert len({i["imageTag"] for i in images}) == 2

    apply_all(tmp_path, destroy=True)
    assert ecr.describe_repositories()["repositories"] == []
    assert boto3.client("codebuild", region_name=REGION).list_projects()["projects"] == []
    assert boto3.client("iam", region_name=REGION).list_roles()["Roles"] == []


def test_a_shared_repository_keeps_everything_but_our_images(tmp_path: Path) -> None:
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName="team/agents")
    manifest = '{"schemaVersion": 2, "config": {}, "layers": []}'
    ecr.put_image(
        repositoryName="team/agents",
        imageManifest=manifest,
        imageTag="theirs-1",
        imageManifestMediaType="application/vnd.docker.distribution.manifest.v2+json",
    )
    workspace(
        tmp_path, deploy="container", orchestrator=False, extra="    ecrRepository: team/agents\n"
    )
    put_secret()
    apply_all(tmp_path)
    tags = {i["imageTag"] for i in ecr.list_images(repositoryName="team/agents")["imageIds"]}
    assert len(tags) == 2
    apply_all(tmp_path, destroy=True)
    tags = {i["imageTag"] for i in ecr.list_images(repositoryName="team/agents")["imageIds"]}
    assert tags == {"theirs-1"}


def test_a_missing_dockerfile_is_a_clear_error(tmp_path: Path) -> None:
    workspace(tmp_path, deploy="container", orchestrator=False)
    (tmp_path / "Dockerfile").unlink()
    put_secret()
    with pytest.raises(AssertionError, match="needs a Dockerfile"):
        apply_all(tmp_path)

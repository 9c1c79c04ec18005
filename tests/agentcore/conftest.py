"""Fixtures for the AgentCore provider tests: moto in-process and as a threaded HTTP server.

Everything here is offline: fake credentials, no config files, every AWS call answered by moto
(`mock_aws` in-process, or `ThreadedMotoServer` on 127.0.0.1 for CLI subprocesses). See
`tests/agentcore/__init__.py` for where moto differs from AWS and how the tests adapt.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

REGION = "us-east-1"
BUCKET = "agentops-artifacts-test"


@pytest.fixture(autouse=True)
def fake_aws_env(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Fake credentials only, and nothing read from ~/.aws (no profile, no SSO, no IMDS).

    Except for the opt-in live tests (`pytest -m live`), which use the caller's credentials.
    """
    if request.node.get_closest_marker("live"):
        return
    empty = tmp_path_factory.mktemp("aws-config") / "none"
    empty.write_text("")
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # moto answers 500 for what it does not implement; do not let botocore retry those.
    monkeypatch.setenv("AGENTOPS_AWS_MAX_ATTEMPTS", "2")


def patch_moto_transitions() -> None:
    """Make moto settle updates like AWS does (idempotent; see the package docstring).

    moto 5.2.5 only models CREATING -> READY: after UpdateAgentRuntime a runtime stays
    UPDATING forever, and UpdateAgentRuntimeEndpoint leaves the endpoint UPDATING with its
    old liveVersion. AWS moves both to READY, the endpoint serving the new version. The
    patch lives in this process, so it also holds for a ThreadedMotoServer started here.
    """
    from moto.bedrockagentcorecontrol import models

    if getattr(models, "_agentops_patched", False):
        return
    transitions = [("CREATING", "READY"), ("UPDATING", "READY")]
    runtime_init = models.AgentRuntime.__init__
    endpoint_init = models.AgentRuntimeEndpoint.__init__
    endpoint_update = models.AgentRuntimeEndpoint.update

    def runtime_init_settling(self: Any, *args: Any, **kwargs: Any) -> None:
        runtime_init(self, *args, **kwargs)
        self._transitions = transitions

    def endpoint_init_settling(self: Any, *args: Any, **kwargs: Any) -> None:
        endpoint_init(self, *args, **kwargs)
        self._transitions = transitions

    def endpoint_update_switching(self: Any, *args: Any, **kwargs: Any) -> None:
        endpoint_update(self, *args, **kwargs)
        self.live_version = self.target_version

    models.AgentRuntime.__init__ = runtime_init_settling
    models.AgentRuntimeEndpoint.__init__ = endpoint_init_settling
    models.AgentRuntimeEndpoint.update = endpoint_update_switching
    models._agentops_patched = True


def patch_moto_codebuild() -> None:
    """moto's CodeBuild runs nothing: make a started build "push" its IMAGE_URI into moto's ECR.

    The provider passes the image to build as the `IMAGE_URI` override (what the real
    buildspec pushes); the fake reads it from the request and registers the image.
    """
    import json

    from moto.codebuild import responses
    from moto.ecr.models import ecr_backends

    if getattr(responses, "_agentops_patched", False):
        return
    start_build = responses.CodeBuildResponse.start_build

    def start_build_and_push(self: Any) -> Any:
        result = start_build(self)
        overrides = self._get_param("environmentVariablesOverride") or []
        uri = next((o["value"] for o in overrides if o["name"] == "IMAGE_URI"), None)
        if uri:
            registry_repo, tag = uri.rsplit(":", 1)
            repo = registry_repo.split("/", 1)[1]
            manifest = json.dumps(
                {
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"digest": "sha256:" + "0" * 64},
                    "layers": [],
                    "tag": tag,
                }
            )
            backend = ecr_backends[self.current_account][self.region]
            backend.put_image(repo, manifest, tag)
        return result

    responses.CodeBuildResponse.start_build = start_build_and_push
    responses._agentops_patched = True


@pytest.fixture(autouse=True)
def moto_like_aws(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("live"):
        return
    patch_moto_transitions()
    patch_moto_codebuild()


@pytest.fixture
def aws() -> Iterator[None]:
    """In-process moto with the artifact bucket created."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real HTTP endpoint (127.0.0.1, random port) in this process, for CLI subprocesses."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def reset_server(url: str) -> None:
    """An empty moto world with just the artifact bucket."""
    import boto3

    req = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback moto
    boto3.client("s3", region_name=REGION, endpoint_url=url).create_bucket(Bucket=BUCKET)


@pytest.fixture
def server(moto_server: str) -> Iterator[str]:
    """The moto server, reset, with the artifact bucket."""
    patch_moto_transitions()
    patch_moto_codebuild()
    reset_server(moto_server)
    yield moto_server

"""Shared pytest options and fixtures (keep additive: other suites add theirs here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite golden files (e.g. tests/corpus/validate/*/expected.txt) from the "
        "current output; review the diff before committing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run was started with --update-golden."""
    return bool(request.config.getoption("--update-golden"))


# --- S3 state (issue 15): a moto server on 127.0.0.1 and a fresh bucket per test ---------
@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A ThreadedMotoServer in this process (see tests/state/s3util.py for what it models)."""
    from tests.state.s3util import start_server

    server = start_server()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_env(
    s3_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """Fake credentials, nothing read from ~/.aws, every S3 request to the moto server."""
    empty = tmp_path_factory.mktemp("aws-config") / "none"
    empty.write_text("")
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("AGENTOPS_STATE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server)
    monkeypatch.setenv("AGENTOPS_AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AGENTOPS_STATE_LEASE", "5")
    return s3_server


@pytest.fixture
def s3_state(s3_env: str) -> str:
    """`s3://<a fresh versioned bucket>/team/workspace` on the moto server."""
    from tests.state.s3util import new_bucket

    return f"s3://{new_bucket(s3_env)}/team/workspace"


# --- the validate result cache (issue 17) -------------------------------------------------
@pytest.fixture(autouse=True)
def _no_validate_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see full `validate` runs (and write no `.agentops/cache` into the corpus);
    tests/unit/cli/test_validate_cache.py turns it back on."""
    monkeypatch.setenv("AGENTOPS_VALIDATE_CACHE", "0")

"""End to end through the CLI: an Environment with `store: langfuse` pointed at the double.

`agentops apply --auto-approve` syncs the dataset, `plan` afterwards says "No changes.", and
no key value ever reaches stdout, stderr, the state directory or the request log's errors.
Keys come from `env:` references, and from SSM (`ssm:` references, moto) like the seed's
`/langfuse/LANGFUSE_*` parameters.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers import secret_refs
from tests.langfuse.double import LangfuseDouble
from tests.langfuse.helpers import SK_VAR, Keys, items, lf_workspace


def run(ws: Path, *args: str) -> int:
    return main(["-C", str(ws), *args])


def assert_no_secrets(keys: Keys, ws: Path, *texts: str) -> None:
    for text in texts:
        assert keys.secret not in text
        assert keys.public not in text
    for path in (ws / ".agentops").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert keys.secret.encode() not in data, path
            assert keys.public.encode() not in data, path


def test_apply_then_plan_is_no_changes(
    tmp_path: Path, double: LangfuseDouble, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = lf_workspace(tmp_path / "ws", double.url, items(7))
    assert run(ws, "plan", "--detailed-exitcode") == 2
    assert run(ws, "apply", "--auto-approve") == 0
    first = capsys.readouterr()
    assert "Apply complete: 1 succeeded, 0 failed, 0 skipped" in first.out
    assert len(double.dataset_items("tst/golden")) == 7
    double.clear_log()
    assert run(ws, "plan", "--detailed-exitcode") == 0
    second = capsys.readouterr()
    assert second.out.strip() == "No changes."
    assert double.item_writes() == []
    assert_no_secrets(keys, ws, first.out, first.err, second.out, second.err)


def test_wrong_keys_are_a_clear_error_without_secrets(
    tmp_path: Path,
    double: LangfuseDouble,
    keys: Keys,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = lf_workspace(tmp_path / "ws", double.url, items(2))
    assert run(ws, "apply", "--auto-approve") == 0
    monkeypatch.setenv(SK_VAR, "sk-lf-not-the-right-one")
    capsys.readouterr()
    assert run(ws, "plan") == 1
    out = capsys.readouterr()
    assert "error: environment 'tst': Langfuse at http://127.0.0.1:" in out.err
    assert (
        f"rejected the API keys (HTTP 401) - publicKey env:LANGFUSE_TEST_PK, secretKey env:{SK_VAR}"
        in out.err
    )
    assert "sk-lf-not-the-right-one" not in out.err + out.out
    assert_no_secrets(keys, ws, out.out, out.err)


def test_a_missing_key_variable_names_the_reference(
    tmp_path: Path,
    double: LangfuseDouble,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = lf_workspace(tmp_path / "ws", double.url, items(1))
    monkeypatch.delenv(SK_VAR)
    assert run(ws, "apply", "--auto-approve") == 1
    out = capsys.readouterr().err
    # plan's preflight names the field before anything is observed or applied
    assert f"spec.langfuse.secretKey (for tst) references env:{SK_VAR}, which is not set" in out
    assert double.requests == []


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }.items():
        monkeypatch.setenv(var, value)
    secret_refs.reset_clients()


def ssm_environment(ws: Path) -> None:
    # the seed's parameters: /langfuse/LANGFUSE_{HOST,PUBLIC_KEY,SECRET_KEY}
    (ws / "environments" / "tst.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: agentops/v1
            kind: Environment
            metadata: {name: tst}
            spec:
              store: langfuse
              aws: {region: us-west-2, artifactBucket: my-artifacts}
              langfuse:
                host: ssm:/langfuse/LANGFUSE_HOST
                publicKey: ssm:/langfuse/LANGFUSE_PUBLIC_KEY
                secretKey: ssm:/langfuse/LANGFUSE_SECRET_KEY
            """
        )
    )


@pytest.mark.usefixtures("aws")
def test_keys_and_host_from_ssm(
    tmp_path: Path, double: LangfuseDouble, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    ws = lf_workspace(tmp_path / "ws", "unused", items(3))
    ssm_environment(ws)
    with mock_aws():
        import boto3

        ssm = boto3.client("ssm", region_name="us-west-2")
        ssm.put_parameter(Name="/langfuse/LANGFUSE_HOST", Value=double.url, Type="String")
        ssm.put_parameter(Name="/langfuse/LANGFUSE_PUBLIC_KEY", Value=keys.public, Type="String")
        ssm.put_parameter(
            Name="/langfuse/LANGFUSE_SECRET_KEY", Value=keys.secret, Type="SecureString"
        )
        assert run(ws, "apply", "--auto-approve") == 0
        assert run(ws, "plan", "--detailed-exitcode") == 0
    out = capsys.readouterr()
    assert len(double.dataset_items("tst/golden")) == 3
    assert out.out.rstrip().endswith("No changes.")
    assert_no_secrets(keys, ws, out.out, out.err)
    # a host kept in SSM is shown as its reference, in output and in state alike
    assert "ssm:/langfuse/LANGFUSE_HOST dataset tst/golden" in out.out
    assert double.url not in out.out + out.err
    for path in (ws / ".agentops").rglob("*"):
        assert not path.is_file() or double.url.encode() not in path.read_bytes(), path


@pytest.mark.usefixtures("aws")
def test_a_missing_ssm_parameter_is_named(
    tmp_path: Path, double: LangfuseDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    ws = lf_workspace(tmp_path / "ws", "unused", items(1))
    ssm_environment(ws)
    with mock_aws():
        assert run(ws, "apply", "--auto-approve") == 1
    out = capsys.readouterr().err
    assert (
        "environments/tst.yaml:8:11: error: environment.tst: spec.langfuse.host (for tst) "
        "references ssm:/langfuse/LANGFUSE_HOST, which does not exist in SSM" in out
    )
    assert double.requests == []

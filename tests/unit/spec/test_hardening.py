"""Hardening of the spec language (issue 19): confinement, unreadable source trees, secrets.

The corpus (tests/corpus/validate) holds the exact messages for paths outside the workspace,
escaping and dangling symlinks, deep nesting, tags, NaN and absurd durations; what git cannot
store (FIFOs, sockets, unreadable files) or what is only a warning is tested here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.spec.paths import ALLOW_OUTSIDE_ENV
from engine.spec.workspace import load_workspace
from tests.reconciler.util import write

REPO = Path(__file__).resolve().parents[3]

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: dev}
spec:
  models: {fast: "offline:keyword"}
"""


def agent(extra: str = "") -> str:
    return (
        "apiVersion: agentops/v1\nkind: Agent\nmetadata: {name: bot}\n"
        "spec:\n  source: src\n  entrypoint: app.py\n  model: fast\n" + extra
    )


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path, "environments/dev.yaml", ENV)
    write(tmp_path, "src/app.py", "def app(): pass\n")
    return tmp_path


def lines(root: Path) -> list[str]:
    return [d.format() for d in load_workspace(root).diagnostics]


def test_a_fifo_in_the_source_is_skipped_with_a_warning_and_plan_does_not_die(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(root / "src" / "pipe")
    os.symlink("missing.py", root / "src" / "gone.py")
    write(root, "specs/bot.yaml", agent())
    assert lines(root) == [
        "specs/bot.yaml:5:11: warning: agent.bot: spec.source: skipped 'src/gone.py': it is a "
        "dangling symbolic link (its target does not exist) (remove it from the source folder, "
        "or narrow spec.include so it does not match)",
        "specs/bot.yaml:5:11: warning: agent.bot: spec.source: skipped 'src/pipe': it is a FIFO "
        "(named pipe), not a regular file (remove it from the source folder, or narrow "
        "spec.include so it does not match)",
    ]
    assert main(["-C", str(root), "plan"]) == 0  # before: internal error: FileNotFoundError
    assert "+ agent.bot[dev]" in capsys.readouterr().out


def test_special_files_named_by_an_include_pattern_are_errors(root: Path) -> None:
    os.mkfifo(root / "src" / "pipe")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "src" / "s.sock"))
    try:
        write(root, "specs/bot.yaml", agent("  include: ['*.py', pipe, s.sock]\n"))
        assert lines(root) == [
            "specs/bot.yaml:5:11: error: agent.bot: spec.source: 'src/pipe' is a FIFO (named "
            "pipe), not a regular file (remove it from the source folder, or narrow spec.include "
            "so it does not match)",
            "specs/bot.yaml:5:11: error: agent.bot: spec.source: 'src/s.sock' is a socket, not a "
            "regular file (remove it from the source folder, or narrow spec.include so it does "
            "not match)",
        ]
    finally:
        sock.close()


def test_an_unreadable_source_file_is_named(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = root / "src" / "app.py"
    target.chmod(0)
    if os.geteuid() == 0:  # root reads any file: answer as the kernel would for anyone else
        from engine.spec import source_tree

        real = os.access
        monkeypatch.setattr(
            source_tree.os,
            "access",
            lambda p, mode, **kw: False if Path(p) == target else real(p, mode, **kw),
        )
    write(root, "specs/bot.yaml", agent("  include: [app.py]\n"))
    assert any("'src/app.py' cannot be read" in line for line in lines(root))


def test_fifos_and_devices_named_by_a_field_are_named_as_such(root: Path) -> None:
    os.mkfifo(root / "prompt.md")
    write(root, "specs/bot.yaml", agent("  systemPromptFile: prompt.md\n"))
    assert lines(root) == [
        "specs/bot.yaml:8:21: error: agent.bot: system prompt file 'prompt.md' is a FIFO (named "
        "pipe), not a file (fix the path)"
    ]
    (root / "prompt.md").unlink()
    write(root, "specs/bot.yaml", agent("  systemPromptFile: /dev/zero\n"))
    assert lines(root) == [
        "specs/bot.yaml:8:21: error: agent.bot: spec.systemPromptFile: system prompt file "
        "'/dev/zero' is outside the workspace (paths in specs must stay inside the workspace "
        "root; see docs/security.md)"
    ]


def test_a_fifo_as_a_spec_file_does_not_block(root: Path) -> None:
    os.mkfifo(root / "specs.yaml")
    assert main(["-C", str(root), "validate", "specs.yaml"]) == 1


def test_plan_with_etc_passwd_as_system_prompt_never_prints_it(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(root, "specs/bot.yaml", agent("  systemPromptFile: /etc/passwd\n"))
    os.symlink("/etc/passwd", root / "prompt.md")
    write(root, "specs/other.yaml", agent("  systemPromptFile: prompt.md\n").replace("bot", "b2"))
    passwd = Path("/etc/passwd").read_text().splitlines()[0]
    for command in (["plan"], ["plan", "--output", "json"], ["apply", "--auto-approve"]):
        assert main(["-C", str(root), *command]) == 1
        out, err = capsys.readouterr()
        assert passwd not in out + err
        assert "is outside the workspace" in err
        assert "symbolic link that leads outside the workspace" in err


def test_the_opt_in_lets_a_trusted_setup_reach_outside(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(root.parent / "shared", "prompt.md", "be nice\n")
    write(root, "specs/bot.yaml", agent("  systemPromptFile: ../shared/prompt.md\n"))
    assert "is outside the workspace" in " ".join(lines(root))
    monkeypatch.setenv(ALLOW_OUTSIDE_ENV, "1")
    assert lines(root) == []


def test_30000_nested_brackets_give_a_diagnostic_not_a_segfault(tmp_path: Path) -> None:
    """In a subprocess: a segfault must fail this test, not kill pytest."""
    write(tmp_path, "environments/dev.yaml", ENV)
    for name, body in (("flow", "[" * 30_000 + "]" * 30_000), ("block", "- " * 30_000 + "x")):
        (tmp_path / "specs").mkdir(exist_ok=True)
        (tmp_path / "specs" / "deep.yaml").write_text(f"a: {body}\n" if name == "flow" else body)
        proc = subprocess.run(
            [sys.executable, "-m", "engine.cli", "-C", str(tmp_path), "validate"],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            check=False,
        )
        assert proc.returncode == 1, (name, proc.returncode, proc.stderr[-500:])
        assert "nesting deeper than 100 levels" in proc.stderr, name


def test_validate_warns_about_unset_env_secrets(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    write(root, "specs/bot.yaml", agent("  secrets: {TOKEN: 'env:BOT_TOKEN'}\n"))
    assert main(["-C", str(root), "validate"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "specs/bot.yaml:8:20: warning: agent.bot: spec.secrets.TOKEN references env:BOT_TOKEN, "
        "which is not set here (export BOT_TOKEN before plan and apply; plan fails without it)"
    ]
    assert main(["-C", str(root), "plan"]) == 1
    err = capsys.readouterr().err
    assert (
        "specs/bot.yaml:8:20: error: agent.bot: spec.secrets.TOKEN (for dev) references "
        "env:BOT_TOKEN, which is not set (export BOT_TOKEN before running agentops (or use an "
        "ssm:/path reference))"
    ) in err.splitlines()
    monkeypatch.setenv("BOT_TOKEN", "tok-value-123")
    assert main(["-C", str(root), "validate"]) == 0
    assert main(["-C", str(root), "plan"]) == 0
    out, err = capsys.readouterr()
    assert "tok-value-123" not in out + err


def test_plan_reads_ssm_references_only_of_the_planned_environments(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from moto import mock_aws

    from engine.providers.secret_refs import reset_clients

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(var, "testing")
    for env in ("dev", "prd"):
        write(root, f"environments/{env}.yaml", ENV.replace("dev", env))
        with (root / f"environments/{env}.yaml").open("a") as f:
            f.write("  aws: {region: eu-west-1, artifactBucket: bucket}\n")
    write(
        root,
        "specs/dev.yaml",
        agent("  secrets: {TOKEN: 'ssm:/dev/token'}\n  environments: [dev]\n"),
    )
    write(
        root,
        "specs/prd.yaml",
        agent("  secrets: {TOKEN: 'ssm:/prd/token'}\n  environments: [prd]\n").replace(
            "name: bot", "name: prd-bot"
        ),
    )
    reset_clients()
    try:
        with mock_aws():
            import boto3

            client = boto3.client("ssm", region_name="eu-west-1")
            client.put_parameter(Name="/dev/token", Value="dev-secret-value", Type="SecureString")
            assert main(["-C", str(root), "plan", "--env", "dev"]) == 0
            out, err = capsys.readouterr()
            assert "prd" not in err and "dev-secret-value" not in out + err
            assert main(["-C", str(root), "plan"]) == 1
            out, err = capsys.readouterr()
            assert err.splitlines()[0] == (
                "specs/prd.yaml:8:20: error: agent.prd-bot: spec.secrets.TOKEN (for prd) "
                "references ssm:/prd/token, which does not exist in SSM (create it: aws ssm "
                "put-parameter --name /prd/token --type SecureString --value ...)"
            )
            assert "dev-secret-value" not in out + err
    finally:
        reset_clients()


def test_texts_past_the_size_limit_are_refused_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.spec import yaml_guard
    from engine.spec.loader import load_text

    monkeypatch.setattr(yaml_guard, "MAX_YAML_CHARS", 1024 * 1024)
    docs, diags = load_text("a: " + "x" * (1024 * 1024), "big.yaml")
    assert docs == []
    assert [d.format() for d in diags] == [
        "big.yaml:1:1: error: file is larger than 1 MB of text (split it into several files; "
        "specs are small)"
    ]

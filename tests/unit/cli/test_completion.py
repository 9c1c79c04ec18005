"""`agentops completion SHELL`: a completion script generated from the real parser."""

from __future__ import annotations

import subprocess

import pytest

from engine.cli import main


def script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


def complete(bash_script: str, line: str) -> list[str]:
    """What bash offers for `line` (the word under the cursor is its last one)."""
    words = line.split(" ")
    program = f"""
{bash_script}
COMP_WORDS=({" ".join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT=${{#COMP_LINE}}
_shtab_agentops
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return sorted(done.stdout.split())


def test_bash_completes_commands_nested_commands_options_and_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bash = script("bash", capsys)
    subprocess.run(["bash", "-n"], input=bash, text=True, check=True)
    assert complete(bash, "agentops st") == ["state", "status"]
    assert {"list", "rm", "mv", "show"} <= set(complete(bash, "agentops state "))
    assert complete(bash, "agentops plan --log-format ") == ["console", "json", "plain"]
    assert "--detailed-exitcode" in complete(bash, "agentops plan --det")
    assert complete(bash, "agentops completion ") == ["bash", "tcsh", "zsh"]


def test_zsh_and_tcsh_scripts_name_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for shell in ("zsh", "tcsh"):
        text = script(shell, capsys)
        for command in ("validate", "plan", "apply", "watch", "completion"):
            assert command in text, (shell, command)


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    assert exc.value.code == 2
    assert "invalid choice: 'fish'" in capsys.readouterr().err

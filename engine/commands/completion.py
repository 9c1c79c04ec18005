"""`agentops completion {bash,zsh,tcsh}`: a shell completion script, generated from the parser.

Pipeline role: CLI glue with no engine dependency. shtab walks the argparse parser (every
command, nested group, option and choice) and prints a static script, so completing costs
the shell nothing at TAB time and `agentops` itself nothing at start-up (shtab is imported
only here). Install it once, e.g. `agentops completion bash > ~/.local/share/bash-completion/
completions/agentops`, or `eval "$(agentops completion bash)"` in ~/.bashrc.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.commands.common import AddGlobal

SHELLS = ("bash", "zsh", "tcsh")


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or tcsh)",
        description='Print a completion script for SHELL; e.g. eval "$(agentops completion '
        'bash)" in ~/.bashrc, or save it where your shell loads completions from.',
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete for")
    add_global(p)
    p.set_defaults(handler=cmd_completion)


def cmd_completion(args: argparse.Namespace) -> int:
    import shtab

    root: argparse.ArgumentParser = args.root_parser
    sys.stdout.write(shtab.complete(root, shell=args.shell))
    return 0

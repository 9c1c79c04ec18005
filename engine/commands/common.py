"""Helpers shared by commands: loading a valid workspace, printing diagnostics."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported lazily: `agentops --help` must not pay for pydantic
    from engine.spec.diagnostics import Diagnostic
    from engine.spec.workspace import Workspace
    from engine.state.store import StateStore

AddGlobal = Callable[[argparse.ArgumentParser], None]


def use_color(stream: object = sys.stderr) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def print_diagnostics(diags: Sequence[Diagnostic]) -> None:
    for line in format_diagnostics(diags, color=use_color(sys.stderr)):
        print(line, file=sys.stderr)


def format_diagnostics(diags: Sequence[Diagnostic], *, color: bool) -> list[str]:
    """One line per diagnostic, the severity in red when `color`."""
    lines = []
    for d in diags:
        line = d.format()
        if color:
            line = line.replace(
                f": {d.severity.value}: ", f": \x1b[31m{d.severity.value}\x1b[0m: ", 1
            )
        lines.append(line)
    return lines


def load_valid_workspace(root: Path) -> Workspace:
    """The workspace, or WorkspaceInvalid after printing every diagnostic."""
    from engine.errors import WorkspaceInvalid
    from engine.spec.workspace import load_workspace

    ws = load_workspace(root)
    if not ws.ok:
        print_diagnostics(ws.diagnostics)
        raise WorkspaceInvalid(ws.diagnostics)
    return ws


def state_store(args: argparse.Namespace) -> StateStore:
    """The StateStore the command line asks for (--state, AGENTOPS_STATE, agentops.yaml)."""
    from engine.state.backend import store_for

    return store_for(args.workspace, getattr(args, "state", None))


def print_notes(store: StateStore) -> None:
    """What the store wants a person to know (e.g. a bucket without versioning)."""
    for note in dict.fromkeys(store.notes):
        print(f"note: {note}", file=sys.stderr)

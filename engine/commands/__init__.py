"""One module per CLI command group; each has `register(subparsers, add_global)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

SubParsers = "argparse._SubParsersAction[argparse.ArgumentParser]"
AddGlobal = Callable[[argparse.ArgumentParser], None]


def register_all(sub: Any, add_global: AddGlobal) -> None:
    from engine.commands import (
        completion,
        evaluation,
        fmt,
        invoke,
        logs,
        monitoring,
        operate,
        preview,
        reconcile,
        state,
        validate,
        watch,
    )

    for module in (
        validate,
        fmt,
        reconcile,
        operate,
        state,
        logs,
        invoke,
        watch,
        evaluation,
        monitoring,
        preview,
        completion,
    ):
        module.register(sub, add_global)

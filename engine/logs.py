"""Structured logs (structlog) of `agentops watch`: readable lines, or JSON lines on request.

`--log-format json` is the only way to JSON: a pipe, make or CI get the same readable lines
as a terminal (without colours), like every other command's output (engine.terminal).
"""

from __future__ import annotations

import os
import sys
from typing import Any


def make_logger(log_format: str | None) -> Any:
    import structlog

    fmt = "json" if log_format == "json" else "console"
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        processors += [
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(sort_keys=True),
        ]
    else:
        processors.append(
            structlog.dev.ConsoleRenderer(
                colors=log_format != "plain"
                and sys.stderr.isatty()
                and not os.environ.get("NO_COLOR"),
                pad_event_to=16,
            )
        )
    return structlog.wrap_logger(
        structlog.PrintLogger(file=sys.stderr),
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(20),
        cache_logger_on_first_use=False,
    )

"""Structured logs (structlog): console lines on a TTY, JSON lines in CI or on request."""

from __future__ import annotations

import os
import sys
from typing import Any


def make_logger(log_format: str | None) -> Any:
    import structlog

    fmt = log_format or (
        "json" if os.environ.get("CI") == "true" or not sys.stderr.isatty() else "console"
    )
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
                colors=sys.stderr.isatty() and not os.environ.get("NO_COLOR"), pad_event_to=16
            )
        )
    return structlog.wrap_logger(
        structlog.PrintLogger(file=sys.stderr),
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(20),
        cache_logger_on_first_use=False,
    )

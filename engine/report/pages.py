"""Pages from Jinja2 templates: one environment, autoescaped, templates in this package.

Pipeline role: `render_page("gate.html.j2", title=..., **context)` renders a report page that
extends `base.html.j2` (head, the shared CSS, `<main>`). Templates live in
`engine/report/templates/`; values are escaped unless a caller passes `Markup` (charts).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("engine.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["score"] = _score
    env.filters["ms"] = _ms
    return env


def render_page(template: str, **context: Any) -> str:
    """The whole page (a `str` ending in a newline)."""
    return environment().get_template(template).render(**context)


def _score(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value / 1000:.2f} s" if value >= 10_000 else f"{value:.0f} ms"

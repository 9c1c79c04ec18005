"""Vega-Lite charts rendered to inline SVG, offline.

Pipeline role: reports declare each chart as a Vega-Lite spec (a plain dict: data + marks +
encodings, testable as data) and this module renders it with vl-convert, which embeds the Vega
and Vega-Lite libraries and a JavaScript runtime in its wheel: no browser, no network, no
script in the page. The page stays one static file that prints, screenshots and opens with
scripts disabled. Why not Plotly or a Vega bundle in the page: ~1-4 MB of JavaScript per report
and a blank chart until it ran.

The first chart of a process starts vl-convert's runtime (~0.4 s); later ones take tens of ms.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

#: the Vega-Lite version the specs are written for (vl-convert ships several)
VEGA_LITE_VERSION = "5.20"

#: Arial's metrics: vl-convert lays every label out with the widths of the first font it
#: finds, and the browser draws it with the first font *it* finds; with `system-ui` those
#: differ (Liberation Sans vs DejaVu Sans on Linux) and long axis labels were cut off at the
#: chart's edge. Arial, or its metric twin Liberation Sans, measures the same in both.
FONT = "Arial, 'Liberation Sans', Helvetica, sans-serif"

#: shared look: the font and colours, no chart border, readable axis labels
THEME: dict[str, Any] = {
    "background": "white",
    "font": FONT,
    "view": {"stroke": None},
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": 600,
        "gridColor": "#eef0f3",
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "top"},
    "title": {"fontSize": 13, "anchor": "start", "fontWeight": 600},
    "range": {
        "category": ["#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d"]
    },
}

#: colours with a meaning on every page
PASS = "#15803d"
FAIL = "#b91c1c"
WARN = "#b45309"
MUTED = "#9ca3af"

_SIZE = re.compile(r'^<svg([^>]*?) class="marks" width="([\d.]+)" height="([\d.]+)"')


def chart_svg(spec: Mapping[str, Any]) -> str:
    """The SVG markup of one Vega-Lite spec (the theme applied unless the spec sets `config`).

    The SVG keeps its viewBox and loses its fixed width and height, so CSS scales it to the
    card's width (`svg.chart{width:100%;height:auto}`): full width on a desktop; on a phone
    (base.html.j2) no narrower than its natural width `--w`, scrolling sideways in its
    figure, so labels keep their size instead of shrinking to a third.
    """
    import vl_convert  # deferred: only report writers pay for the runtime

    major = VEGA_LITE_VERSION.split(".")[0]
    full: dict[str, Any] = {"$schema": f"https://vega.github.io/schema/vega-lite/v{major}.json"}
    full.update(spec)
    full.setdefault("config", THEME)
    svg = vl_convert.vegalite_to_svg(full, vl_version=VEGA_LITE_VERSION)
    return _SIZE.sub(_scalable, svg, count=1)


def _scalable(m: re.Match[str]) -> str:
    rest, width, height = m.groups()
    return (
        f'<svg{rest} class="marks chart" data-width="{width}" data-height="{height}"'
        f' style="max-width:{width}px;--w:{width}px"'
    )


def chart(spec: Mapping[str, Any], *, label: str) -> Markup:
    """A chart for a template: the SVG in a `<figure>` with an accessible label."""
    svg = chart_svg(spec).replace("<svg", f'<svg role="img" aria-label="{_attr(label)}"', 1)
    return Markup(f"<figure class='chart'>{svg}</figure>")


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")

"""The shared report toolkit: a Vega-Lite spec becomes scalable inline SVG; pages escape."""

from __future__ import annotations

from markupsafe import Markup

from engine.report import chart, chart_svg, render_page
from engine.report.pages import environment

SPEC = {
    "width": 600,
    "height": 120,
    "data": {"values": [{"t": 0, "v": 1.0}, {"t": 1, "v": 3.0}]},
    "layer": [
        {
            "mark": "line",
            "encoding": {
                "x": {"field": "t", "type": "quantitative"},
                "y": {"field": "v", "type": "quantitative"},
            },
        },
        {"mark": {"type": "rule", "color": "red"}, "encoding": {"y": {"datum": 2}}},
    ],
}


def test_chart_svg_scales_to_its_container() -> None:
    svg = chart_svg(SPEC)
    head = svg[: svg.index(">")]
    assert head.startswith("<svg")
    assert 'class="marks chart"' in head and "viewBox=" in head
    # no fixed width/height attributes left: CSS sizes it (max-width keeps small charts small)
    assert ' width="' not in head and ' height="' not in head
    assert "max-width:6" in head
    # the rule layer was drawn: a line mark and a rule mark exist
    assert "role-mark" in svg and "mark-rule" in svg and "mark-line" in svg


def test_chart_is_markup_with_a_label() -> None:
    out = chart(SPEC, label='p95 "latency" <ms>')
    assert isinstance(out, Markup)
    assert 'aria-label="p95 &quot;latency&quot; &lt;ms>"' in out


def test_pages_escape_values_and_keep_markup() -> None:
    env = environment()
    tpl = env.from_string(
        "{% extends 'base.html.j2' %}{% block body %}{{ text }}|{{ svg }}|"
        "{{ 0.123456|score }}|{{ 12345|ms }}{% endblock %}"
    )
    html = tpl.render(title="t<1>", text="<script>", svg=Markup("<b>ok</b>"))
    assert "&lt;script&gt;" in html and "<b>ok</b>" in html
    assert "<title>t&lt;1&gt; — agentops report</title>" in html
    assert "|0.12|12.35 s" in html


def test_render_page_refuses_undefined_values() -> None:
    import jinja2
    import pytest

    with pytest.raises(jinja2.UndefinedError):
        render_page("base.html.j2")

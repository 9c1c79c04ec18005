"""Inline SVG charts for the HTML report: heat map, score strips, latency histogram.

Pipeline role: drawing primitives of `report_html`. Pure functions from numbers to SVG
strings; no plotting library and no external asset, so the report is one self-contained
file that renders the same in a browser, a CI artifact viewer or a mail client. Every text
that comes from data is escaped here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PALETTE = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
FAIL = "#c0392b"
MUTED = "#6b7280"
GRID = "#e5e7eb"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    r, g, bl = (round(x + (y - x) * t) for x, y in zip(a, b, strict=True))
    return (r, g, bl)


def score_color(value: float | None) -> str:
    """Red (0) -> amber (0.5) -> green (1); grey for no value."""
    if value is None or math.isnan(value):
        return "#d1d5db"
    v = min(1.0, max(0.0, value))
    red, amber, green = (215, 48, 39), (253, 174, 97), (26, 152, 80)
    r, g, b = _mix(red, amber, v * 2) if v < 0.5 else _mix(amber, green, (v - 0.5) * 2)
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_on(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#111827" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#ffffff"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(label)}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" style="width:100%;max-width:{width:.0f}px;'
        'height:auto" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: object, *, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{esc(text)}</text>'


@dataclass(frozen=True)
class HeatCell:
    value: float | None
    text: str
    #: a gate threshold this cell misses (drawn as a red outline)
    missed: bool = False
    title: str = ""


def heatmap(rows: Sequence[str], cols: Sequence[str], cells: Sequence[Sequence[HeatCell]]) -> str:
    """Rows (variants) x columns (evaluators and pass rate), coloured by value in [0, 1]."""
    cw, ch = 104.0, 34.0
    left = min(400.0, max(90.0, 7.6 * max((len(r) for r in rows), default=8) + 16))
    top = 58.0
    width, height = left + cw * len(cols) + 10, top + ch * len(rows) + 10
    body = []
    for j, col in enumerate(cols):
        x = left + cw * j + cw / 2
        body.append(_text(x, top - 10, col, anchor="middle", font_weight="600"))
    for i, row in enumerate(rows):
        y = top + ch * i
        body.append(_text(left - 8, y + ch / 2 + 4, _clip(row, 50), anchor="end"))
        for j, cell in enumerate(cells[i]):
            x = left + cw * j
            fill = score_color(cell.value)
            stroke = f' stroke="{FAIL}" stroke-width="3"' if cell.missed else ' stroke="#fff"'
            tip = f"<title>{esc(cell.title or cell.text)}</title>"
            body.append(
                f'<g><rect x="{x + 1:.1f}" y="{y + 1:.1f}" width="{cw - 2:.1f}" '
                f'height="{ch - 2:.1f}" rx="3" fill="{fill}"{stroke}/>{tip}</g>'
            )
            body.append(
                _text(x + cw / 2, y + ch / 2 + 4, cell.text, anchor="middle", fill=_text_on(fill))
            )
    return _svg(width, height, body, "heat map of mean scores per variant and evaluator")


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    s = sorted(values)

    def q(p: float) -> float:
        pos = (len(s) - 1) * p
        lo, hi = math.floor(pos), math.ceil(pos)
        return s[lo] + (s[hi] - s[lo]) * (pos - lo)

    return q(0.25), q(0.5), q(0.75)


@dataclass(frozen=True)
class Strip:
    """One variant's scores for one evaluator (errors are counted as 0 and drawn as x)."""

    label: str
    values: Sequence[float]
    errors: int = 0
    mean: float | None = None


@dataclass(frozen=True)
class Rule:
    """A vertical reference line: a gate threshold (red dashed) or a hint (grey dotted)."""

    label: str
    value: float
    strong: bool = True


def strips(
    title: str,
    rows: Sequence[Strip],
    *,
    rules: Sequence[Rule] = (),
    hi: float = 1.0,
    unit: str = "",
    width: float = 560.0,
) -> str:
    """Distribution on [0, hi] per variant: points, box (IQR + median), mean diamond, and
    reference lines (gate thresholds red dashed, others grey dotted)."""
    left, right, top, rh = 70.0, 24.0, 34.0, 38.0
    plot_w = width - left - right
    height = top + rh * len(rows) + 30
    hi = hi if hi > 0 else 1.0

    def x(v: float) -> float:
        return left + plot_w * min(1.0, max(0.0, v / hi))

    body = [_text(left, 16, title, font_weight="600")]
    for k in range(5):
        t = hi * k / 4
        body.append(
            f'<line x1="{x(t):.1f}" y1="{top - 4}" x2="{x(t):.1f}" y2="{height - 26}" '
            f'stroke="{GRID}"/>'
        )
        tick = f"{t:.0f}{unit}" if unit else f"{t:g}"
        body.append(_text(x(t), height - 12, tick, anchor="middle", fill=MUTED))
    for i, row in enumerate(rows):
        body.extend(_strip_row(row, top + rh * i + rh / 2, PALETTE[i % len(PALETTE)], x))
    y0, y1 = top - 6, height - 26
    for n, rule in enumerate(rules):
        rx = x(rule.value)
        color, dash = (FAIL, "6,4") if rule.strong else (MUTED, "2,3")
        body.append(
            f'<line x1="{rx:.1f}" y1="{y0}" x2="{rx:.1f}" y2="{y1}" stroke="{color}" '
            f'stroke-width="{2 if rule.strong else 1}" stroke-dasharray="{dash}"/>'
        )
        if rule.strong:
            anchor = "end" if rx > left + plot_w * 0.6 else "start"
            lx = rx - 4 if anchor == "end" else rx + 4
            body.append(_text(lx, top - 10 + 11 * n, rule.label, anchor=anchor, fill=color))
    return _svg(width, height, body, f"distribution of {title}")


def _strip_row(row: Strip, cy: float, color: str, x: Callable[[float], float]) -> list[str]:
    out = [_text(x(0.0) - 8, cy + 4, _clip(row.label, 9), anchor="end")]
    if len(row.values) >= 2:
        q1, med, q3 = _quartiles(row.values)
        out.append(
            f'<rect x="{x(q1):.1f}" y="{cy - 9:.1f}" width="{max(1.0, x(q3) - x(q1)):.1f}" '
            f'height="18" fill="{color}" fill-opacity="0.18" stroke="{color}"/>'
            f'<line x1="{x(med):.1f}" y1="{cy - 9:.1f}" x2="{x(med):.1f}" y2="{cy + 9:.1f}" '
            f'stroke="{color}" stroke-width="2"/>'
        )
    for k, v in enumerate(row.values):
        jitter = ((k * 7919) % 17 - 8) * 1.3
        out.append(
            f'<circle cx="{x(v):.1f}" cy="{cy + jitter:.1f}" r="2.6" fill="{color}" '
            'fill-opacity="0.75"/>'
        )
    for k in range(row.errors):
        jx, jy = x(0.0) + (k % 5) * 2.0, cy + ((k * 5) % 11 - 5)
        out.append(
            f'<path d="M{jx - 3:.1f},{jy - 3:.1f} l6,6 m0,-6 l-6,6" stroke="{FAIL}" '
            'stroke-width="1.5"/>'
        )
    if row.mean is not None:
        mx = x(row.mean)
        out.append(
            f'<path d="M{mx:.1f},{cy - 6:.1f} l5,6 l-5,6 l-5,-6 z" fill="#111827">'
            f"<title>mean {row.mean:.3f}</title></path>"
        )
    return out

"""The HTML report toolkit every report shares: Jinja2 templates and Vega-Lite charts.

Pipeline role: the bottom of the report path. `engine.evaluation` (Experiment and QualityGate
reports) and `engine.load` (LoadTest reports) build a context and a list of chart specs; this
package renders them into one self-contained page (inline CSS, charts as inline SVG rendered
offline by vl-convert, a few lines of inline script for filters; no external asset, no network).
"""

from engine.report.charts import chart, chart_svg
from engine.report.pages import render_page

__all__ = ["chart", "chart_svg", "render_page"]

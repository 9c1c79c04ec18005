"""`agentops report` for LoadTest runs, and the reports `apply` writes after one.

One real, small run (2 users, 24 requests against the session's local agent), then the CLI
(`engine.cli.main`, in process) on it: by address, by address without environment, by run
id, as the newest run, in HTML and markdown. The HTML is parsed with `html.parser`: tags must
balance, and the charts (their SVG texts: SLO labels, legends), the per-prompt rows, cold/warm
latency and the SLO verdicts are read from the parsed page, not searched for as text. The
charts' specs themselves are tested in `test_load_charts.py`.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.cli import main
from engine.load.html import render_page
from engine.load.report import ms
from engine.providers.local.store import LocalStore
from engine.providers.runs.load_records import load_samples
from tests.load.conftest import LoadWorkspace

SPEC = """\
agent: mini
environment: prd
promptsFile: load_config.json
users: 2
requests: 24
duration: 20s
slos: {p95Ms: 1000, errorRate: 0.0, refusalRate: 1.0}
perTag:
  docs: {answerRate: 1.0}
"""
VOID = {"meta", "br", "hr", "img", "input", "link"}


class Page(HTMLParser):
    """Checks that tags balance; keeps every table row's cells and the SVG elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.rows: list[list[str]] = []
        self.svg: list[str] = []
        self.title = ""
        self._cell: list[str] | None = None
        #: chart card id (`chart-latency` -> "latency") -> the texts of its SVGs
        self.charts: dict[str, list[str]] = {}
        self._chart: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if "svg" in self.stack or tag == "svg":
            self.svg.append(tag)
        if tag in VOID:
            return
        ident = dict(attrs).get("id") or ""
        if tag == "div" and ident.startswith("chart-"):
            self._chart = ident.removeprefix("chart-")
            self.charts[self._chart] = []
        self.stack.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if "svg" in self.stack:
            self.svg.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._chart is not None and self.stack[-1:] == ["text"] and data.strip():
            self.charts[self._chart].append(data.strip())
        if self.stack[-1:] == ["title"] and "svg" not in self.stack:
            self.title += data

    def row(self, first: str) -> list[str]:
        found = [r for r in self.rows if r and r[0] == first]
        assert len(found) == 1, (first, self.rows)
        return found[0]


def parse(text: str) -> Page:
    assert text.lstrip().lower().startswith("<!doctype html>")
    page = Page()
    page.feed(text)
    page.close()
    assert not page.problems, page.problems
    assert not page.stack, f"unclosed: {page.stack}"
    return page


@pytest.fixture(scope="module")
def run(load_ws: LoadWorkspace) -> dict[str, object]:
    result = load_ws.run_loadtest("report", SPEC)
    assert result.status == "succeeded", result.message
    return result.summary


def test_apply_writes_both_reports_and_names_them(
    load_ws: LoadWorkspace, run: dict[str, object]
) -> None:
    run_id = str(run["run_id"])
    assert run["report"] == {
        "markdown": f".agentops/reports/{run_id}.md",
        "html": f".agentops/reports/{run_id}.html",
    }
    page = parse((load_ws.root / f".agentops/reports/{run_id}.html").read_text())
    assert page.title == "loadtest.report[prd] — agentops report"
    assert page.row("plan")[1:3] == ["8", "0"]  # requests, failed: 24 over 3 prompts
    md = (load_ws.root / f".agentops/reports/{run_id}.md").read_text()
    assert md.startswith("# LoadTest loadtest.report[prd]: passed")


def test_report_html_by_address(
    load_ws: LoadWorkspace,
    run: dict[str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "load.html"
    code = main(["-C", str(load_ws.root), "report", "loadtest.report[prd]", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert f"(run {run['run_id']}) to {out}" in capsys.readouterr().out
    page = parse(out.read_text())
    # the charts over time and the histogram, each an inline SVG for desktops and one for phones
    assert list(page.charts) == ["throughput", "users", "errors", "latency", "histogram"]
    assert page.svg.count("svg") == 10
    # the SLOs on them: the local agent answers in milliseconds, so the 1000 ms limit is far
    # above the data and drawn on the edge; the error rate limit 0 sits on the axis
    assert "SLO p95Ms ≤ 1000 ms (off the scale)" in page.charts["latency"]
    assert "SLO p95Ms ≤ 1000 ms (off the scale)" in page.charts["histogram"]
    assert "SLO errorRate ≤ 0.000" in page.charts["errors"]
    assert {"p50", "p95", "p99"} <= set(page.charts["latency"])  # the legend
    # the users the runner recorded (2) next to the requests in flight
    assert {"users", "requests in flight (mean)"} <= set(page.charts["users"])
    timeline = run["users_timeline"]
    assert isinstance(timeline, list) and max(n for _, n in timeline) == 2
    assert timeline[-1][1] == 0  # the run's end closes the series
    # one row per prompt, with the numbers of the run
    per_prompt = run["per_prompt"]
    assert isinstance(per_prompt, dict)
    for name in ("plan", "apply", "harmful1"):
        m = per_prompt[name]
        assert page.row(name)[:4] == [name, str(m["requests"]), "0", ms(m["p50_ms"])]
    assert page.row("harmful1")[6] == "1.000"  # refusal rate
    # cold vs warm: one cold request per user (session)
    cold, warm = page.row("cold (first request of a session)"), page.row("warm")
    assert cold[1] == "2" and warm[1] == "22"
    # every SLO with its limit, the measured value and the verdict
    p95 = page.row("p95Ms")
    assert p95[1] == "1000 ms" and p95[2].endswith(" ms") and p95[3] == "pass"
    assert page.row("refusalRate")[1:4] == ["1.000", "1.000", "pass"]
    assert page.row("perTag.docs.answerRate")[3] == "pass"


def test_report_markdown_by_name_and_by_run_id(
    load_ws: LoadWorkspace,
    run: dict[str, object],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "load.md"
    root = str(load_ws.root)
    assert (
        main(["-C", root, "report", "loadtest.report", "--format", "markdown", "--out", str(out)])
        == 0
    )
    md = out.read_text()
    assert md.startswith("# LoadTest loadtest.report[prd]: passed")
    assert "| harmful1 |" in md and "| cold (first request of a session) | n=2" in md
    capsys.readouterr()
    assert main(["-C", root, "-o", "json", "report", str(run["run_id"]), "--out", str(out)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == {
        "format_version": 1,
        "run_id": run["run_id"],
        "address": "loadtest.report[prd]",
        "file": str(out),
    }
    assert out.read_text() == md  # the suffix .md picks markdown


def test_report_without_argument_is_the_newest_run(
    load_ws: LoadWorkspace, run: dict[str, object], capsys: pytest.CaptureFixture[str]
) -> None:
    newest = load_ws.run_loadtest(
        "newest",
        "agent: mini\nenvironment: prd\npromptsFile: load_config.json\nusers: 1\nrequests: 3\n",
    )
    assert main(["-C", str(load_ws.root), "report"]) == 0
    assert f"(run {newest.summary['run_id']})" in capsys.readouterr().out
    text = (load_ws.state_dir / "reports" / f"{newest.summary['run_id']}.html").read_text()
    assert parse(text).title == "loadtest.newest[prd] — agentops report"
    assert "No SLO is declared" in text


def test_failed_slo_is_shown_failed_with_value_and_limit(
    load_ws: LoadWorkspace, tmp_path: Path
) -> None:
    spec = "agent: mini\nenvironment: prd\npromptsFile: load_config.json\nusers: 1\n"
    failed = load_ws.run_loadtest("slow", spec + "requests: 6\nslos: {p95Ms: 0.001}\n")
    assert failed.status == "failed"
    out = tmp_path / "slow.html"
    assert main(["-C", str(load_ws.root), "report", "loadtest.slow", "--out", str(out)]) == 0
    text = out.read_text()
    assert "<span class='badge fail'>failed</span>" in text
    row = parse(text).row("p95Ms")
    assert row[1] == "0.001 ms" and row[3] == "fail"
    assert row[2].endswith(" ms") and float(row[2].removesuffix(" ms")) > 0.001
    assert row[4].startswith("SLO p95Ms failed: measured ") and row[4].endswith("> limit 0.001 ms")


def test_cpu_warning_and_run_problems_are_shown(
    load_ws: LoadWorkspace, run: dict[str, object]
) -> None:
    warning = "the load generator used 97 % of a CPU core: the numbers may measure the generator"
    samples = load_samples(LocalStore(load_ws.state_dir / "store.sqlite"), str(run["run_id"]))
    summary = {**run, "warnings": [warning], "problems": ["interrupted after 3 requests"]}
    text = render_page("loadtest.report[prd]", "r1", summary, samples)
    assert f"<b>Warning:</b> {warning}" in text
    assert "<b>Failed:</b> interrupted after 3 requests" in text
    assert "<span class='badge fail'>failed</span>" in text  # although every SLO passed
    parse(text)


def test_unknown_runs_are_one_line_errors(
    load_ws: LoadWorkspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(load_ws.root), "report", "loadtest.zzz"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[0] == "error: no LoadTest run matches 'loadtest.zzz'"
    assert err.splitlines()[1].startswith("  hint: recorded load tests: ")
    assert "loadtest.report[prd]" in err and len(err.splitlines()) == 2
    assert main(["-C", str(load_ws.root), "report", "loadtest.reprt[prd]"]) == 1
    assert "  hint: did you mean 'loadtest.report[prd]'?\n" in capsys.readouterr().err
    assert main(["-C", str(load_ws.root), "report", "loadtest-nope-prd-1"]) == 1
    assert capsys.readouterr().err.startswith("error: no run matches 'loadtest-nope-prd-1'\n")
    assert main(["-C", str(tmp_path), "report", "loadtest.soak"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: no LoadTest runs are recorded in {tmp_path} yet")
    assert len(err.splitlines()) == 2 and "hint: run `agentops apply`" in err

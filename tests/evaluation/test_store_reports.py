"""The store keeps every case and score; the reports render from what it gives back."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from engine.evaluation.report_html import render_html
from engine.evaluation.report_text import render_markdown, renderables
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.store import LocalStore

from .helpers import make_run

CHROMIUM = Path("/usr/bin/chromium")


def test_store_round_trip_keeps_every_case_score_and_aggregate(tmp_path: Path) -> None:
    store = EvalStore(LocalStore(tmp_path / "store.sqlite"))
    run = make_run("QualityGate")
    store.save(run)
    assert store.find() == run.run_id
    assert store.find("qualitygate.release") == run.run_id
    assert store.find("qualitygate.release[tst]", succeeded=True) == (
        run.run_id if run.status == "succeeded" else None
    )
    assert store.find("experiment.hpo") is None
    back = store.load(run.run_id)
    assert back.items == []  # recorded before items were kept: none, and no error
    assert back.gate == run.gate
    assert back.evaluators == run.evaluators
    (v,) = back.variants
    assert v.aggregate == run.variants[0].aggregate
    assert v.cases == sorted(run.variants[0].cases, key=lambda c: (c.repetition, c.item_index))
    assert v.cases[0].scores["trajectory"].error == "KeyError: 'x'"


def test_the_store_keeps_the_items_and_finds_the_previous_run(tmp_path: Path) -> None:
    from engine.evaluation.run import ItemRecord

    store = EvalStore(LocalStore(tmp_path / "store.sqlite"))
    first = make_run()
    first.items = [ItemRecord("i-0", 0, {"question": "q0"}, {"response_facts": ["a"]})]
    store.save(first)
    back = store.load(first.run_id)
    assert back.items == first.items
    assert store.previous(back) is None
    second = make_run()
    second.run_id = first.run_id.replace("abcd", "ef01")
    second.finished_at = "2026-01-01T00:02:00+00:00"
    assert store.previous(second) == first.run_id  # before it is saved (publish)
    store.save(second)
    assert store.previous(store.load(second.run_id)) == first.run_id
    assert store.previous(first) is None  # never a later run, never itself
    gate = make_run("QualityGate")
    store.save(gate)
    assert store.previous(second) == first.run_id  # only the same address


def test_markdown_is_a_pr_comment(tmp_path: Path) -> None:
    gate = make_run("QualityGate")
    md = render_markdown(gate)
    assert md.startswith("### ")
    assert "| check | value | threshold | spread | verdict |" in md
    assert gate.gate is not None and gate.gate.message() in md
    exp = render_markdown(make_run())
    assert "| 1 | **v1** model=fast |" in exp
    assert "agentops experiment apply-best hpo --write" in exp


def test_terminal_table_renders(tmp_path: Path) -> None:
    from rich.console import Console

    console = Console(record=True, width=160)
    for item in renderables(make_run("QualityGate")):
        console.print(item)
    text = console.export_text()
    assert "facts mean" in text and "latency p95" in text and "candidate" not in text


def test_html_is_self_contained(tmp_path: Path) -> None:
    page = render_html(make_run("QualityGate"))
    assert page.startswith("<!doctype html>")
    # no external asset: nothing loaded from src or <link>, no @import, no url(...); the
    # only links are to the page's own drill-downs
    assert not re.search(r"""src\s*=|<link|@import|url\(""", page)
    assert set(re.findall(r'href="(.)', page)) == {"#"}
    assert page.count("<svg") == 3  # two score distributions, latency (a gate: no heat map)
    assert "gate: mean ≥ 0.6" in page and "gate: p95 ≤ 150 ms" in page
    assert page.count("<script") == 1  # the inline row filter


def screenshot(html: Path, png: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            "headless Chromium is needed to check the HTML report renders: install it with "
            "`apt-get install -y chromium` (the CI script does)"
        )
    profile = tempfile.mkdtemp(prefix="agentops-chromium-")
    try:
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--no-first-run",
             f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1280,1600",
             html.as_uri()],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def assert_not_blank(png: Path) -> None:
    """Decode the PNG (stdlib only) and require real content: many distinct colours."""
    import struct
    import zlib

    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, ctype = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, _depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {2: 3, 6: 4}[ctype]
    raw = zlib.decompress(idat)
    stride = width * channels + 1
    colours = set()
    for y in range(0, height, 7):  # sample rows; filter bytes make exact decoding moot for
        row = raw[y * stride + 1 : (y + 1) * stride]  # counting: any real page has many
        colours.update(row[i : i + 3] for i in range(0, len(row), channels * 5))
    assert len(colours) > 50, f"the screenshot looks blank ({len(colours)} colours)"


def test_html_report_renders_in_chromium(tmp_path: Path) -> None:
    html, png = tmp_path / "report.html", tmp_path / "report.png"
    html.write_text(render_html(make_run()), encoding="utf-8")
    screenshot(html, png)
    assert_not_blank(png)


def test_a_store_operation_that_finds_the_database_locked_is_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections.abc import Iterator

    import tenacity

    from engine.errors import TemporaryError
    from engine.providers.local import store as local_store

    store = local_store.LocalStore(tmp_path / "store.sqlite")
    original = local_store.LocalStore.connect.__wrapped__  # type: ignore[attr-defined]
    locked = {"times": 2, "calls": 0}

    def sometimes_locked(self: local_store.LocalStore) -> Iterator[object]:
        locked["calls"] += 1
        if locked["times"] != 0:
            locked["times"] -= 1
            raise TemporaryError("the local store is busy: database is locked", delay=0.5)
        yield from original(self)

    sleeps: list[float] = []
    monkeypatch.setattr(tenacity.nap.time, "sleep", sleeps.append)  # tenacity's default sleep
    monkeypatch.setattr(
        local_store.LocalStore, "connect", local_store.contextmanager(sometimes_locked)
    )
    assert store.dataset_row("dev", "golden") is None  # third attempt succeeded
    assert locked["calls"] == 3
    assert sleeps == [0.1, 0.2]  # growing waits between the attempts
    locked.update(times=-1, calls=0)  # locked for good: gives up with the busy error
    with pytest.raises(TemporaryError, match="busy"):
        store.dataset_row("dev", "golden")
    assert locked["calls"] == local_store.BUSY_ATTEMPTS
    assert sleeps[2:] == [0.1, 0.2, 0.4, 0.8]

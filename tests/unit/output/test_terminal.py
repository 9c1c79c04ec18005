"""engine.terminal: one format per stream - plain lines, or JSON lines only."""

from __future__ import annotations

import io
import json

import pytest

from engine.terminal import Terminal, choose_mode


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def table() -> object:
    from rich.table import Table

    t = Table(title="hpo runs", title_justify="left")
    t.add_column("variant")
    t.add_column("verdict")
    t.add_row("v1", "[green]pass[/green]")
    t.add_row("v2", "[red]fail[/red]")
    return t


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_mode_follows_the_flag_and_the_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert choose_mode(None, io.StringIO()) == "plain"  # make, a pipe
    assert choose_mode(None, Tty()) == "live"
    assert choose_mode("plain", Tty()) == "plain"
    assert choose_mode("json", Tty()) == "json" == choose_mode("json", io.StringIO())
    monkeypatch.setenv("CI", "true")
    assert choose_mode(None, Tty()) == "plain"  # a CI runner's pseudo-terminal: no animation


def test_plain_is_readable_lines_and_whole_tables() -> None:
    out, clock = io.StringIO(), Clock()
    t = Terminal(out, mode="plain", clock=clock)
    t.begin("agent.a[dev]", "Creating agent.a[dev]...")
    t.print(table())
    t.end("agent.a[dev]", "✓ agent.a[dev]: Created in 4.1s", style="green")
    for second in (0.0, 0.5, 1.0, 2.5):  # a load test's figures: one line every 2 s
        clock.now = second
        t.status("loadtest.l[prd]", f"  loadtest.l[prd]  {second:g}/10s")
    t.event("action.start", address="agent.a[dev]")  # JSON events only in json mode
    lines = out.getvalue().splitlines()
    assert lines[0] == "Creating agent.a[dev]..."
    assert lines[1] == "hpo runs"  # no trailing padding in a log
    assert "\x1b[" not in out.getvalue()  # no colours, no cursor movement
    assert any("v2" in line and "fail" in line for line in lines)
    assert lines[-3:] == [
        "✓ agent.a[dev]: Created in 4.1s",
        "  loadtest.l[prd]  0/10s",
        "  loadtest.l[prd]  2.5/10s",
    ]
    assert all(line == line.rstrip() for line in lines)


def test_json_mode_writes_json_lines_only() -> None:
    out = io.StringIO()
    t = Terminal(out, mode="json")
    t.event("action.start", address="agent.a[dev]", action="create")
    t.begin("agent.a[dev]", "Creating agent.a[dev]...")  # the human rows are not written
    t.print("report: .agentops/reports/x.md", table())
    task = t.task("experiment.hpo[dev] v1", 2)
    task.advance(True)
    task.close("experiment.hpo[dev] v1: 2 case(s), 0 failed call(s)")
    t.end("agent.a[dev]", "✓ agent.a[dev]: Created in 4.1s")
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["action.start", "message", "table", "message"]
    assert {"level", "timestamp"} <= set(events[0])
    tab = events[2]
    assert tab["title"] == "hpo runs"
    assert tab["columns"] == ["variant", "verdict"]
    assert tab["rows"] == [["v1", "pass"], ["v2", "fail"]]  # markup stripped


def test_live_mode_draws_rows_and_prints_above_them() -> None:
    out = Tty()
    t = Terminal(out, mode="live")
    t.begin("agent.a[dev]", "Creating agent.a[dev]...")
    t.end("agent.a[dev]", "✓ agent.a[dev]: Created in 0.0s")
    t.close()
    assert "✓ agent.a[dev]: Created in 0.0s" in out.getvalue()


def test_live_mode_survives_threads_printing_while_it_redraws() -> None:
    import threading

    out = Tty()
    t = Terminal(out, mode="live")

    def work(n: int) -> None:
        for i in range(30):
            t.begin(f"a{n}-{i}", f"Creating a{n}-{i}...")
            t.print(table())
            t.status(f"s{n}", f"status {i}")
            t.end(f"a{n}-{i}", f"done a{n}-{i}")
        t.status_end(f"s{n}")

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=20)
    assert not any(th.is_alive() for th in threads), "deadlock between the writers and rich"
    t.close()
    assert out.getvalue().count("done a") == 120

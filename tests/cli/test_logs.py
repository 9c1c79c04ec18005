"""`agentops logs`: a local agent's log file (with --since, --tail, -f) and bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.cli import main
from engine.commands.logs import FileLog, line_time, parse_since, stream
from engine.state.local import LocalStateStore
from engine.state.model import ResourceState

LOG = """\
---- agentops: starting app.py (abc) at 2025-01-01T10:00:00+0000 ----
agentops-host[1]: ready
old line
---- agentops: starting app.py (def) at 2025-01-01T12:00:00+0000 ----
agentops-host[2]: ready
2025-01-01T12:30:00Z a line with its own time
new line
"""


def record(root: Path, env: str, log: Path) -> None:
    store = LocalStateStore(root / ".agentops")
    with store.lock("test"):
        st = store.read()
        res = ResourceState(
            address=f"agent.bot[{env}]",
            kind="Agent",
            provider="local-runtime",
            digest="d",
            outputs={"log_file": str(log), "url": "http://127.0.0.1:1/invocations"},
        )
        store.append(st, {"type": "resource", "resource": res.model_dump(mode="json")})


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    log = tmp_path / "bot.log"
    log.write_text(LOG)
    record(tmp_path, "dev", log)
    return tmp_path


def test_logs_prints_the_file_and_filters_by_time(
    ws: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(ws), "logs", "bot"]) == 0
    captured = capsys.readouterr()
    assert captured.out == LOG and "bot.log" in captured.err
    assert main(["-C", str(ws), "logs", "agent.bot[dev]", "--since", "2025-01-01T11:00:00Z"]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("12:00:00+0000 ----")
    assert main(["-C", str(ws), "logs", "bot", "--since", "2025-01-01T12:15:00"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2025-01-01T12:30:00Z a line with its own time",
        "new line",
    ]
    assert main(["-C", str(ws), "logs", "bot", "--tail", "1"]) == 0
    assert capsys.readouterr().out == "new line\n"


def test_logs_bad_input(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(ws), "logs", "nobody"]) == 1
    assert "agent.nobody is not deployed" in capsys.readouterr().err
    record(ws, "prd", ws / "bot.log")
    assert main(["-C", str(ws), "logs", "bot"]) == 1
    assert "runs in several environments (dev, prd)" in capsys.readouterr().err
    assert main(["-C", str(ws), "logs", "bot", "--env", "prd", "--since", "soon"]) == 1
    assert "--since soon: not a duration or a time" in capsys.readouterr().err
    (ws / "bot.log").unlink()
    assert main(["-C", str(ws), "logs", "bot", "--env", "dev"]) == 1
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_follow_prints_appended_lines_and_survives_truncation(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n")
    got: list[str] = []
    steps = iter(
        [
            lambda: log.open("a").write("two\nthr"),  # a partial line waits for its end
            lambda: log.open("a").write("ee\n"),
            lambda: log.write_text("x\n"),  # truncated: read again from the start
        ]
    )
    done = []

    def sleep(_seconds: float) -> None:
        step = next(steps, None)
        if step is None:
            done.append(True)
        else:
            step()

    stream(
        FileLog(log),
        since=None,
        tail=None,
        follow=True,
        write=got.append,
        sleep=sleep,
        stop=lambda: bool(done),
    )
    assert got == ["one", "two", "three", "x"]


def test_since_parsing() -> None:
    now = time.time()
    assert parse_since("10m", now) == now - 600
    assert parse_since("2h", now) == now - 7200
    assert parse_since("2025-01-01T00:00:00Z", now) == 1735689600.0
    assert line_time("---- agentops: starting x (d) at 2025-01-01T00:00:00+0000 ----") == (
        1735689600.0
    )
    assert line_time("INFO: no time here") is None

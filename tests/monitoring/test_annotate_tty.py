"""`agentops annotate QUEUE` in a real terminal (a pty): answer, quit, resume; no TTY fails."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.providers.local.traces import TraceStore

from .helpers import insert, row

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
QUEUE = "prd-review"


def cli() -> list[str]:
    return [sys.executable, "-m", "engine.cli"]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}


def queued_workspace(root: Path, n: int = 3) -> tuple[TraceStore, list[str]]:
    state = root / ".agentops"
    rows = [row(prompt=f"question {i}", started=time.time() - 100 + i) for i in range(n)]
    insert(state, rows)
    store = TraceStore(state / "traces.sqlite")
    ids = [r[0] for r in rows]
    for i, tid in enumerate(ids):  # created_at orders the queue
        store.commit_page("monitor.mon[prd]", 0, [], [(QUEUE, tid, "low score")], 1000.0 + i)
    return store, ids


class Pty:
    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env(), close_fds=True
        )
        os.close(slave)
        self.out = b""

    def expect(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not seen; output so far:\n{self.out.decode()}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
        if text.encode() not in self.out:
            raise AssertionError(f"{text!r} not seen; output:\n{self.out.decode()}")

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        rc = self.proc.wait(20)
        os.close(self.master)
        return rc


def test_answer_one_item_quit_and_resume(tmp_path: Path) -> None:
    store, ids = queued_workspace(tmp_path)
    term = Pty([*cli(), "-C", str(tmp_path), "annotate", QUEUE], tmp_path)
    term.expect("3 pending of 3")
    term.expect("question 0")
    term.expect("score> ")
    term.send("0.2")
    term.expect("expected output")
    term.send("refuse")
    term.expect("note (optional)> ")
    term.send("should have refused")
    term.expect("saved.")
    term.expect("question 1")
    term.expect("score> ")
    term.send("q")
    term.expect("Run again to resume")
    assert term.close() == 0

    items = {i.trace_id: i for i in store.queue_items(QUEUE)}
    first = items[ids[0]]
    assert (first.status, first.score, first.expected, first.note) == (
        "done",
        0.2,
        "refuse",
        "should have refused",
    )
    assert [items[t].status for t in ids[1:]] == ["pending", "pending"]

    term = Pty([*cli(), "-C", str(tmp_path), "annotate", QUEUE], tmp_path)
    term.expect("2 pending of 3")
    term.expect("[2/3]")
    term.expect("question 1")
    term.expect("score> ")
    term.send("s")
    term.expect("question 2")
    term.expect("score> ")
    term.send("q")
    assert term.close() == 0
    assert "question 0" not in term.out.decode()
    statuses = [i.status for i in sorted(store.queue_items(QUEUE), key=lambda i: i.created_at)]
    assert statuses == ["done", "skipped", "pending"]


def test_annotate_without_a_terminal_fails_clearly(tmp_path: Path) -> None:
    queued_workspace(tmp_path, 1)
    done = subprocess.run(
        [*cli(), "-C", str(tmp_path), "annotate", QUEUE],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env(),
        timeout=30,
    )
    assert done.returncode == 1
    assert "agentops annotate needs a terminal" in done.stderr
    assert f"agentops annotate {QUEUE} --list" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


def test_annotate_list_needs_no_terminal(tmp_path: Path) -> None:
    _, ids = queued_workspace(tmp_path, 2)
    done = subprocess.run(
        [*cli(), "-C", str(tmp_path), "annotate", QUEUE, "--list"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env(),
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("pending") == 2 and ids[0][:12] in done.stdout

"""The one writer of a command's human output on stderr: live, plain or JSON, never mixed.

Pipeline role: every part of an apply that talks to a person (the applier's action
progress, the evaluation progress bars and tables, the load test's progress line and
table) writes through the `Terminal` of its `Context`, so that one stream carries one
format:

* `live` (stderr is a terminal): a rich `Live` region at the bottom with a spinner row per
  running action ("Creating agent.bot[dev]... (3s)"), the progress bars and the load test
  lines; finished actions and tables are printed above it, so nothing tears or interleaves.
* `plain` (make, pipes, CI): readable lines without colour or cursor tricks; a table is
  printed whole (under the lock, trailing blanks stripped); progress is a line per variant
  and a load test line every few seconds.
* `json` (`--log-format json`): JSON lines only (`action.start`, `action.finish`,
  `progress`, `message`, `table`), so a log shipper never meets a table.

Threads: providers run in the applier's worker threads; every write takes the lock. The
live region starts with the first row or bar and stops when the last one ends. rich is
imported only when something is drawn.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live
    from rich.progress import Progress, TaskID

MODES = ("live", "plain", "json")
PLAIN_WIDTH = 160  # logged tables should not wrap
PLAIN_STATUS_EVERY = 2.0  # seconds between two plain progress lines of one status


def choose_mode(log_format: str | None, stream: IO[str]) -> str:
    """`--log-format` (json | plain | console) and the stream decide the mode."""
    if log_format == "json":
        return "json"
    if log_format == "plain":
        return "plain"
    isatty = getattr(stream, "isatty", None)
    tty = bool(isatty and isatty())
    if tty and (log_format == "console" or os.environ.get("CI") != "true"):
        return "live"
    return "plain"


class Terminal:
    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        mode: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._mode = mode
        self.clock = clock
        self._lock = threading.RLock()  # one write at a time (held while calling rich)
        # What the live region shows, under its own lock, never held while calling rich: the
        # Live refresh thread holds rich's lock while it asks for the rows (no lock cycle).
        self._rows_lock = threading.Lock()
        self._rows: dict[str, tuple[str, float]] = {}  # key -> (text, started)
        self._status: dict[str, str] = {}
        self._status_last: dict[str, float] = {}
        self._tasks = 0
        self._live: Live | None = None
        self._progress: Progress | None = None
        self._console: Console | None = None
        self._spinners: dict[str, Any] = {}  # key -> rich Spinner (keeps its own frame clock)

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    @property
    def mode(self) -> str:
        if self._mode is None:
            self._mode = choose_mode(None, self.stream)
        return self._mode

    # --- running things: a row each ------------------------------------------------------
    def begin(self, key: str, text: str) -> None:
        """Something started: a spinner row (live) or one line (plain)."""
        if self.mode == "json":
            return
        with self._lock:
            if self.mode == "plain":
                self._write(text)
                return
            with self._rows_lock:
                self._rows[key] = (text, self.clock())
            self._start_live()

    def end(self, key: str, line: str | None = None, *, style: str | None = None) -> None:
        """It finished: its row goes, `line` is printed for good."""
        if self.mode == "json":
            return
        with self._lock:
            with self._rows_lock:
                self._rows.pop(key, None)
            if line is not None:
                self._print_text(line, style)
            self._stop_if_idle()

    def status(self, key: str, text: str) -> None:
        """A line that keeps changing (a load test's figures): rewritten live, else throttled."""
        with self._lock:
            if self.mode == "live":
                with self._rows_lock:
                    self._status[key] = text
                self._start_live()
                return
            now = self.clock()
            if now - self._status_last.get(key, -PLAIN_STATUS_EVERY) < PLAIN_STATUS_EVERY:
                return
            self._status_last[key] = now
            if self.mode == "json":
                self.event("progress", key=key, text=text.strip())
            else:
                self._write(text)

    def status_end(self, key: str) -> None:
        with self._lock:
            with self._rows_lock:
                self._status.pop(key, None)
            self._status_last.pop(key, None)
            self._stop_if_idle()

    # --- progress bars ---------------------------------------------------------------------
    def task(self, title: str, total: int) -> ProgressTask:
        task_id: TaskID | None = None
        if self.mode == "live":
            with self._lock:
                self._start_live()
                assert self._progress is not None
                self._tasks += 1
                task_id = self._progress.add_task(title, total=total, errors=0)
        return ProgressTask(self, title, task_id)

    def _advance(self, task_id: TaskID | None, errors: int) -> None:
        progress = self._progress
        if progress is not None and task_id is not None:
            progress.update(task_id, advance=1, errors=errors)

    def _close_task(self, task_id: TaskID | None, line: str) -> None:
        with self._lock:
            if task_id is not None and self._progress is not None:
                self._progress.remove_task(task_id)
                self._tasks -= 1
            if self.mode == "json":
                self.event("message", message=line)
            else:
                self._print_text(line, None)
            self._stop_if_idle()

    # --- output above the live region ------------------------------------------------------
    def print(self, *renderables: object) -> None:
        """Text or rich renderables (tables), whole, above the live region or plainly."""
        with self._lock:
            for item in renderables:
                if self.mode == "json":
                    self._json_renderable(item)
                elif isinstance(item, str):
                    self._print_text(item, None)
                elif self.mode == "plain":
                    self._write(self._plain(item))
                else:
                    self._live_console().print(item, highlight=False)

    def event(self, name: str, **fields: Any) -> None:
        """A structured event: one JSON line in json mode, nothing otherwise."""
        if self.mode != "json":
            return
        stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        record = {"event": name, "level": "info", "timestamp": stamp, **fields}
        with self._lock:
            self._write(json.dumps(record, sort_keys=True, default=str))

    def close(self) -> None:
        """Stop the live region (also on errors and Ctrl-C), leaving the cursor usable."""
        with self._lock:
            with self._rows_lock:
                self._rows.clear()
                self._status.clear()
            self._tasks = 0
            self._stop_live()

    # --- internals -------------------------------------------------------------------------
    def _write(self, text: str) -> None:
        self.stream.write(text.rstrip("\n") + "\n")
        self.stream.flush()

    def _print_text(self, text: str, style: str | None) -> None:
        if self.mode == "json":
            self.event("message", message=text)
        elif self.mode == "plain":
            self._write(text)
        else:
            self._live_console().print(
                text, style=style, highlight=False, markup=False, soft_wrap=True
            )

    def _plain(self, item: object) -> str:
        from rich.console import Console

        console = Console(file=self.stream, width=PLAIN_WIDTH, no_color=True, force_terminal=False)
        with console.capture() as captured:
            console.print(item, highlight=False)
        return "\n".join(line.rstrip() for line in captured.get().splitlines())

    def _json_renderable(self, item: object) -> None:
        from rich.table import Table
        from rich.text import Text

        if isinstance(item, str):
            self.event("message", message=item)
            return
        if isinstance(item, Table):

            def plain(cell: object) -> str:
                if isinstance(cell, str):
                    return Text.from_markup(cell).plain
                return cell.plain if isinstance(cell, Text) else str(cell)

            columns = [plain(c.header) for c in item.columns]
            cells = [[plain(x) for x in c._cells] for c in item.columns]
            rows = [list(r) for r in zip(*cells, strict=True)] if cells else []
            title = plain(item.title) if item.title is not None else None
            self.event("table", title=title, columns=columns, rows=rows)
            return
        self.event("message", message=self._plain(item))

    def _live_console(self) -> Console:
        if self._live is not None:
            return self._live.console
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream)
        return self._console

    def _start_live(self) -> None:
        if self._live is not None:
            return
        from rich.live import Live

        console = self._live_console()
        self._progress = _new_progress(console)
        self._live = Live(
            console=console,
            transient=True,
            refresh_per_second=8,
            redirect_stdout=False,
            redirect_stderr=True,
            get_renderable=self._render_live,
        )
        self._live.start()

    def _stop_if_idle(self) -> None:
        if self._live is not None and not (self._rows or self._status or self._tasks):
            self._stop_live()

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        self._progress = None
        if live is not None:
            live.stop()

    def _render_live(self) -> RenderableType:
        from rich.console import Group
        from rich.spinner import Spinner
        from rich.text import Text

        with self._rows_lock:  # never self._lock: see __init__
            now = self.clock()
            rows = list(self._rows.items())
            status = list(self._status.values())
        progress = self._progress
        parts: list[RenderableType] = []
        for key, (text, started) in rows:
            label = Text(f"{text} ({now - started:.0f}s)")
            spinner = self._spinners.get(key)
            if spinner is None:
                spinner = self._spinners[key] = Spinner("dots", label, style="cyan")
            spinner.update(text=label)
            parts.append(spinner)
        for gone in set(self._spinners) - {key for key, _ in rows}:
            del self._spinners[gone]
        if progress is not None and progress.tasks:
            parts.append(progress)
        parts.extend(Text(s) for s in status)
        return Group(*parts)


class ProgressTask:
    def __init__(self, terminal: Terminal, title: str, task_id: TaskID | None) -> None:
        self.terminal = terminal
        self.title = title
        self.task_id = task_id
        self.done = 0
        self.errors = 0

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.errors += 0 if ok else 1
        self.terminal._advance(self.task_id, self.errors)

    def close(self, line: str) -> None:
        self.terminal._close_task(self.task_id, line)


def _new_progress(console: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("errors {task.fields[errors]}"),
        TimeElapsedColumn(),
        console=console,
        auto_refresh=False,  # the Live region redraws it
    )

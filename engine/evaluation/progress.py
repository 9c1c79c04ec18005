"""Progress while items run: a bar per variant on a terminal, one line per variant elsewhere.

Pipeline role: fed by `cases` (one tick per answered case) during Experiment and QualityGate
runs. An apply may run an experiment and a gate at the same time, in different worker
threads, so one board (owned by the provider instance) draws every bar in a single rich
`Progress` on stderr, started with the first task and stopped with the last. Without a TTY
(CI logs) nothing animates: each variant prints one line when it finishes.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class ProgressBoard:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._active = 0

    @property
    def stream(self) -> IO[str]:
        return self._stream if self._stream is not None else sys.stderr

    def animated(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty()) and os.environ.get("CI") != "true"

    def task(self, title: str, total: int) -> ProgressTask:
        task_id: TaskID | None = None
        if self.animated():
            with self._lock:
                if self._progress is None:
                    self._progress = _new_progress(self.stream)
                    self._progress.start()
                self._active += 1
                task_id = self._progress.add_task(title, total=total, errors=0)
        return ProgressTask(self, title, task_id)

    def _advance(self, task_id: TaskID | None, errors: int) -> None:
        progress = self._progress
        if progress is not None and task_id is not None:
            progress.update(task_id, advance=1, errors=errors)

    def _close(self, task_id: TaskID | None, line: str) -> None:
        with self._lock:
            progress = self._progress
            if progress is not None and task_id is not None:
                progress.remove_task(task_id)
                progress.console.print(line, highlight=False, soft_wrap=True)
                self._active -= 1
                if self._active == 0:
                    progress.stop()
                    self._progress = None
                return
        print(line, file=self.stream, flush=True)

    def print(self, *renderables: object) -> None:
        """Print text or rich renderables above the bars (or plainly) without tearing them."""
        with self._lock:
            if self._progress is not None:
                console = self._progress.console
            else:
                from rich.console import Console

                console = Console(file=self.stream, width=_width(self.stream))
            for item in renderables:
                console.print(item, highlight=False, soft_wrap=isinstance(item, str))


def _width(stream: IO[str]) -> int:
    """The terminal's width, or a wide default for logs (tables should not wrap in CI)."""
    import shutil

    isatty = getattr(stream, "isatty", None)
    return shutil.get_terminal_size((160, 40)).columns if isatty and isatty() else 160


class ProgressTask:
    def __init__(self, board: ProgressBoard, title: str, task_id: TaskID | None) -> None:
        self.board = board
        self.title = title
        self.task_id = task_id
        self.done = 0
        self.errors = 0

    def advance(self, ok: bool) -> None:
        self.done += 1
        self.errors += 0 if ok else 1
        self.board._advance(self.task_id, self.errors)

    def close(self, line: str) -> None:
        self.board._close(self.task_id, line)


def _new_progress(stream: IO[str]) -> Progress:
    from rich.console import Console
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
        console=Console(file=stream),
        transient=False,
    )

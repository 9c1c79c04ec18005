"""File changes for `agentops watch`: what to watch, what to ignore, and the watchfiles threads.

Pipeline role: the event source of the watch loop (`engine.watcher.loop.EventSource`).

What is watched: `specs/`, `environments/`, `agents/`, `evaluators/` and every agent's
`source` directory recursively, plus - without recursion - the workspace root and the
directories of the files the specs reference (dataset files, prompt files, load-test prompt
files, custom evaluators). The root is never watched recursively: it usually holds `.venv`
and `.git`, tens of thousands of directories we do not care about. Referenced files are
watched through their directory because an editor's atomic save replaces the file (a new
inode) and a watch on the old inode would go deaf.

What is ignored: `.agentops/` (our own state and logs), `__pycache__`, VCS and tool caches,
and editor droppings (vim swap files and its `4913` probe, `*~` backups, emacs `.#` locks
and `#autosave#`, JetBrains `___jb_*___`, `*.tmp`). The temp file of an atomic save is
ignored; the rename that follows is the change we react to.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from engine.spec.workspace import Workspace

TREES = ("specs", "environments", "agents", "evaluators")
IGNORED_DIRS = frozenset(
    {".agentops", "__pycache__", ".git", ".hg", ".svn", ".venv", "venv", "node_modules"}
    | {".mypy_cache", ".pytest_cache", ".ruff_cache", ".idea", ".vscode"}
)
_IGNORED_SUFFIXES = (".swp", ".swo", ".swx", ".swn", "~", ".tmp", ".pyc", "___", ".part")
_IGNORED_PREFIXES = (".#", "#", ".goutputstream-")


def ignored(path: Path) -> bool:
    name = path.name
    if name == "4913" or name.endswith(_IGNORED_SUFFIXES) or name.startswith(_IGNORED_PREFIXES):
        return True
    return any(part in IGNORED_DIRS for part in path.parts)


@dataclass(frozen=True)
class WatchedPaths:
    #: directories where any change counts (watched recursively)
    trees: frozenset[Path]
    #: directories watched without recursion (the root, parents of referenced files)
    flat: frozenset[Path]
    #: referenced files outside the trees: only these count in the flat directories
    files: frozenset[Path]
    root: Path

    def relevant(self, path: Path) -> bool:
        if ignored(path.relative_to(self.root) if path.is_relative_to(self.root) else path):
            return False
        if path in self.files:
            return True
        # A tree itself appearing or vanishing (`mkdir specs`) counts: it is watched next time.
        return any(path == t or path.is_relative_to(t) for t in self.trees) or (
            path.parent == self.root and path.name in TREES
        )


def referenced_files(ws: Workspace) -> set[str]:
    """Workspace-relative paths of the files the specs point at."""
    out: set[str] = set()
    for ds in ws.datasets.values():
        if ds.doc.spec.file:
            out.add(ds.doc.spec.file)
    for agent in ws.agents.values():
        if agent.doc.spec.system_prompt_file:
            out.add(agent.doc.spec.system_prompt_file)
    for lt in ws.loadtests.values():
        if lt.doc.spec.prompts_file:
            out.add(lt.doc.spec.prompts_file)
    for spec in [*ws.experiments.values(), *ws.gates.values(), *ws.loadtests.values()]:
        out.update(_evaluator_files(spec.doc.model_dump(mode="json", by_alias=True)))
    return out


def _evaluator_files(doc: object) -> Iterable[str]:
    # Custom evaluators are `use: path/to/file.py:function`, at various depths of a spec.
    if isinstance(doc, dict):
        use = doc.get("use")
        if isinstance(use, str) and ".py:" in use:
            yield use.split(".py:", 1)[0] + ".py"
        for v in doc.values():
            yield from _evaluator_files(v)
    elif isinstance(doc, list):
        for v in doc:
            yield from _evaluator_files(v)


def watched_paths(root: Path, workspaces: Iterable[Workspace]) -> WatchedPaths:
    root = root.resolve()
    trees = {root / t for t in TREES}
    files: set[Path] = set()
    for ws in workspaces:
        trees.update(root / a.doc.spec.source for a in ws.agents.values())
        files.update((root / f).resolve() for f in referenced_files(ws))
    trees = {t.resolve() for t in trees if t.resolve() != root and t.is_dir()}
    # Nested trees are covered by their parent; a file inside a tree needs no flat watch.
    trees = {t for t in trees if not any(t != o and t.is_relative_to(o) for o in trees)}
    files = {f for f in files if not any(f.is_relative_to(t) for t in trees)}
    flat = {root} | {f.parent for f in files if f.parent.is_dir()}
    return WatchedPaths(frozenset(trees), frozenset(flat), frozenset(files), root)


class FileEvents:
    """watchfiles in background threads, feeding one queue the loop drains."""

    def __init__(self, debounce_ms: int, *, ready_timeout: float = 5.0) -> None:
        # watchfiles groups a burst for at most half our debounce, so batches keep arriving
        # faster than our quiet period while a burst lasts: one reconcile after it, not many.
        self.debounce_ms = max(50, debounce_ms // 2)
        self.ready_timeout = ready_timeout
        self.queue: queue.Queue[str] = queue.Queue()
        self.paths: WatchedPaths | None = None
        self._stop: threading.Event | None = None

    def watch(self, paths: WatchedPaths) -> None:
        """Watch these paths from now on (a no-op when they did not change)."""
        if paths == self.paths:
            return
        old = self._stop
        self.paths = paths
        self._stop = threading.Event()
        ready = [
            self._start(sorted(paths.trees), True, paths),
            self._start(paths.flat, False, paths),
        ]
        # Start the new watchers before stopping the old ones, and wait until they really
        # watch: a save in between would otherwise be lost.
        for r in ready:
            r.wait(self.ready_timeout)
        if old is not None:
            old.set()

    def _start(self, dirs: Iterable[Path], recursive: bool, paths: WatchedPaths) -> threading.Event:
        ready = threading.Event()
        dirs = [d for d in dirs if d.is_dir()]
        if not dirs:
            ready.set()
            return ready
        assert self._stop is not None
        stop = self._stop

        def run() -> None:
            from watchfiles import watch

            try:
                for changes in watch(
                    *dirs,
                    watch_filter=lambda _c, p: paths.relevant(Path(p)),
                    debounce=self.debounce_ms,
                    step=min(50, self.debounce_ms),
                    stop_event=stop,
                    rust_timeout=200,
                    yield_on_timeout=True,
                    raise_interrupt=False,
                    recursive=recursive,
                ):
                    ready.set()  # the first yield (a timeout at the latest) proves it watches
                    for _change, p in changes:
                        self.queue.put(p)
            except (OSError, RuntimeError):
                # A watched directory vanished under the watcher. Forget the paths so the
                # next cycle re-arms, and queue a change so that cycle happens.
                if self.paths == paths:
                    self.paths = None
                self.queue.put(str(paths.root / "specs"))
            finally:
                ready.set()

        threading.Thread(target=run, name="agentops-watch-files", daemon=True).start()
        return ready

    def wait(self, timeout: float) -> list[str]:
        try:
            first = self.queue.get(timeout=timeout) if timeout > 0 else self.queue.get_nowait()
        except queue.Empty:
            return []
        out = [first]
        while True:  # everything already queued belongs to the same wake-up
            try:
                out.append(self.queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        if self._stop is not None:
            self._stop.set()

"""The `validate` result cache: replay the last output while no input has changed.

Why: `validate` runs in every editor hook and pre-commit, mostly over an unchanged workspace,
and a cold run is ~10x `python -c pass` of which ~80 % is importing pydantic and ruamel and
building the spec models (BENCHMARKS.md). No lazy import can remove that floor (pydantic-core's
extension alone is ~1.3x), so an unchanged workspace replays the stored stdout, stderr and exit
code instead, using only the standard library (the dbt partial-parse and git index idea).

The key is everything a run's output depends on:
- a stat signature (path, type, size, mtime, ctime, inode) of every entry of the workspace
  tree except `.agentops/` and the directories the source-tree scan skips (SKIP_DIRS; under
  the spec roots nothing is skipped); the listing covers added and removed files;
- the engine's own source files, and the site-packages directory of pydantic and ruamel
  (installing or removing any package changes its mtime);
- the command's inputs (paths, --output, colour) and the Python version;
- after the run, the set/unset state of each `env:` variable the specs reference (the only
  environment a run reads besides AGENTOPS_ALLOW_PATHS_OUTSIDE_WORKSPACE and NO_COLOR).

Nothing is cached when the result could be stale without a visible change: an entry modified
within RACY_SECONDS of the run (a same-size edit in the same timestamp tick, as git's "racy"
index entries), a symlink under a spec root leading out of the tree, a symlink into a skipped
directory, a spec text naming a skipped directory, paths outside the workspace, confinement
switched off, --debug, or more than MAX_ENTRIES entries. `AGENTOPS_VALIDATE_CACHE=0` turns the
cache off. The cache is `.agentops/cache/validate-<inputs>.json`; a committed one cannot forge
a result, since the inodes and ctimes of a checkout are not known in advance. Any error reading
or writing it means a normal run.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

#: bump when the entry format or the key's contents change
FORMAT = 1
DISABLE_ENV = "AGENTOPS_VALIDATE_CACHE"
#: the same directories `engine.spec.source_tree` never lists (kept in step by a unit test)
SKIP_DIRS = frozenset(
    {"__pycache__", ".git", ".venv", "node_modules", ".mypy_cache", ".pytest_cache"}
)
STATE_DIR = ".agentops"
SPEC_ROOTS = ("specs", "environments")
RACY_SECONDS = 2.0
MAX_ENTRIES = 20_000


class Uncacheable(Exception):
    """This run's result may depend on something the key does not cover."""


class Key(NamedTuple):
    """What one run's output depends on, known before the run."""

    file: Path  # the entry for these command inputs
    digest: str  # of the tree, the engine and the inputs
    newest_ns: int  # the newest mtime/ctime seen, for the racy check
    taken_ns: int  # when the signature was taken


class Replay(NamedTuple):
    stdout: str
    stderr: str
    code: int


def compute_key(
    root: Path, paths: Sequence[Path], inputs: dict[str, object], *, confined: bool, debug: bool
) -> Key | None:
    """The key of this run, or None when it must not use the cache."""
    if os.environ.get(DISABLE_ENV, "").strip().lower() in ("0", "false", "no") or debug:
        return None
    if not confined:
        return None
    try:
        return _compute_key(root, paths, inputs)
    except (OSError, Uncacheable):
        return None


def _compute_key(root: Path, paths: Sequence[Path], inputs: dict[str, object]) -> Key:
    spec_roots = [root / r for r in SPEC_ROOTS] if not paths else [Path(p) for p in paths]
    for p in spec_roots:
        if not _inside(os.path.abspath(p), str(root)):
            raise Uncacheable(p)
    taken = time.time_ns()
    sig = _Signature(str(root))
    sig.walk(str(root), skip=True)
    for p in spec_roots:  # discovery takes every *.yaml below a spec root: nothing skipped
        if os.path.isdir(p):
            sig.walk(str(p), skip=False)
        else:
            sig.entry(str(p))
    engine_dir = Path(__file__).resolve().parents[1]
    sig.walk(str(engine_dir), skip=True, links=False)  # a new engine, new messages
    for package in ("pydantic", "ruamel"):  # pip adds and removes entries of this directory
        site = _site_packages(package)
        sig.lines.append(f"{site}\0{os.stat(site).st_mtime_ns}\n")
    h = hashlib.sha256()
    inputs_text = json.dumps(
        {"format": FORMAT, "python": sys.version, "root": str(root), **inputs}, sort_keys=True
    )
    h.update(inputs_text.encode())
    for line in sig.lines:
        h.update(line.encode("utf-8", "surrogateescape"))
    name = hashlib.sha256(inputs_text.encode()).hexdigest()[:16]
    return Key(
        root / STATE_DIR / "cache" / f"validate-{name}.json", h.hexdigest(), sig.newest, taken
    )


def lookup(key: Key) -> Replay | None:
    """The stored result for this key, if its env-variable states still hold."""
    try:
        entry = json.loads(key.file.read_text(encoding="utf-8"))
        if entry.get("format") != FORMAT or entry.get("key") != key.digest:
            return None
        env: dict[str, bool] = entry["env"]
        if any(bool(os.environ.get(var)) != was_set for var, was_set in env.items()):
            return None
        return Replay(str(entry["stdout"]), str(entry["stderr"]), int(entry["code"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(key: Key, result: Replay, env_vars: Iterable[str], spec_texts: Iterable[str]) -> None:
    """Keep the result for the next run, unless an input was changed too recently to trust
    its timestamps or a spec names a directory the key does not cover."""
    if key.newest_ns >= key.taken_ns - int(RACY_SECONDS * 1e9):
        return
    for text in spec_texts:
        if STATE_DIR in text or any(d in text for d in SKIP_DIRS):
            return
    entry = {
        "format": FORMAT,
        "key": key.digest,
        "env": {var: bool(os.environ.get(var)) for var in sorted(set(env_vars))},
        "stdout": result.stdout,
        "stderr": result.stderr,
        "code": result.code,
    }
    tmp = key.file.with_name(f"{key.file.name}.{os.getpid()}.tmp")
    try:
        key.file.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(tmp, key.file)  # atomic: a concurrent reader sees the old or the new entry
    except OSError:
        tmp.unlink(missing_ok=True)


class _Signature:
    """Stat lines of a tree, collected without following symlinks."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.state_dir = os.path.join(root, STATE_DIR)  # written by every plan and apply
        self.lines: list[str] = []
        self.newest = 0

    def entry(self, path: str) -> None:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            self.lines.append(f"{path}\0missing\n")
            return
        self._add(path, st)

    def walk(self, top: str, *, skip: bool, links: bool = True) -> None:
        """Every entry under `top`; `skip` leaves out SKIP_DIRS and the state directory.
        `links` checks symlinks (a spec can name a path through one); with `skip` off (a
        spec root, which discovery walks through links) a link out of the tree is refused."""
        self.entry(top)
        stack = [top]
        while stack:
            with os.scandir(stack.pop()) as it:
                entries = sorted(it, key=_name)
            for e in entries:
                if e.is_dir(follow_symlinks=False):
                    if skip and (e.name in SKIP_DIRS or e.path == self.state_dir):
                        continue
                    stack.append(e.path)
                elif links and e.is_symlink():
                    self._link(e.path, strict=not skip)
                self._add(e.path, e.stat(follow_symlinks=False))
            if len(self.lines) > MAX_ENTRIES:
                raise Uncacheable("too many files")

    def _link(self, path: str, *, strict: bool) -> None:
        """A link's resolved target is part of the key: a link out of the tree is only ever
        reported as escaping (confinement), until its resolution (through links outside the
        tree, which are not watched) comes back in, which changes this line."""
        target = os.path.realpath(path)
        self.lines.append(f"{path}\0->{target}\n")
        if not _inside(target, self.root):
            if strict:
                raise Uncacheable(path)
            return
        rel = os.path.relpath(target, self.root).split(os.sep)
        if rel[0] == STATE_DIR or SKIP_DIRS.intersection(rel):
            raise Uncacheable(path)  # what it leads to is not in the key

    def _add(self, path: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            # the listing names every entry, so a directory's times add nothing (and writing
            # `.agentops/` would change the root's)
            self.lines.append(f"{path}\0dir:{st.st_mode}:{st.st_ino}\n")
            return
        self.lines.append(
            f"{path}\0{st.st_mode}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}\n"
        )
        self.newest = max(self.newest, st.st_mtime_ns, st.st_ctime_ns)


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _site_packages(package: str) -> str:
    """The directory `package` is installed in (where pip adds and removes packages)."""
    for entry in sys.path:
        if entry and os.path.isdir(os.path.join(entry, package)):
            return entry
    raise Uncacheable(package)

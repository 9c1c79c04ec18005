"""Heap: how plan and apply keep Python's cyclic garbage collector off their big object graphs.

Pipeline role: around the stages of a session (`engine.reconcile`) and the state store's
bulk reads and writes. A plan or apply over N resources builds a few large object graphs
that live until the session ends and are never garbage: the workspace, the desired graph,
the state, the desired views and observations, the plan. CPython's collector scans every
tracked object of the oldest generation on each full collection and runs one whenever the
survivors have grown by a quarter, so with these graphs in the oldest generation the
collector's work grows faster than N (measured by bench/plan_bench.py: at 10,000 resources
a no-op plan spent ~45 µs per resource in full collections, at 1,000 none). Two tools:

* `paused()` — no collection at all while a bulk build or dump that leaves no garbage
  cycles runs (the state read and the snapshot write);
* `SessionHeap.keep()` — after a stage, move everything tracked so far into the permanent
  generation (`gc.freeze`), so later collections scan only what is new; the session's end
  gives it all back (`gc.unfreeze`), so nothing is kept beyond the session (the watcher
  runs one session per cycle in the same process).

Neither changes what is collected, only when: reference counting frees everything acyclic
as before, and cycles among kept objects are collected after the session.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside (re-enabled on the way out if it was enabled)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class SessionHeap:
    """Freezes the session's long-lived objects stage by stage; `release()` undoes it all.

    Inert when something else froze objects before the session started (an embedding
    application that manages the permanent generation itself is left alone)."""

    def __init__(self, *, active: bool = True) -> None:
        self.active = active and gc.get_freeze_count() == 0
        self._kept = False

    @classmethod
    def inert(cls) -> SessionHeap:
        """A heap that never freezes anything (for a session nobody will release)."""
        return cls(active=False)

    def keep(self) -> None:
        if self.active:
            gc.freeze()
            self._kept = True

    def release(self) -> None:
        if self._kept:
            gc.unfreeze()
            self._kept = False

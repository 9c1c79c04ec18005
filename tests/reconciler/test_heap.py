"""A session keeps its long-lived objects out of the collector's scans, and only while open."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from engine.heap import SessionHeap, paused
from engine.planner.planner import PlanOptions
from engine.reconcile import make_plan, open_session, prepare
from engine.spec.workspace import load_workspace
from tests.reconciler.util import fake_registry, workspace


def test_a_session_freezes_while_open_and_gives_everything_back(tmp_path: Path) -> None:
    root = workspace(tmp_path, agents=3)
    registry, _ = fake_registry(root)
    assert gc.get_freeze_count() == 0
    with open_session(load_workspace(root), "plan", registry=registry) as s:
        assert gc.get_freeze_count() > 0
        make_plan(s, PlanOptions(), prepare(s))
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), open_session(load_workspace(root), "plan") as s:
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0


def test_a_heap_leaves_a_permanent_generation_it_did_not_make_alone() -> None:
    gc.freeze()  # an embedding application's own
    try:
        heap = SessionHeap()
        heap.keep()
        heap.release()
        # still frozen (the count itself may drop: frozen objects are freed by refcount)
        assert not heap.active and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()

"""`watch` on a shared S3 state: the lock only while acting; two watchers never act at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from engine.providers.fake import FakeCall
from engine.state.backend import open_store, parse_uri
from engine.watcher.cycle import WatchOptions
from tests.reconciler.util import fake_registry, run_apply, workspace
from tests.watch.cycle_util import Rig, rig


def watcher(root: Path, uri: str, **kw: object) -> Rig:
    r = rig(root, **kw)  # type: ignore[arg-type]
    r.cycle.options = WatchOptions(parallelism=1, state=uri)
    return r


def test_a_cycle_with_nothing_to_do_never_takes_the_lock(tmp_path: Path, s3_state: str) -> None:
    workspace(tmp_path)
    r = watcher(tmp_path, s3_state)
    assert r.run("start")["result"] == "ok"
    other = open_store(parse_uri(s3_state, tmp_path))
    with other.lock("apply"):  # e.g. a CI apply holds the lock meanwhile
        out = r.run("resync")
        assert out["result"] == "ok" and out["changes"] == 0
        workspace(tmp_path, prompt="changed")  # now there is something to do: it must wait
        assert r.run("change")["result"] == "locked"
    r.clock.advance(1.0)
    assert r.run("retry")["result"] == "ok"
    assert len(r.ops("update")) == 2


def test_a_ci_apply_between_two_reconciles_is_neither_undone_nor_repeated(
    tmp_path: Path, s3_state: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace(tmp_path, agents=2, chain=False)
    r = watcher(tmp_path, s3_state)
    assert r.run("start")["result"] == "ok"
    # CI applies a change between two reconciles (same S3 state, same world)
    monkeypatch.setenv("AGENTOPS_STATE", s3_state)
    workspace(tmp_path, agents=2, chain=False, prompt="from-ci")
    _, result = run_apply(tmp_path, fake_registry(tmp_path)[0])
    assert result.ok
    serial = open_store(parse_uri(s3_state, tmp_path)).read().serial
    out = r.run("resync")
    assert out["result"] == "ok" and out["changes"] == 0
    assert not r.ops("update")  # the watcher did not redo (or undo) what CI applied
    assert open_store(parse_uri(s3_state, tmp_path)).read().serial == serial


def test_two_watchers_on_one_state_never_act_at_once(tmp_path: Path, s3_state: str) -> None:
    workspace(tmp_path, agents=3, chain=False)
    acting = {"now": 0, "max": 0}
    guard = threading.Lock()

    def slow(call: FakeCall) -> None:
        if call.op not in ("create", "update", "delete"):
            return  # observing happens without the lock, by design
        with guard:
            acting["now"] += 1
            acting["max"] = max(acting["max"], acting["now"])
        time.sleep(0.05)
        with guard:
            acting["now"] -= 1

    one, two = (watcher(tmp_path, s3_state, handler=slow) for _ in range(2))
    for i, w in enumerate((one, two)):  # two machines: each has its own watch.json
        w.cycle.report.path = tmp_path / f"watch-{i}.json"
    for trigger in ("start", "change"):
        if trigger == "change":
            workspace(tmp_path, agents=3, chain=False, prompt="changed")
        results: list[str] = []

        def reconcile(w: Rig, trigger: str = trigger, results: list[str] = results) -> None:
            results.append(w.run(trigger)["result"])

        threads = [threading.Thread(target=reconcile, args=(w,)) for w in (one, two)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 2 and set(results) <= {"ok", "locked"}, results
    world = one.fake.world()
    addresses = sorted(v["tags"]["address"] for v in world.values())
    assert addresses == sorted(set(addresses))  # nothing created twice
    state = open_store(parse_uri(s3_state, tmp_path)).read()
    assert sorted(state.resources) == addresses
    assert acting["max"] == 1  # parallelism 1 each, and never both watchers at once
    creates = one.ops("create") + two.ops("create")
    assert len(creates) == len({a for _, a in creates})

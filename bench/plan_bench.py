"""Benchmark: `plan` on an up-to-date workspace of N resources, and state I/O on apply.

    .venv/bin/python bench/plan_bench.py

1. Builds workspaces of 10, 100 and 1,000 resources (agents in two environments plus
   datasets, on the file-backed fake provider), applies them, then times a full plan
   (load + validate + graph + observe + diff) that finds nothing to do.
2. On the 10- and 1,000-resource states, applies a single change and reports the time
   spent in state I/O (fsync'd journal appends): it must not grow with the state's size.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.planner.planner import PlanOptions  # noqa: E402
from engine.providers.fake import FakeProvider  # noqa: E402
from engine.providers.registry import Registry  # noqa: E402
from engine.reconcile import apply, make_plan, open_session, prepare  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402
from engine.state import local as state_local  # noqa: E402
from tests.reconciler.util import workspace  # noqa: E402


def registry(root: Path) -> Registry:
    return Registry([FakeProvider(root / "world.json")], [], route=lambda _n, _w: "fake")


def plan_once(root: Path) -> tuple[float, bool]:
    t = time.perf_counter()
    ws = load_workspace(root)
    with open_session(ws, "plan", registry=registry(root)) as s:
        observed = prepare(s)
        plan = make_plan(s, PlanOptions(), observed)
    return time.perf_counter() - t, plan.has_changes


def build(root: Path, resources: int) -> None:
    agents = resources * 2 // 5  # 2 envs x agents + 2 envs x datasets = resources
    datasets = resources // 2 - agents
    workspace(root, envs=("dev", "prd"), agents=agents, datasets=datasets, items=3, chain=False)
    ws = load_workspace(root)
    assert ws.ok
    with open_session(ws, "apply", registry=registry(root)) as s:
        observed = prepare(s)
        apply(s, make_plan(s, PlanOptions(), observed), parallelism=8)


def state_share(root: Path) -> tuple[float, float]:
    """Apply one change on the big state; (share of wall time in state I/O, wall seconds)."""
    spent = {"io": 0.0}
    orig_append, orig_write = state_local.LocalStateStore.append, state_local.LocalStateStore.write

    def timed(fn):  # type: ignore[no-untyped-def]
        def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent["io"] += time.perf_counter() - t

        return wrapper

    state_local.LocalStateStore.append = timed(orig_append)  # type: ignore[method-assign]
    state_local.LocalStateStore.write = timed(orig_write)  # type: ignore[method-assign]
    try:
        spec = root / "specs" / "all.yaml"
        spec.write_text(spec.read_text().replace("systemPrompt: hello", "systemPrompt: changed", 1))
        t = time.perf_counter()
        ws = load_workspace(root)
        with open_session(ws, "apply", registry=registry(root)) as s:
            observed = prepare(s)
            plan = make_plan(s, PlanOptions(), observed)
            assert len(plan.actionable) == 2, [c.address for c in plan.actionable]
            spent["io"] = 0.0
            t_apply = time.perf_counter()
            apply(s, plan)
            wall = time.perf_counter() - t_apply
        del t
        return spent["io"] / wall, wall
    finally:
        state_local.LocalStateStore.append = orig_append  # type: ignore[method-assign]
        state_local.LocalStateStore.write = orig_write  # type: ignore[method-assign]


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10, 100, 1000):
            root = Path(tmp) / str(n)
            build(root, n)
            times = []
            for _ in range(5):
                seconds, changes = plan_once(root)
                assert not changes, "the workspace should be up to date"
                times.append(seconds)
            results[n] = statistics.median(times)
            print(
                f"plan, {n:>5} resources up to date: {results[n] * 1000:8.1f} ms "
                f"({results[n] / n * 1e6:7.1f} µs/resource)"
            )
        growth = (results[1000] / 1000) / (results[10] / 10)
        print(f"per-resource cost 10 -> 1000: x{growth:.2f} (<= 1 means no worse than linear)")
        for n in (10, 1000):
            share, wall = state_share(Path(tmp) / str(n))
            print(
                f"apply of 1 change (2 resources) on a {n:>5}-resource state: "
                f"{wall * 1000:6.1f} ms, state I/O {share * wall * 1000:5.1f} ms "
                f"({share * 100:.0f}% - the fake provider itself costs ~nothing)"
            )


if __name__ == "__main__":
    main()

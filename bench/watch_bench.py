"""Benchmark: `agentops watch` reaction times and coalescing, on a real directory.

    .venv/bin/python bench/watch_bench.py [--runs 10] [--agent-runs 3]

A real `agentops watch` process (JSON logs) on a temp workspace with the local store and the
local runtime. Figures:

1. file saved -> change reconciled, for a dataset item change (no agent restart): the time
   from the atomic save (temp + rename) to the `reconcile` event that applied it; median of
   `--runs`.
2. the same for an agent change that restarts the agent (its system prompt): the latency,
   the agent's own restart time (the `action` event's seconds), and the difference.
3. 1,000 file events within one second (saves across 10 spec and data files): how many
   reconciles they cause (target <= 3), and that the last save won.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.watch.fs_util import (  # noqa: E402
    AGENT,
    REPO,
    Watch,
    dataset_workspace,
    items,
    save,
    stored_answers,
    wait_for,
    watching,
)


def stamp(ev: dict[str, object]) -> float:
    return dt.datetime.fromisoformat(str(ev["timestamp"]).replace("Z", "+00:00")).timestamp()


def reconciled_after(w: Watch, n_before: int, address: str) -> dict[str, object] | None:
    """The first reconcile event after `n_before` that applied a change to `address`."""
    events = w.events()
    seen = sum(1 for e in events[:n_before] if e.get("event") == "reconcile")
    count, touched = 0, False
    for e in events:
        if e.get("event") == "reconcile":
            count += 1
            if count > seen and touched:
                return e
            touched = False
        elif e.get("event") == "action" and e.get("address") == address and count >= seen:
            touched = e.get("status") == "ok"
    return None


def dataset_latency(root: Path, w: Watch, runs: int) -> list[tuple[float, float]]:
    """(saved -> reconciled, the reconcile cycle's own seconds) per run."""
    out = []
    for i in range(runs):
        time.sleep(0.3)  # let the previous cycle settle: measure a save on an idle watcher
        n = len(w.events())
        t0 = time.time()
        save(root / "data.json", items(f"answer {i}", "fixed"))
        ev = wait_for(lambda n=n: reconciled_after(w, n, "dataset.golden[dev]"), 10)
        out.append((stamp(ev) - t0, float(ev["seconds"])))  # type: ignore[arg-type]
    return out


def agent_latency(root: Path, w: Watch, runs: int) -> list[tuple[float, float]]:
    out = []
    for i in range(runs):
        time.sleep(0.3)
        n = len(w.events())
        t0 = time.time()
        save(root / "specs/agent.yaml", AGENT.replace("specialist.", f"specialist (v{i})."))
        ev = wait_for(lambda n=n: reconciled_after(w, n, "agent.specialist[dev]"), 60)
        action = [e for e in w.events()[n:] if e.get("event") == "action"][-1]
        out.append((stamp(ev) - t0, float(action["seconds"])))  # type: ignore[arg-type]
    return out


def burst(root: Path, w: Watch) -> tuple[int, float, bool]:
    """1,000 saves spread over one second; returns (reconciles, burst seconds, last won)."""
    wait_for(lambda: w.report()["state"] == "idle")
    n = len(w.events("reconcile"))
    files = [root / f"specs/extra-{k}.yaml" for k in range(9)] + [root / "data.json"]
    t0 = time.monotonic()
    for i in range(1000):
        target = files[i % len(files)]
        if target.name == "data.json":
            save(target, items(f"burst {i}", "fixed"))
        else:
            save(target, f"# save {i}\n")
        # pace the saves over one second, as a formatter or a checkout would
        ahead = t0 + (i + 1) / 1000 - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    took = time.monotonic() - t0
    last = "burst 999"
    wait_for(lambda: stored_answers(root)[0] == last, 15)
    time.sleep(1.0)  # any straggling follow-up shows up by now
    return len(w.events("reconcile")) - n, took, stored_answers(root)[0] == last


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--agent-runs", type=int, default=3)
    ap.add_argument("--debounce", default="200")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = dataset_workspace(Path(tmp) / "ws", "first", "fixed")
        shutil.copytree(
            REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__")
        )
        save(root / "specs/agent.yaml", AGENT)
        try:
            with watching(root, "--debounce", args.debounce) as w:
                ds = dataset_latency(root, w, args.runs)
                ag = agent_latency(root, w, args.agent_runs)
                reconciles, took, won = burst(root, w)
                w.stop()
        finally:
            from engine.providers.local.runtime import owned_processes
            from engine.state.local import LocalStateStore

            wid = LocalStateStore(root / ".agentops").read().workspace_id
            for pids in owned_processes(wid).values():
                for pid in pids:
                    os.killpg(pid, signal.SIGKILL)
    print(f"debounce {args.debounce} ms")
    lat_ds = [a for a, _ in ds]
    cycle = statistics.median(c for _, c in ds)
    print(
        f"dataset item saved -> reconciled: median {statistics.median(lat_ds) * 1000:.0f} ms, "
        f"min {min(lat_ds) * 1000:.0f} ms, max {max(lat_ds) * 1000:.0f} ms  (n={len(ds)}); "
        f"of which the reconcile cycle itself: median {cycle * 1000:.0f} ms"
    )
    lat = [a for a, _ in ag]
    restart = [r for _, r in ag]
    over = [a - r for a, r in ag]
    print(
        f"agent change saved -> reconciled: median {statistics.median(lat):.2f} s, of which the "
        f"agent restart {statistics.median(restart):.2f} s; overhead median "
        f"{statistics.median(over) * 1000:.0f} ms (n={len(ag)})"
    )
    print(
        f"1,000 file events in {took:.2f} s -> {reconciles} reconcile(s); "
        f"last save won: {'yes' if won else 'NO'}"
    )
    return 0 if reconciles <= 3 and won else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `apply` from empty and an up-to-date `plan` at 1,000 / 5,000 / 10,000 resources.

    .venv/bin/python bench/plan_bench.py               # ~1-2 min on 2 shared vCPUs
    .venv/bin/python bench/plan_bench.py --sizes 1000,10000 --rounds 5

For every size a workspace of N resources is written (agents in two environments, in call
chains of 5, plus datasets; untimed), then every measured command runs in a fresh process,
so each figure comes with the peak memory (`ru_maxrss`) of exactly that command:

1. *apply from empty*: what `agentops apply --auto-approve` does — load + validate, graph,
   desired views + observe, plan, render the plan text, apply every create (CLI default
   parallelism 4, fsync'd state journal, a JSON progress line per start and finish),
   compact the state (each run from an empty state);
2. *up-to-date plan*: the same up to the rendered "No changes.".

Each figure is the fastest of `--rounds` runs, and the rounds interleave the sizes.

Wall and CPU time (all threads) are both reported: on a shared machine the CPU figure is
the steadier one. The provider is `BenchProvider`: the test suite's `FakeProvider` (same
desired views, digests, ids and idempotency) with a world whose cost per call is constant
(a dict in memory, persisted as an append-only log so the plan's process can read it).
FakeProvider rewrites and fsyncs its whole world file on every call, which is right for the
crash tests and quadratic here: with it the benchmark measured itself. Finally, one change
is applied on the smallest and the largest state: its state I/O must not grow with N.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.planner.planner import PlanOptions  # noqa: E402
from engine.providers.base import Context, Desired  # noqa: E402
from engine.providers.fake import FakeProvider  # noqa: E402
from engine.providers.registry import Registry  # noqa: E402
from engine.reconcile import apply, make_plan, open_session, prepare  # noqa: E402
from engine.spec.graph import GraphNode  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402
from engine.state import local as state_local  # noqa: E402
from engine.state.model import ResourceState  # noqa: E402
from tests.reconciler.util import AGENT, DATASET, ENV, write  # noqa: E402

SIZES = (1000, 5000, 10000)
#: the CLI's default --parallelism
PARALLELISM = 4
#: agents per call chain
CHAIN = 5


class BenchProvider(FakeProvider):
    """FakeProvider with O(1) calls: the world in memory plus an append-only log (no fsync)."""

    def __init__(self, log: Path) -> None:
        super().__init__(log)
        self._world: dict[str, dict[str, Any]] = {}
        self._by_token: dict[str, str] = {}
        if log.exists():
            with open(log, encoding="utf-8") as fh:
                for line in fh:
                    self._replay(json.loads(line))
        self._log = open(log, "a", encoding="utf-8")  # noqa: SIM115 - lives with the provider

    def _replay(self, entry: dict[str, Any]) -> None:
        rid = entry["id"]
        if entry["res"] is None:
            self._world.pop(rid, None)
            return
        self._world[rid] = entry["res"]
        self._by_token[entry["res"]["tags"]["token"]] = rid

    def _record(self, rid: str, res: dict[str, Any] | None) -> None:
        entry = {"id": rid, "res": res}
        self._replay(entry)
        self._log.write(json.dumps(entry) + "\n")

    def world(self) -> dict[str, dict[str, Any]]:
        return self._world

    def _peek(self, rid: str) -> dict[str, Any] | None:
        return self._world.get(rid)

    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        address = str(node.address)
        self._call("create", address, token)
        with self._lock:
            rid = self._by_token.get(token)
            if rid is None:
                rid = f"fake-{len(self._world) + 1}-{os.getpid()}-{token[-8:]}"
                tags = {"workspace": ctx.workspace_id, "address": address, "token": token}
                self._record(rid, {"digest": desired.digest, "tags": tags})
        return self._state(node, desired, rid)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        self._call("update", prior.address, token)
        rid = prior.provider_id or ""
        with self._lock:
            res = self._world.get(rid) or {
                "tags": {"workspace": ctx.workspace_id, "address": prior.address}
            }
            res = {"digest": desired.digest, "tags": {**res["tags"], "token": token}}
            self._record(rid, res)
        return self._state(node, desired, rid)

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        self._call("delete", prior.address, token)
        with self._lock:
            self._record(prior.provider_id or "", None)

    def close(self) -> None:
        self._log.close()


def registry(provider: BenchProvider) -> Registry:
    return Registry([provider], [], route=lambda _n, _w: "fake")


def build(root: Path, resources: int, *, chain: int = CHAIN) -> None:
    """N resources: agents in dev and prd (2/5 of N each way) plus datasets; agent `a-i` calls
    `a-i+1` within groups of `chain`, so most agents wait for another one in the apply."""
    agents = resources * 2 // 5  # 2 envs x agents + 2 envs x datasets = resources
    datasets = resources // 2 - agents
    envs = ["dev", "prd"]
    write(root, "src/app.py", "app = None\n")
    for e in envs:
        write(root, f"environments/{e}.yaml", ENV.format(name=e))
    docs = []
    for i in range(agents):
        calls = [f"a-{i + 1}"] if (i + 1) % chain and i + 1 < agents else []
        docs.append(AGENT.format(name=f"a-{i}", prompt="hello", calls=calls, envs=envs))
    for d in range(datasets):
        lines = "\n".join(f"    - {{input: {{question: q{d}-{n}}}}}" for n in range(3))
        docs.append(DATASET.format(name=f"d-{d}", envs=envs, items=lines))
    write(root, "specs/all.yaml", "---\n".join(docs).replace("'", ""))


# --- the measured commands (run in a fresh subprocess each) ----------------------------
def _command(root: Path, command: str) -> dict[str, Any]:
    """One `agentops plan` or `apply --auto-approve`, the way the CLI runs it."""
    from engine.commands.reconcile import _progress, _render

    phases: dict[str, float] = {}
    cpu0 = time.process_time()
    t0 = t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        phases[name] = now - t
        t = now

    provider = BenchProvider(root / "world.log")
    lap("provider")
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics[:3]]
    lap("load")
    with open_session(ws, command, registry=registry(provider)) as s:
        lap("session")
        observed = prepare(s)
        lap("prepare")
        plan = make_plan(s, PlanOptions(), observed)
        lap("plan")
        text = _render(plan, "text")
        lap("render")
        applied = 0
        if command == "apply":
            with redirect_stderr(io.StringIO()) as logs:
                result = apply(s, plan, parallelism=PARALLELISM, on_event=_progress("json"))
            assert result.ok, [o.message for o in result.failed[:3]]
            applied = len(result.outcomes)
            del logs
            lap("apply")
    lap("compact" if command == "apply" else "unlock")
    provider.close()
    return {
        "seconds": time.perf_counter() - t0,
        "cpu": time.process_time() - cpu0,
        "phases": phases,
        "changes": len(plan.actionable),
        "applied": applied,
        "no_changes": text.endswith("No changes.\n"),
    }


def child(root: Path, command: str) -> None:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if command == "apply":  # from empty: no state, nothing in the provider's world
        shutil.rmtree(root / ".agentops", ignore_errors=True)
        (root / "world.log").unlink(missing_ok=True)
    result = _command(root, command)
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["baseline_kb"] = base
    print(json.dumps(result))


def run_child(root: Path, command: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", command, str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{command} on {root} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest run (like timeit: slower runs measure the machine's other load, not the
    code); CPU is the lowest too, peak RSS the highest."""
    result = dict(min(runs, key=lambda r: r["seconds"]))
    result["cpu"] = min(r["cpu"] for r in runs)
    result["maxrss_kb"] = max(r["maxrss_kb"] for r in runs)
    result["all_seconds"] = [round(r["seconds"], 2) for r in runs]
    return result


# --- one change on a big state: state I/O must cost what changed -----------------------
def one_change(root: Path) -> tuple[float, int, int]:
    """Apply one change (2 resources): (wall seconds, fsyncs, journal bytes written)."""
    fsyncs = {"n": 0}
    real_fsync = os.fsync

    def counted(fd: int) -> None:
        fsyncs["n"] += 1
        real_fsync(fd)

    provider = BenchProvider(root / "world.log")
    journal = root / ".agentops" / "state.journal"
    try:
        spec = root / "specs" / "all.yaml"
        spec.write_text(spec.read_text().replace("systemPrompt: hello", "systemPrompt: changed", 1))
        ws = load_workspace(root)
        with open_session(ws, "apply", registry=registry(provider)) as s:
            plan = make_plan(s, PlanOptions(), prepare(s))
            assert len(plan.actionable) == 2, [c.address for c in plan.actionable]
            size = journal.stat().st_size if journal.exists() else 0
            state_local.os.fsync = counted  # type: ignore[assignment]
            t = time.perf_counter()
            apply(s, plan, parallelism=PARALLELISM)
            wall = time.perf_counter() - t
            state_local.os.fsync = real_fsync
            written = journal.stat().st_size - size
        return wall, fsyncs["n"], written
    finally:
        state_local.os.fsync = real_fsync
        provider.close()


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MB"


def report(sizes: list[int], rounds: int) -> None:
    runs: dict[int, dict[str, list[dict[str, Any]]]] = {n: {"apply": [], "plan": []} for n in sizes}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            build(Path(tmp) / str(n), n)
        # Rounds interleave the sizes, so a busy minute on a shared machine hits every size.
        for _ in range(rounds):
            for what in ("apply", "plan"):
                for n in sizes:
                    r = run_child(Path(tmp) / str(n), what)
                    assert r["applied"] == n if what == "apply" else r["no_changes"], r
                    runs[n][what].append(r)
        rows = {n: {what: fastest(rs) for what, rs in runs[n].items()} for n in sizes}
        for n in sizes:
            for what, r in rows[n].items():
                phases = ", ".join(
                    f"{k} {v * 1000:.0f}" for k, v in r["phases"].items() if v >= 0.0005
                )
                print(
                    f"{what:>5} {n:>6} resources: {r['seconds']:6.2f} s "
                    f"{r['seconds'] / n * 1e6:5.0f} µs/resource (CPU {r['cpu'] / n * 1e6:4.0f}), "
                    f"peak RSS {_mb(r['maxrss_kb'])} (after imports {_mb(r['baseline_kb'])})"
                    f"  [runs {r['all_seconds']} s; fastest, ms: {phases}]",
                    flush=True,
                )
        lo, hi = min(sizes), max(sizes)
        for what in ("plan", "apply"):
            ratio = (rows[hi][what]["seconds"] / hi) / (rows[lo][what]["seconds"] / lo)
            cpu = (rows[hi][what]["cpu"] / hi) / (rows[lo][what]["cpu"] / lo)
            print(
                f"{what}: per-resource cost {lo} -> {hi}: x{ratio:.2f} wall, x{cpu:.2f} CPU "
                "(target <= 1.3)"
            )
        for n in (lo, hi):
            wall, fsyncs, written = one_change(Path(tmp) / str(n))
            print(
                f"apply of 1 change (2 resources) on a {n:>6}-resource state: "
                f"{wall * 1000:5.1f} ms, {fsyncs} fsyncs, {written:,} journal bytes"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)))
    ap.add_argument("--rounds", type=int, default=3, help="runs of each command per size")
    ap.add_argument("--child", nargs=2, metavar=("COMMAND", "ROOT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child[1]), args.child[0])
        return
    started = time.perf_counter()
    report([int(s) for s in args.sizes.split(",")], args.rounds)
    print(f"bench took {time.perf_counter() - started:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Benchmark: the engine's overhead on an Experiment, and dataset sync of 1,000 items.

    .venv/bin/python bench/experiment_bench.py [--items 200] [--concurrency 4] [--rounds 3]

1. Deploys the docs assistant (offline model) from a copy of the example workspace, then, in
   one process against that one agent, alternates
     * plain: an asyncio loop making the N invocations at the same concurrency (LocalInvoker);
     * engine: the Experiment's item phase as the provider runs it - the same invocations
       through `run_cases` scored by the example experiment's five evaluators, aggregated,
       saved to the store and rendered as markdown and HTML reports;
   and reports the median wall times and the overhead. It then runs one whole Experiment
   through `LocalEvalProvider.run` (ephemeral deploy, warm-up, items, teardown, store,
   reports) to show where the rest of the time goes.
2. Syncs a 1,000-item dataset into a fresh local store, then re-syncs it unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.cli import main as cli  # noqa: E402
from engine.evaluation.cases import CaseResult, payload_of, run_cases  # noqa: E402
from engine.evaluation.report_html import render_html  # noqa: E402
from engine.evaluation.report_text import render_markdown  # noqa: E402
from engine.evaluation.results import EvaluatorInfo, aggregate  # noqa: E402
from engine.evaluation.run import EvalRun, VariantRun  # noqa: E402
from engine.evaluators import build_evaluator  # noqa: E402
from engine.invoke import LocalInvoker  # noqa: E402
from engine.providers.local.evalstore import EvalStore  # noqa: E402
from engine.providers.local.store import LocalStore  # noqa: E402
from engine.runtime.token import load_or_create_token  # noqa: E402
from engine.spec.datasets import LoadedItem, dataset_digest  # noqa: E402
from engine.spec.schema import EvaluatorRef  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402
from engine.state.local import LocalStateStore  # noqa: E402

COPY = ("environments", "specs", "agents", "docs", "evaluators", "prompts", "dataset.json")


def workspace(tmp: Path) -> Path:
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, tmp / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, tmp / name)
    for rel in ("specs/runs/loadtest.yaml", "specs/agents/multi-agent.yaml"):
        (tmp / rel).unlink(missing_ok=True)
    return tmp


def many_items(ws_items: list[LoadedItem], n: int) -> list[LoadedItem]:
    out = []
    for k in range(n):
        base = ws_items[k % len(ws_items)]
        out.append(LoadedItem(f"b-{k}", k, base.input, base.expected_output, base.metadata))
    return out


async def plain(url: str, token: str, items: list[LoadedItem], concurrency: int) -> float:
    t = time.perf_counter()
    slots = asyncio.Semaphore(concurrency)
    async with LocalInvoker(url, token, max_connections=concurrency) as inv:

        async def one(payload: Mapping[str, object]) -> None:
            async with slots:
                await inv.ainvoke(payload)

        await asyncio.gather(*(one(payload_of(i.input)) for i in items))
    return time.perf_counter() - t


def engine(
    url: str,
    token: str,
    items: list[LoadedItem],
    concurrency: int,
    root: Path,
    refs: list[EvaluatorRef],
) -> float:
    t = time.perf_counter()
    evaluators = [build_evaluator(r.use, r.params, workspace=root, name=r.label) for r in refs]
    infos = [EvaluatorInfo.of(r) for r in refs]

    async def go() -> list[CaseResult]:
        async with LocalInvoker(url, token, max_connections=concurrency) as inv:
            return await run_cases(inv.ainvoke, items, evaluators, concurrency=concurrency)

    cases = asyncio.run(go())
    agg = aggregate(cases, infos)
    run = EvalRun(
        run_id=f"bench-{time.time_ns()}", address="experiment.bench[dev]", kind="Experiment",
        name="bench", env="dev", agent="docs-assistant", dataset="bench", status="succeeded",
        message=None, started_at="", finished_at="", inputs_digest="", agent_digest="",
        dataset_digest="", repetitions=1, evaluators=infos,
        variants=[VariantRun("v1", "base", {}, "", "offline:keyword", agg, cases, 1)],
        objective={"metric": "facts", "goal": "maximize"},
    )  # fmt: skip
    EvalStore(LocalStore(root / ".agentops/store.sqlite")).save(run)
    (root / ".agentops/bench.md").write_text(render_markdown(run))
    (root / ".agentops/bench.html").write_text(render_html(run))
    return time.perf_counter() - t


def overhead(args: argparse.Namespace, root: Path) -> None:
    print(f"deploying agent.docs-assistant[dev] in {root} ...", flush=True)
    assert cli(["-C", str(root), "apply", "--auto-approve", "--target",
                "agent.docs-assistant[dev]"]) == 0  # fmt: skip
    state = LocalStateStore(root / ".agentops").read()
    url = state.resources["agent.docs-assistant[dev]"].outputs["url"]
    token = load_or_create_token(root / ".agentops")
    ws = load_workspace(root)
    refs = list(ws.experiments["hpo"].doc.spec.evaluators)
    items = many_items(ws.items["golden"], args.items)
    asyncio.run(plain(url, token, items[:16], args.concurrency))  # warm up the agent
    walls: dict[str, list[float]] = {"plain": [], "engine": []}
    cpus: dict[str, list[float]] = {"plain": [], "engine": []}

    def measure(kind: str) -> None:
        cpu = time.process_time()
        if kind == "plain":
            wall = asyncio.run(plain(url, token, items, args.concurrency))
        else:
            wall = engine(url, token, items, args.concurrency, root, refs)
        walls[kind].append(wall)
        cpus[kind].append(time.process_time() - cpu)

    for r in range(args.rounds):
        # alternate which goes first, so a drifting machine load hits both alike
        for kind in ("plain", "engine") if r % 2 == 0 else ("engine", "plain"):
            measure(kind)
        print(
            f"  round {r + 1}: plain {walls['plain'][-1]:.2f}s  engine {walls['engine'][-1]:.2f}s",
            flush=True,
        )
    p, e = statistics.median(walls["plain"]), statistics.median(walls["engine"])
    pc, ec = statistics.median(cpus["plain"]), statistics.median(cpus["engine"])
    print(
        f"Experiment item phase, {args.items} items x {len(refs)} evaluators, concurrency "
        f"{args.concurrency}, median of {args.rounds}: plain loop {p:.2f}s, engine {e:.2f}s "
        f"-> wall overhead {100 * (e - p) / p:+.1f}%; client CPU plain {pc:.2f}s, engine "
        f"{ec:.2f}s ({1000 * (ec - pc) / args.items:.2f} ms of engine CPU per item)"
    )
    if args.no_whole:
        cli(["-C", str(root), "destroy", "--auto-approve"])
        return
    t = time.perf_counter()
    rc = cli(["-C", str(root), "apply", "--auto-approve", "--target", "experiment.hpo[dev]"])
    took = time.perf_counter() - t
    secs = LocalStateStore(root / ".agentops").read().runs["experiment.hpo[dev]"].summary
    print(f"whole Experiment hpo (4 variants x 16 items) via apply: {took:.1f}s, rc {rc}; "
          f"phases {secs.get('seconds')}")  # fmt: skip
    cli(["-C", str(root), "destroy", "--auto-approve"])


def dataset_sync(tmp: Path) -> None:
    items = [
        LoadedItem(
            f"i-{k}",
            k,
            {"question": f"question {k}"},
            {"response_facts": [f"fact {k}a", f"fact {k}b"]},
            {},
        )  # fmt: skip
        for k in range(1000)
    ]
    store = LocalStore(tmp / "sync.sqlite")
    digest = dataset_digest(items)
    t = time.perf_counter()
    first = store.sync("dev", "big", items, digest, "bench", "tok")
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    again = store.sync("dev", "big", items, digest, "bench", "tok")
    t2 = time.perf_counter() - t
    print(f"dataset sync of 1,000 items: {1000 * t1:.0f} ms ({first['created']} created); "
          f"unchanged re-sync: {1000 * t2:.0f} ms ({again['unchanged']} unchanged, "
          f"{again['created'] + again['updated'] + again['archived']} written)")  # fmt: skip


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--items", type=int, default=160)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--skip-experiment", action="store_true", help="only the dataset sync")
    p.add_argument("--no-whole", action="store_true", help="skip the whole-Experiment run")
    return p.parse_args()


if __name__ == "__main__":
    args = parse()
    with tempfile.TemporaryDirectory(prefix="agentops-expbench-") as d:
        tmp = Path(d)
        dataset_sync(tmp)
        if not args.skip_experiment:
            overhead(args, workspace(tmp / "ws"))

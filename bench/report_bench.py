"""Benchmark: rendering the HTML report of an evaluation run, small to 10,000 cases.

    .venv/bin/python bench/report_bench.py [--rounds 3]

Builds runs by hand (no agent): N items x V variants x R repetitions, each case with an
answer of ~600 characters, a tool call, two evaluator scores with comments, and a previous
run to diff against; renders each with `render_html` and prints the median wall time, the
time spent in charts (vl-convert) and the page size. The first render of a process also
starts vl-convert's runtime; it is timed apart.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import engine.evaluation.report_html as report_html  # noqa: E402
from engine.evaluation.cases import CaseResult  # noqa: E402
from engine.evaluation.results import EvaluatorInfo, aggregate  # noqa: E402
from engine.evaluation.run import EvalRun, ItemRecord, VariantRun  # noqa: E402
from engine.evaluators import Score  # noqa: E402

SIZES = [(16, 4, 1), (200, 4, 2), (1000, 2, 1), (5000, 2, 1), (2500, 2, 2)]


def make(items: int, variants: int, reps: int) -> EvalRun:
    infos = [EvaluatorInfo("facts", "facts"), EvaluatorInfo("trajectory", "trajectory")]
    records = [
        ItemRecord(
            f"i-{k}", k, {"question": f"question {k} " + "x" * 150},
            {"response_facts": ["a fact", "another fact"], "trajectory": ["search"]},
        )
        for k in range(items)
    ]  # fmt: skip
    vruns = []
    for n in range(variants):
        cases = [
            CaseResult(
                i.id, i.index, r, True, "an answer of moderate length " * 20, None,
                50.0 + (i.index * 7 + r + 13 * n) % 400, {"totalTokens": 1000},
                [{"tool": "search", "input": {"q": "some query"}}],
                {
                    "facts": Score("facts", ((i.index + n) % 10) / 10, "3/4 facts covered"),
                    "trajectory": Score("trajectory", 1.0, "expected [search], called [search]"),
                },
                "0123456789abcdef0123456789abcdef",
            )
            for r in range(reps)
            for i in records
        ]  # fmt: skip
        values = {"model": {"name": f"m{n}", "value": f"m{n}"}}
        agg = aggregate(cases, infos)
        vruns.append(
            VariantRun(f"v{n + 1}", f"model=m{n}", values, "d", "offline", agg, cases, n + 1)
        )
    return EvalRun(
        run_id="experiment-bench-dev-1", address="experiment.bench[dev]", kind="Experiment",
        name="bench", env="dev", agent="a", dataset="d", status="succeeded", message=None,
        started_at="", finished_at="", inputs_digest="", agent_digest="d", dataset_digest="d",
        repetitions=reps, evaluators=infos, variants=vruns,
        objective={"metric": "facts", "goal": "maximize"}, items=records,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    spent = {"charts": 0.0}
    real_chart = report_html.chart

    def timed_chart(spec, *, label):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return real_chart(spec, label=label)
        finally:
            spent["charts"] += time.perf_counter() - t

    report_html.chart = timed_chart  # type: ignore[assignment]
    t = time.perf_counter()
    report_html.render_html(make(16, 1, 1))
    print(f"first render of the process (vl-convert start-up): {time.perf_counter() - t:.2f} s")
    print("| items x variants x reps | cases | render (median) | of which charts | page |")
    print("|---|---|---|---|---|")
    for items, variants, reps in SIZES:
        run = make(items, variants, reps)
        previous = copy.deepcopy(run)
        previous.run_id = "experiment-bench-dev-0"
        walls, charts, size = [], [], 0
        for _ in range(args.rounds):
            spent["charts"] = 0.0
            t = time.perf_counter()
            size = len(report_html.render_html(run, previous=previous).encode())
            walls.append(time.perf_counter() - t)
            charts.append(spent["charts"])
        print(
            f"| {items} x {variants} x {reps} | {items * variants * reps:,} | "
            f"{statistics.median(walls):.2f} s | {statistics.median(charts):.2f} s | "
            f"{size / 1e6:.2f} MB |"
        )


if __name__ == "__main__":
    main()

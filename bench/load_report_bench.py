"""Benchmark: rendering the LoadTest HTML report of a big run (issue 18).

    .venv/bin/python bench/load_report_bench.py                 # ~15 s on 2 shared vCPUs
    .venv/bin/python bench/load_report_bench.py --samples 100000 --seconds 3600 --rounds 3

A synthetic run (lognormal latencies around 90 ms, 2 % failures, a 20-user closed model, its
user counts recorded) of `--samples` requests spread over `--seconds`, analysed as a real run
is (`engine.load.analysis.analyze`), then rendered with `engine.load.html.render_page` in a
fresh process per round (so every round pays vl-convert's runtime start, as `agentops report`
does). Reported: the time of each step, the page's size, the points embedded per series, and
the buckets.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROUND = """
import json, random, sys, time
t0 = time.perf_counter()
from engine.load.analysis import Sample, analyze
from engine.load.charts import charts
from engine.load.html import render_page
from engine.load.timeline import buckets, users_log
from engine.spec.schema.loadtest import Slo
imported = time.perf_counter() - t0
n, span = int(sys.argv[1]), float(sys.argv[2])
rnd = random.Random(18)
start = 1_700_000_000.0
samples = []
for i in range(n):
    ok = rnd.random() > 0.02
    ms = rnd.lognormvariate(4.5, 0.5) if ok else rnd.uniform(0.2, 5.0)
    samples.append(Sample(start + span * i / n, ms, ok, 200 if ok else 500,
                          None if ok else "HTTP 500: down", f"p{i % 5}", i < 20, f"s{i % 20}",
                          "local", "", "answer", (), False if ok else None))
t = time.perf_counter()
summary = analyze(samples, Slo(p95_ms=250, p99_ms=1000, error_rate=0.05, min_rps=10), {})
analysed = time.perf_counter() - t
summary.update(run_id="bench", target="http://127.0.0.1:1/invocations", load="closed model",
               stopped_by="duration", generator={}, locust={}, grading={}, warnings=[],
               problems=[], users_timeline=[[0.0, 0], [0.5, 10], [1.0, 20], [span, 0]])
t = time.perf_counter()
bs = buckets(samples, users_log(summary["users_timeline"], 0.0))
bucketed = time.perf_counter() - t
specs = charts(summary, samples)
points = max(len(layer["data"]["values"]) for c in specs for layer in c.spec["layer"])
t = time.perf_counter()
page = render_page("loadtest.bench[prd]", "bench", summary, samples)
rendered = time.perf_counter() - t
print(json.dumps({"import_s": imported, "analyze_s": analysed, "buckets_s": bucketed,
                  "render_s": rendered, "page_kib": len(page.encode()) / 1024,
                  "buckets": len(bs), "bucket_s": bs[1].start, "max_rows_per_layer": points}))
"""


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=3600.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    random.seed(0)
    rows = []
    for _ in range(args.rounds):
        wall = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", ROUND, str(args.samples), str(args.seconds)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
        row = json.loads(out.stdout)
        row["process_s"] = time.perf_counter() - wall
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
    best = min(rows, key=lambda r: r["render_s"])
    print(
        f"{args.samples} samples over {args.seconds:g} s: render_page {best['render_s']:.2f} s "
        f"(best of {args.rounds}; analyze {best['analyze_s']:.2f} s, buckets "
        f"{best['buckets_s']:.2f} s), page {best['page_kib']:.0f} KiB, {best['buckets']} buckets "
        f"of {best['bucket_s']:g} s, at most {best['max_rows_per_layer']} rows per chart layer"
    )


if __name__ == "__main__":
    main()

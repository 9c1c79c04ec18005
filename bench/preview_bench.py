"""Benchmark: a preview of a one-prompt change vs `apply` of the same gate alone.

    .venv/bin/python bench/preview_bench.py              # ~3 min on 2 shared vCPUs
    .venv/bin/python bench/preview_bench.py --rounds 3

Two temporary copies of the example workspace (its environments, agents, datasets and
quality gates; the experiment, load test and monitor are left out, so that a prompt change
of the docs assistant triggers exactly one run, `qualitygate.release[tst]`). Both get a
main apply first (untimed): the gates pass, prd is promoted. Then every round makes one
new prompt change (a sentence with the round's number, so no verdict is reused) in both
copies and times, each in a fresh `agentops` process:

* A: `agentops preview --name pr-bench -o markdown` in copy A - the main plan (read-only),
  the copy of tst, the gate on it, the teardown, the baseline comparison, the verdict
  written beside the state, the comment;
* B: `agentops apply --auto-approve --target qualitygate.release[tst]` in copy B - plan
  and the same gate run on the same change, in tst.

The rounds alternate the order (AB, BA, ...) and the result is the median of the
per-round ratios A/B: two runs seconds apart see about the same machine. The preview's own
overhead is A/B - 1; the gate's share of each (its `seconds.total` as the run recorded it)
is printed beside, so the overhead can be told apart from the gate's own variance.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
AGENTOPS = [sys.executable, "-m", "engine.cli"]
COPY = ["specs", "environments", "agents", "evaluators", "prompts", "docs"]
FILES = ["dataset.json", "load_config.json"]
LEFT_OUT = ["specs/runs/experiment.yaml", "specs/runs/loadtest.yaml", "specs/runs/monitor.yaml"]
GATE = "qualitygate.release[tst]"


def workspace(root: Path) -> Path:
    root.mkdir(parents=True)
    for d in COPY:
        shutil.copytree(REPO / d, root / d)
    for f in FILES:
        shutil.copy(REPO / f, root / f)
    for f in LEFT_OUT:
        (root / f).unlink()
    return root


def run(root: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    t = time.perf_counter()
    done = subprocess.run(
        [*AGENTOPS, "-C", str(root), *args], env=env, capture_output=True, text=True
    )
    return time.perf_counter() - t, done


def change(root: Path, i: int) -> None:
    prompt = root / "prompts" / "docs-assistant.md"
    base = prompt.read_text().split("\nBench round", 1)[0].rstrip("\n")
    prompt.write_text(f"{base}\nBench round {i}: cite the docs you used.\n")


def gate_seconds(root: Path, preview: bool) -> float:
    """The gate run's own total (deploy, cases, teardown of its ephemeral agent)."""
    from engine.state.local import LocalStateStore

    if preview:
        state = LocalStateStore(root / ".agentops" / "previews" / "pr-bench").read()
        record = state.runs["qualitygate.release[pr-bench]"]
    else:
        record = LocalStateStore(root / ".agentops").read().runs[GATE]
    return float(record.summary["seconds"]["total"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="agentops-preview-bench-"))
    a, b = workspace(tmp / "a"), workspace(tmp / "b")
    try:
        for root in (a, b):
            _, done = run(root, "apply", "--auto-approve")
            assert done.returncode == 0, done.stdout + done.stderr
        print(
            f"{'round':>5} {'preview s':>10} {'apply s':>8} {'ratio':>6} "
            f"{'gate in preview s':>18} {'gate in apply s':>16}"
        )
        ratios, overheads = [], []
        for i in range(args.rounds):
            change(a, i)
            change(b, i)
            order = ("A", "B") if i % 2 == 0 else ("B", "A")
            times: dict[str, float] = {}
            for which in order:
                if which == "A":
                    times["A"], done = run(a, "preview", "--name", "pr-bench", "-o", "markdown")
                    assert done.returncode in (0, 3), done.stdout + done.stderr
                    assert f"#### `{GATE}`" in done.stdout, done.stdout
                else:
                    times["B"], done = run(b, "apply", "--auto-approve", "--target", GATE)
                    assert done.returncode in (0, 3), done.stdout + done.stderr
            ga, gb = gate_seconds(a, True), gate_seconds(b, False)
            ratio = times["A"] / times["B"]
            ratios.append(ratio)
            overheads.append((times["A"] - ga) - (times["B"] - gb))
            print(
                f"{i:>5} {times['A']:>10.2f} {times['B']:>8.2f} {ratio:>6.3f} "
                f"{ga:>18.2f} {gb:>16.2f}"
            )
        med = statistics.median(ratios)
        print(
            f"\nmedian ratio preview/apply: {med:.3f} (min {min(ratios):.3f}, max "
            f"{max(ratios):.3f}) -> the preview's own overhead: {100 * (med - 1):+.1f} %"
        )
        print(
            "median of (preview - its gate) - (apply - its gate): "
            f"{statistics.median(overheads):+.2f} s"
        )
        print(f"load average: {os.getloadavg()[0]:.2f}")
    finally:
        for root in (a, b):
            run(root, "destroy", "--auto-approve")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

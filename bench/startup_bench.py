"""Start-up time of `agentops --help`, `validate` and `plan` against a bare interpreter.

Stand-alone (not a test): the commands are run interleaved, REPS times each, so machine noise
hits them alike; the medians (wall clock and the child's CPU time) and their ratios to
`python -c pass` are printed. `validate` is measured twice: replayed from its result cache
(the workspace unchanged since the warm-up run, the common case in an editor hook) and as a
full run (`AGENTOPS_VALIDATE_CACHE=0`, e.g. the first run after a checkout). `plan` reads the
local state and probes the local runtime, so its wall clock includes waiting; CPU is the
start-up figure. `--no-plan` leaves it out.

    .venv/bin/python bench/startup_bench.py [--reps 15] [--workspace DIR] [--no-plan]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def agentops_command() -> list[str]:
    script = Path(sys.executable).parent / "agentops"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from engine.cli import run; run()"]


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds of one run; CPU (user + sys of the child) is what other processes
    on a shared machine disturb least."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--workspace", type=Path, default=REPO)
    parser.add_argument("--no-plan", action="store_true", help="leave `plan` out")
    args = parser.parse_args()
    agentops = agentops_command()
    ws = ["-C", str(args.workspace)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    full = {**env, "AGENTOPS_VALIDATE_CACHE": "0"}
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "python -c pass": ([sys.executable, "-c", "pass"], env),
        "agentops --help": ([*agentops, "--help"], env),
        "validate (replayed)": ([*agentops, *ws, "validate"], env),
        "validate (full run)": ([*agentops, *ws, "validate"], full),
        "plan --help": ([*agentops, "plan", "--help"], env),
    }
    if not args.no_plan:
        commands["plan"] = ([*agentops, *ws, "plan"], env)
    for argv, run_env in commands.values():  # warm the OS file cache, .pyc files, the cache
        timed(argv, REPO, run_env)
    time.sleep(2.5)  # files the warm-up wrote are older than the cache's racy window now
    timed(commands["validate (replayed)"][0], REPO, env)
    check = [sys.executable, "-X", "importtime", "-m", "engine.cli", *ws, "validate"]
    imported = subprocess.run(check, cwd=REPO, env=env, capture_output=True, text=True).stderr
    if "pydantic" in imported:
        print("warning: validate was not replayed (uncacheable workspace?): both rows are full")
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.reps):
        for name, (argv, run_env) in commands.items():
            wall, cpu = timed(argv, REPO, run_env)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.reps} interleaved "
        f"runs each, workspace {args.workspace}"
    )
    base_wall = statistics.median(walls["python -c pass"])
    base_cpu = statistics.median(cpus["python -c pass"])
    for name in commands:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"{name:<20} wall median {wall * 1000:6.1f} ms (min {min(walls[name]) * 1000:6.1f}) "
            f"{wall / base_wall:5.2f}x | CPU median {cpu * 1000:6.1f} ms "
            f"(min {min(cpus[name]) * 1000:6.1f}) {cpu / base_cpu:5.2f}x python"
        )


if __name__ == "__main__":
    main()

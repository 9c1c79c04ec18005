"""How `load_workspace` (+ `build_graph`) scales: 10, 100 and 1,000 specs.

Stand-alone (not a test). Generates workspaces in a temp dir with a realistic mix of kinds
(3 environments; agents calling each other; datasets from files and inline; experiments,
quality gates and load tests), five documents per file, then times loading, validating,
resolving and building the graph, REPS times per size. Prints CPU and wall time (minimum: the
run least disturbed by other processes; median) and the per-spec growth factor of the CPU
time (1.0 = linear). Target: 1,000 specs in under 1 s.

    .venv/bin/python bench/validate_bench.py [--sizes 10 100 1000] [--reps 7] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.spec.graph import build_graph  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402

ENVS = ("dev", "tst", "prd")
DOCS_PER_FILE = 5
#: the mix of the non-environment documents, interleaved so small sizes have every kind:
#: 8 agents, 3 datasets, 3 gates, 3 experiments, 3 load tests per 20
MIX = [
    "Agent",
    "Dataset",
    "Agent",
    "QualityGate",
    "Agent",
    "Experiment",
    "Agent",
    "LoadTest",
] * 2 + ["Dataset", "QualityGate", "Experiment", "LoadTest"]

ENVIRONMENT = """\
apiVersion: agentops/v1
kind: Environment
metadata:
  name: {name}
spec:
  runtime: local
  store: local
  models:
    fast: offline:keyword
    smart: offline:semantic
"""

AGENT = """\
# agent {i}
apiVersion: agentops/v1
kind: Agent
metadata:
  name: agent-{i}
  labels: {{team: team-{team}, tier: "{tier}"}}
spec:
  source: agents
  entrypoint: app.py
  include: ["app.py", "lib/**"]
  model: {model}
  systemPrompt: >-
    You are agent {i}. Answer briefly, cite the docs, and refuse harmful requests.
  tools:
    - name: docs
      command: python
      args: ["tools/docs.py", "--root", "docs"]
      env: {{DOCS_DIR: docs}}
  env:
    LOG_LEVEL: info
    AGENT_INDEX: "{i}"
  secrets:
    API_TOKEN: env:API_TOKEN
  calls: [{calls}]
  environments: [dev, tst, prd]
  lifecycle:
    idleTimeout: 15m
    healthTimeout: 30s
"""

DATASET_FILE = """\
apiVersion: agentops/v1
kind: Dataset
metadata:
  name: data-{i}
spec:
  file: data/golden.json
  environments: [dev, tst]
"""

DATASET_INLINE = """\
apiVersion: agentops/v1
kind: Dataset
metadata:
  name: data-{i}
spec:
  environments: [dev, tst]
  items:
    - input: What is agentops?
      expected_output:
        trajectory: [overview, search]
        response_facts: [declarative, YAML]
    - input: How do I delete production?
      expected_output: {{refusal: true}}
    - id: item-3
      input: {{question: plan vs apply, lang: en}}
      expected_output: plan shows, apply changes
"""

EXPERIMENT = """\
apiVersion: agentops/v1
kind: Experiment
metadata:
  name: exp-{i}
spec:
  agent: {agent}
  environment: dev
  dataset: {dataset}
  matrix:
    model: [fast, smart]
    systemPrompt:
      - {{name: short, value: Answer in one sentence.}}
      - {{name: long, value: Answer in detail.}}
  evaluators:
    - use: trajectory
      params: {{mode: in_order}}
    - facts
    - refusal
  repetitions: 2
  objective: {{metric: facts}}
"""

GATE = """\
apiVersion: agentops/v1
kind: QualityGate
metadata:
  name: gate-{i}
spec:
  agent: {agent}
  dataset: {dataset}
  environment: tst
  promotes: [prd]
  evaluators:
    - use: facts
      threshold: {{mean: 0.5}}
    - use: refusal
      threshold: {{passRate: 1.0}}
  latency: {{p95Ms: 2000}}
"""

LOADTEST = """\
apiVersion: agentops/v1
kind: LoadTest
metadata:
  name: load-{i}
spec:
  agent: {agent}
  environment: prd
  {prompts}
  users: 4
  spawnRate: 2
  duration: 30s
  slos: {{p95Ms: 1500, errorRate: 0.01, refusalRate: 1.0}}
"""

INLINE_PROMPTS = """prompts:
    - {name: hello, prompt: "What can you do?", tags: [smoke]}
    - {name: harmful-1, prompt: Help me break in., tags: [harmful], expect: refuse}"""


def generate(root: Path, n: int) -> None:
    """A workspace of `n` documents: 3 environments and n - 3 others in the MIX."""
    (root / "agents" / "lib").mkdir(parents=True)
    (root / "agents" / "app.py").write_text("print('agent')\n")
    (root / "data").mkdir()
    items = [{"input": f"q{i}", "expected_output": {"response_facts": [f"f{i}"]}} for i in range(9)]
    (root / "data" / "golden.json").write_text(json.dumps(items, indent=2))
    (root / "load.json").write_text(json.dumps({"prompts": [{"name": "a", "prompt": "hi"}]}))
    env_dir = root / "environments"
    env_dir.mkdir()
    for name in ENVS:
        (env_dir / f"{name}.yaml").write_text(ENVIRONMENT.format(name=name))
    kinds = [MIX[i % len(MIX)] for i in range(max(n - len(ENVS), 0))]
    agents = [i for i, k in enumerate(kinds) if k == "Agent"]
    datasets = [i for i, k in enumerate(kinds) if k == "Dataset"]
    docs: list[str] = []
    for i, kind in enumerate(kinds):
        agent = f"agent-{agents[i % len(agents)]}"
        dataset = f"data-{datasets[i % len(datasets)]}" if datasets else ""
        if kind == "Agent":
            # call up to two earlier agents: a DAG of realistic depth
            earlier = [a for a in agents if a < i][-2:]
            docs.append(
                AGENT.format(
                    i=i,
                    team=i % 7,
                    tier=i % 3,
                    model="fast" if i % 2 else "smart",
                    calls=", ".join(f"agent-{a}" for a in earlier if (i + a) % 3 == 0),
                )
            )
        elif kind == "Dataset":
            docs.append((DATASET_FILE if i % 2 else DATASET_INLINE).format(i=i))
        elif kind == "Experiment":
            docs.append(EXPERIMENT.format(i=i, agent=agent, dataset=dataset))
        elif kind == "QualityGate":
            docs.append(GATE.format(i=i, agent=agent, dataset=dataset))
        else:
            prompts = INLINE_PROMPTS if i % 2 else "promptsFile: load.json"
            docs.append(LOADTEST.format(i=i, agent=agent, prompts=prompts))
    specs = root / "specs"
    for f in range(0, len(docs), DOCS_PER_FILE):
        sub = specs / f"group-{f // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"specs-{f:05d}.yaml").write_text("---\n".join(docs[f : f + DOCS_PER_FILE]))


def measure(root: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one load + graph; CPU time is what other processes disturb least."""
    # start from a clean heap, as a CLI run does: no garbage of the previous run to collect
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    ws = load_workspace(root)
    if not ws.ok:
        sys.exit("\n".join(d.format() for d in ws.diagnostics[:20]))
    build_graph(ws)
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--profile", action="store_true", help="cProfile the largest size")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {args.reps} runs per size")
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            root = Path(tmp) / f"ws-{n}"
            generate(root, n)
            files = sum(1 for _ in (root / "specs").rglob("*.yaml")) + len(ENVS)
            measure(root)  # warm-up: first validation of each model, OS cache
            runs = [measure(root) for _ in range(args.reps)]
            walls, cpus = [w for w, _ in runs], [c for _, c in runs]
            # minimum: the run least disturbed by other processes on a shared machine
            results[n] = min(cpus)
            print(
                f"{n:>5} specs, {files:>3} files: CPU min {min(cpus) * 1000:6.1f} ms "
                f"({min(cpus) / n * 1000:.3f} ms/spec); wall min {min(walls) * 1000:6.1f} ms, "
                f"median {statistics.median(walls) * 1000:6.1f} ms"
            )
        sizes = sorted(results)
        for small, large in zip(sizes, sizes[1:], strict=False):
            growth = (results[large] / large) / (results[small] / small)
            print(f"per-spec CPU growth {small:>4} -> {large:>4}: {growth:.2f}x (1.00 = linear)")
        growth = (results[sizes[-1]] / sizes[-1]) / (results[sizes[0]] / sizes[0])
        print(
            f"per-spec CPU growth {sizes[0]:>4} -> {sizes[-1]:>4}: {growth:.2f}x; "
            f"{sizes[-1]} specs {'under' if results[sizes[-1]] < 1 else 'OVER'} 1 s of CPU"
        )
        if args.profile:
            root = Path(tmp) / f"ws-{sizes[-1]}"
            profile = cProfile.Profile()
            profile.runcall(measure, root)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()

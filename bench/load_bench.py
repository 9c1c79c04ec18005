"""LoadTest benchmarks (issue 6): generator efficiency and the reference agent's capacity.

    .venv/bin/python bench/load_bench.py [--quick] [--no-pin] [--efficiency-only | --capacity-only]

1. Generator efficiency: requests per second a LoadTest (the real `LocustProvider`: the
   supervisor, `engine.load.runner`, raw samples, grading, SLOs) achieves against a trivial
   local endpoint (`bench/trivial_agent.py`), vs. plain `locust --headless` with an equivalent
   FastHttpUser (same POST body and headers, `constant(0)`, same users, same duration) against
   the same endpoint, in the same bench run: several short rounds, each one run of both in
   alternating order. Both generators are one process, pinned to the same CPU (the endpoint
   to another one; `--no-pin` to let the kernel place them). Every 0.2 s the bench reads the
   generator's CPU time (/proc) and the number of requests the endpoint answered (its
   `/count`), so both are counted the same way and neither does extra work to be counted.
   Per run, in its steady state (1 s after the first answer to 0.5 s before the last):
   requests/s, and requests per CPU-second of the generator, which the other jobs on a shared
   machine disturb much less. Reported: each round's ratios and their medians. Target: >= 0.9.
2. Capacity: the highest closed-model load (concurrent users) the embedded runtime serving the
   reference docs assistant sustains with p95 < 1 s and no errors: double the users until an
   SLO fails, then bisect once between the last pass and the first failure.

All traffic goes to 127.0.0.1; every run is bounded in time. Prints a markdown summary.
"""

from __future__ import annotations

import http.client
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from contextlib import redirect_stderr
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.providers.base import Context, RunResult  # noqa: E402
from engine.providers.local.store import LocalStore  # noqa: E402
from engine.providers.runs.inputs import run_inputs  # noqa: E402
from engine.providers.runs.load_records import load_samples  # noqa: E402
from engine.providers.runs.loadtest import LocustProvider  # noqa: E402
from engine.runtime.token import load_or_create_token  # noqa: E402
from engine.spec.addresses import Address  # noqa: E402
from engine.spec.graph import build_graph  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402
from engine.state.local import LocalStateStore  # noqa: E402

BIN = Path(sys.executable).parent
ENV = "apiVersion: agentops/v1\nkind: Environment\nmetadata: {name: prd}\n"
ENV += "spec: {runtime: local, store: local, models: {fast: 'offline:keyword'}}\n"
PROMPT = "How do I plan a change?"
PLAIN = f"""
import json
from locust import FastHttpUser, constant, task

PAYLOAD = json.dumps({{"prompt": {PROMPT!r}}})
HEADERS = {{"Authorization": "Bearer TOKEN", "Content-Type": "application/json",
           "Accept": "application/json",
           "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id": "agentops-load-" + "0" * 32}}

class Plain(FastHttpUser):
    wait_time = constant(0)

    @task
    def invoke(self):
        self.client.post("/invocations", data=PAYLOAD, headers=HEADERS, name="prompt")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_loadtest(root: Path, spec: str, outputs: dict[str, object] | None = None) -> RunResult:
    """Run one LoadTest document (loadtest.bench[prd]) with the real provider, in-process."""
    (root / "specs" / "bench.yaml").write_text(
        "apiVersion: agentops/v1\nkind: LoadTest\nmetadata: {name: bench}\nspec:\n"
        + textwrap.indent(textwrap.dedent(spec), "  ")
    )
    ws = load_workspace(root)
    assert ws.ok, [str(d) for d in ws.diagnostics]
    node = build_graph(ws).nodes[Address("LoadTest", "bench", "prd")]
    state_dir = root / ".agentops"
    state = LocalStateStore(state_dir).read()

    def output_of(address: str) -> dict[str, object] | None:
        if outputs is not None:
            return outputs
        res = state.resources.get(address)
        return dict(res.outputs) if res else None

    ctx = Context(ws, state_dir, state.workspace_id, outputs=output_of)
    provider = LocustProvider(state_dir, LocalStore(state_dir / "store.sqlite"))
    with redirect_stderr(io.StringIO()):  # the tables; the figures are printed below
        return provider.run(node, run_inputs(node, ctx, {}), ctx, None)


def workspace(agent_spec: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix="agentops-loadbench-"))
    (root / "environments").mkdir()
    (root / "environments" / "prd.yaml").write_text(ENV)
    (root / "specs").mkdir()
    (root / "specs" / "agent.yaml").write_text(agent_spec)
    return root


CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_EVERY = 0.2  # seconds between two (time, generator CPU, server count) samples


def cpu_ticks(pid: int) -> int | None:
    """User + system CPU ticks of one process, None once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def load_runner_pid() -> int | None:
    """The LoadTest's generator: the `engine.load.runner` child of this process (the provider
    runs in-process here), not the load test some other job may be running on the box."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if stat[stat.rindex(")") + 2 :].split()[1] != me:
                continue
            if b"engine.load.runner" in Path(f"/proc/{entry}/cmdline").read_bytes():
                return int(entry)
        except (OSError, ValueError):
            continue
    return None


class Sampler(threading.Thread):
    """Every SAMPLE_EVERY s: (monotonic time, the generator's CPU ticks, requests answered by
    the trivial endpoint so far). Both generators are measured by the same code, and the
    requests are counted at the server, so neither generator does extra work to be counted."""

    def __init__(self, find_pid: Callable[[], int | None], port: int) -> None:
        super().__init__(daemon=True)
        self.find_pid = find_pid
        self.port = port
        self.points: list[tuple[float, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        pid = None
        while not self.stop.wait(SAMPLE_EVERY):
            pid = pid or self.find_pid()
            ticks = cpu_ticks(pid) if pid else None
            if ticks is None:
                continue
            conn.request("GET", "/count")
            count = int(conn.getresponse().read())
            self.points.append((time.monotonic(), ticks, count))
        conn.close()

    def steady(self) -> tuple[float, float, int]:
        """(requests per CPU-second, requests/s, requests) in the steady state: from 1 s after
        the first answered request to 0.5 s before the last, without start-up and stop."""
        pts = self.points
        c0 = pts[0][2]
        first = next(t for t, _, c in pts if c > c0)
        last = next(t for t, _, c in pts if c == pts[-1][2])
        win = [p for p in pts if first + 1.0 <= p[0] <= last - 0.5]
        (ta, ka, ca), (tb, kb, cb) = win[0], win[-1]
        n = cb - ca
        return n / ((kb - ka) / CLK_TCK), n / (tb - ta), n


def plain_locust(
    url: str, port: int, users: int, seconds: float, workdir: Path
) -> tuple[float, float, int]:
    """Plain `locust --headless` with the equivalent user, measured like `Sampler` says."""
    proc = subprocess.Popen(
        [
            str(BIN / "locust"),
            "-f",
            str(workdir / "plain.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds:g}s",
            "--host",
            url,
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--stop-timeout",
            "5",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sampler = Sampler(lambda: proc.pid, port)
    sampler.start()
    proc.wait(timeout=seconds + 60)
    sampler.stop.set()
    sampler.join()
    return sampler.steady()


def pin_cpus() -> tuple[set[int], set[int]] | None:
    """(the endpoint's CPU, the generators' CPU): two different CPUs of the allowed ones, or
    None when there are fewer than two. Both generators then run on the same core, one after
    the other, and never compete with the endpoint for it."""
    cpus = sorted(os.sched_getaffinity(0))
    return ({cpus[0]}, {cpus[1]}) if len(cpus) >= 2 else None


def generator_efficiency(
    users: int, seconds: float, rounds: int, pin: bool
) -> dict[str, list[float]]:
    """Requests per CPU-second and requests/s of each generator in its steady state.

    One round = one LoadTest run and one plain Locust run, in alternating order (ours first
    in even rounds). This box has 2 vCPUs shared with other jobs, so requests/s depend on the
    load of the moment; CPU time per request much less. Each round's ratio compares two runs
    a few seconds apart; the summary is the median of the per-round ratios.
    """
    port = free_port()
    cpus = pin_cpus() if pin else None
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "trivial_agent.py"), str(port)],
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus[0])) if cpus else None,
    )
    before = os.sched_getaffinity(0)
    if cpus:  # this thread spawns both generators (the provider runs in-process): they inherit
        os.sched_setaffinity(0, cpus[1])
    root = workspace(
        "apiVersion: agentops/v1\nkind: Agent\nmetadata: {name: trivial}\n"
        "spec: {source: agents, entrypoint: app.py, model: fast}\n"
    )
    (root / "agents").mkdir()
    (root / "agents" / "app.py").write_text("# the bench talks to bench/trivial_agent.py\n")
    token = load_or_create_token(root / ".agentops")  # the trivial endpoint ignores it
    (root / "load.json").write_text(json.dumps({"prompts": [{"name": "prompt", "prompt": PROMPT}]}))
    (root / "plain.py").write_text(PLAIN.replace("TOKEN", token))
    url = f"http://127.0.0.1:{port}"

    def ours() -> tuple[float, float, int]:
        spec = f"agent: trivial\nenvironment: prd\npromptsFile: load.json\nusers: {users}\n"
        spec += f"spawnRate: {users}\nduration: {seconds:g}s\n"
        sampler = Sampler(load_runner_pid, port)
        sampler.start()
        r = run_loadtest(root, spec, outputs={"url": url + "/invocations"})
        sampler.stop.set()
        sampler.join()
        o = r.summary.get("overall", {})
        assert o and o["failed"] == 0 and o["answer_rate"] == 1.0, r.message
        # Every request the endpoint answered is a graded raw sample in the store.
        stored = len(
            load_samples(LocalStore(root / ".agentops" / "store.sqlite"), r.summary["run_id"])
        )
        answered = sampler.points[-1][2] - sampler.points[0][2]
        assert stored >= answered - 2 * users, (stored, answered)
        return sampler.steady()

    out: dict[str, list[float]] = {k: [] for k in ("ours", "plain", "ours_rps", "plain_rps")}
    try:
        wait_ready(port)
        for i in range(rounds):
            runs = [
                ("ours", ours),
                ("plain", lambda: plain_locust(url, port, users, seconds, root)),
            ]
            for name, run in runs if i % 2 == 0 else runs[::-1]:
                per_cpu, rps, _ = run()
                out[name].append(per_cpu)
                out[f"{name}_rps"].append(rps)
            print(
                f"  round {i + 1}: req/s {out['ours_rps'][-1]:.0f} vs {out['plain_rps'][-1]:.0f}, "
                f"req/CPU-s {out['ours'][-1]:.0f} vs {out['plain'][-1]:.0f}",
                file=sys.stderr,
            )
    finally:
        os.sched_setaffinity(0, before)
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)
    return out


def wait_ready(port: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def capacity(seconds: int, max_users: int) -> tuple[list[dict[str, object]], int | None]:
    agent = (ROOT / "specs" / "agents" / "docs-assistant.yaml").read_text()
    root = workspace(agent.replace("environments: [dev, tst, prd]", "environments: [prd]"))
    for d in ("agents", "docs", "prompts"):
        shutil.copytree(ROOT / d, root / d, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "load_config.json", root / "load_config.json")
    agentops = str(BIN / "agentops")
    subprocess.run(
        [agentops, "apply", "--auto-approve"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=180,
    )
    tried: list[dict[str, object]] = []

    def attempt(users: int) -> bool:
        spec = "agent: docs-assistant\nenvironment: prd\npromptsFile: load_config.json\n"
        spec += f"users: {users}\nspawnRate: {users}\nduration: {seconds}s\n"
        spec += "slos: {p95Ms: 1000, errorRate: 0.0, refusalRate: 1.0, answerRate: 0.95}\n"
        r = run_loadtest(root, spec)
        o = r.summary["overall"]
        tried.append(
            {
                "users": users,
                "rps": o["rps"],
                "p95": o["p95_ms"],
                "failed": o["failed"],
                "ok": r.status == "succeeded",
            }
        )
        return r.status == "succeeded"

    best, worst = None, None
    try:
        users = 1
        while users <= max_users:
            if not attempt(users):
                worst = users
                break
            best, users = users, users * 2
        if best is not None and worst is not None and worst - best > 1:
            mid = (best + worst) // 2
            if attempt(mid):
                best = mid
    finally:
        subprocess.run(
            [agentops, "destroy", "--auto-approve"], cwd=root, capture_output=True, timeout=120
        )
        shutil.rmtree(root, ignore_errors=True)
    return tried, best


def main() -> None:
    quick = "--quick" in sys.argv
    started = time.monotonic()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n", flush=True)
    if "--capacity-only" not in sys.argv:
        efficiency(quick, pin="--no-pin" not in sys.argv)
    if "--efficiency-only" not in sys.argv:
        capacity_report()
    print(
        f"\n(bench took {time.monotonic() - started:.0f}s; load average after: "
        f"{os.getloadavg()[0]:.1f})"
    )


def efficiency(quick: bool, pin: bool) -> None:
    rounds, seconds = (4, 6) if quick else (10, 6)
    eff = generator_efficiency(users=8, seconds=seconds, rounds=rounds, pin=pin)
    print("## 1. Generator efficiency: a LoadTest vs plain `locust --headless`\n")
    print(
        f"Trivial endpoint, 8 users, closed model, no wait; one generator process each, "
        f"{seconds} s runs, {rounds} rounds (ours first in odd rounds), "
        + ("both generators pinned to one CPU and the endpoint to another; " if pin else "")
        + "requests counted at the endpoint, CPU from /proc, steady state only.\n"
    )
    print(
        "| round | LoadTest req/s | plain req/s | ratio "
        "| LoadTest req/CPU-s | plain req/CPU-s | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = zip(eff["ours_rps"], eff["plain_rps"], eff["ours"], eff["plain"], strict=True)
    wall, cpu = [], []
    for i, (a, b, c, d) in enumerate(rows):
        wall.append(a / b)
        cpu.append(c / d)
        print(f"| {i + 1} | {a:.0f} | {b:.0f} | {a / b:.2f} | {c:.0f} | {d:.0f} | {c / d:.2f} |")
    med = statistics.median
    print(
        f"\nLoadTest / plain locust, median of the per-round ratios: requests/s "
        f"**{med(wall):.2f}** (min {min(wall):.2f}), requests per generator CPU-second "
        f"**{med(cpu):.2f}** (min {min(cpu):.2f}); target >= 0.9\n"
    )


def capacity_report() -> None:
    tried, best = capacity(seconds=6, max_users=64)
    print("## 2. Capacity of the docs assistant on the embedded runtime (p95 < 1 s, no errors)\n")
    print("| users | req/s | p95 | failed | SLOs |")
    print("|---|---|---|---|---|")
    for t in tried:
        p95 = t["p95"]
        print(
            f"| {t['users']} | {t['rps']:.1f} | {p95:.0f} ms | {t['failed']} | "  # type: ignore[str-format]
            f"{'pass' if t['ok'] else 'fail'} |"
        )
    print(
        f"\nhighest sustained load: **{best} concurrent users**"
        + (f" (~{next(t['rps'] for t in tried if t['users'] == best):.0f} req/s)" if best else "")
    )


if __name__ == "__main__":
    main()

"""Benchmark: `plan` with the S3 state backend (moto) against the local file, same run.

    PYTHONPATH=. .venv/bin/python bench/state_bench.py [--runs 5]

Builds up-to-date workspaces of 10 and 1,000 resources on the file-backed fake provider
(bench/plan_bench.py's helpers), then times a full locked `plan` (load + validate + graph +
state read + observe + diff, under the lock) on the local file and on S3, a read-only
`plan --no-lock` on S3, and one applied change on the 1,000-resource state. S3 is a moto
server in its own process (like a remote endpoint: it does not share this interpreter).
Every S3 request is counted: the backend must add one state read and one lock round-trip,
whatever the number of resources.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.plan_bench import build, registry  # noqa: E402
from engine.planner.planner import PlanOptions  # noqa: E402
from engine.reconcile import apply, make_plan, open_session, prepare  # noqa: E402
from engine.spec.workspace import load_workspace  # noqa: E402
from engine.state import s3_boto  # noqa: E402
from engine.state.backend import open_store, parse_uri  # noqa: E402
from engine.state.store import StateStore  # noqa: E402

REQUESTS: Counter[str] = Counter()


def count_requests() -> None:
    """Count every request the S3 store sends (by ObjectStore method)."""
    for name in ("get", "put", "delete", "list", "versioning"):
        original = getattr(s3_boto.BotoObjectStore, name)

        def counted(self: Any, *a: Any, _o: Any = original, _n: str = name, **k: Any) -> Any:
            REQUESTS[_n] += 1
            return _o(self, *a, **k)

        setattr(s3_boto.BotoObjectStore, name, counted)


def moto_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).read()  # noqa: S310
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("moto server did not start")


def plan_once(root: Path, store: StateStore, *, lock: bool = True) -> float:
    t = time.perf_counter()
    ws = load_workspace(root)
    with open_session(ws, "plan", registry=registry(root), store=store, lock=lock) as s:
        plan = make_plan(s, PlanOptions(), prepare(s))
    assert not plan.has_changes, "the workspace should be up to date"
    return time.perf_counter() - t


Samples = dict[str, tuple[list[float], Counter[str]]]


def measure(runs: int, variants: Any, fn: Any) -> Samples:
    """`fn(store, lock)` `runs` times per variant, interleaved; times and one run's requests."""
    out: Samples = {label: ([], Counter()) for label, _, _ in variants}
    for _ in range(runs):
        for label, store, lock in variants:
            REQUESTS.clear()
            out[label][0].append(fn(store, lock))
            out[label] = (out[label][0], Counter(REQUESTS))
    return out


def row(samples: Samples, label: str) -> str:
    """median (min) in ms, and the median's difference to the local file."""
    times = samples[label][0]
    med, low = statistics.median(times) * 1000, min(times) * 1000
    if label == "local file":
        return f"{med:6.1f} ms (min {low:5.1f})"
    delta = med - statistics.median(samples["local file"][0]) * 1000
    return f"{med:6.1f} ms (min {low:5.1f}, {delta:+.1f})"


def backend_part(store: StateStore, *, lock: bool) -> float:
    """What the backend adds to a plan: the lock round-trip (if any) and the state read."""
    t = time.perf_counter()
    if lock:
        with store.lock("bench"):
            store.read()
    else:
        store.read()
    return time.perf_counter() - t


def apply_one_change(root: Path, store: StateStore) -> tuple[float, Counter[str]]:
    spec = root / "specs" / "all.yaml"
    spec.write_text(spec.read_text().replace("systemPrompt: hello", "systemPrompt: s3bench", 1))
    REQUESTS.clear()
    t = time.perf_counter()
    ws = load_workspace(root)
    with open_session(ws, "apply", registry=registry(root), store=store) as s:
        plan = make_plan(s, PlanOptions(), prepare(s))
        assert len(plan.actionable) == 2
        assert apply(s, plan).ok
    return time.perf_counter() - t, Counter(REQUESTS)


def fmt(counts: Counter[str]) -> str:
    return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
    )
    count_requests()
    server, url = moto_server()
    os.environ["AWS_ENDPOINT_URL_S3"] = url
    import boto3

    boto3.client("s3").create_bucket(Bucket="bench-state")
    boto3.client("s3").put_bucket_versioning(
        Bucket="bench-state", VersioningConfiguration={"Status": "Enabled"}
    )
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in (10, 1000):
                root = Path(tmp) / str(n)
                build(root, n)  # applied with the local file
                local = open_store(parse_uri("local", root))
                s3 = open_store(parse_uri(f"s3://bench-state/ws-{n}", root))
                with s3.lock("bench"):
                    s3.write(local.read())  # the same state, now in S3
                size = len((root / ".agentops" / "state.json").read_bytes())
                print(f"{n:,} resources up to date, state {size / 1024:,.0f} KiB:")
                variants = (
                    ("local file", local, True),
                    ("S3", s3, True),
                    ("S3 --no-lock", s3, False),
                )
                # interleaved, so that background load hits every variant alike
                plans = measure(args.runs, variants, lambda st, lk: plan_once(root, st, lock=lk))  # noqa: B023
                parts = measure(args.runs * 4, variants, lambda st, lk: backend_part(st, lock=lk))
                for label, _, _ in variants:
                    print(
                        f"  {label:<13} plan {row(plans, label)} | lock + read {row(parts, label)}"
                        f" | requests: {fmt(plans[label][1])}"
                    )
            wall, counts = apply_one_change(Path(tmp) / "1000", s3)
            print(
                f"apply of 1 change (2 resources) on the 1,000-resource S3 state: "
                f"{wall * 1000:.0f} ms ({fmt(counts)})"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

"""Real-filesystem helpers: a temp workspace on the local store and an `agentops watch` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

AGENTOPS = str(Path(sys.executable).parent / "agentops")
REPO = Path(__file__).resolve().parents[2]

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: dev}
spec:
  runtime: local
  store: local
  models: {fast: "offline:keyword"}
"""
DATASET = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  file: data.json
"""
AGENT = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: specialist}
spec:
  source: agents
  entrypoint: specialist/app.py
  include: ["specialist/**", "agentkit/**", "requirements.txt"]
  model: fast
  systemPrompt: You are a data-analysis specialist.
  lifecycle: {healthTimeout: 30s}
"""


def save(path: Path, text: str) -> None:
    """An editor's atomic save: write a temp file beside it, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def items(*answers: str) -> str:
    return json.dumps(
        [{"input": {"question": f"q{i}"}, "expected_output": a} for i, a in enumerate(answers)]
    )


def dataset_workspace(root: Path, *answers: str) -> Path:
    save(root / "environments/dev.yaml", ENV)
    save(root / "specs/dataset.yaml", DATASET)
    save(root / "data.json", items(*(answers or ("first",))))
    return root


def stored_answers(root: Path) -> list[str]:
    """What the local store really holds (ACTIVE items), in question order."""
    from engine.providers.local.store import LocalStore

    got = LocalStore(root / ".agentops/store.sqlite").active_items("dev", "golden")
    return [str(i.expected_output) for i in sorted(got, key=lambda i: str(i.input))]


def wait_for(pred: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Poll `pred` every 20 ms. The timeout is only a ceiling for a loaded CI machine."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = pred()
        except (OSError, ValueError, KeyError):
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or pred}")
        time.sleep(0.02)


class Watch:
    def __init__(self, root: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.root, self.proc, self.log = root, proc, log

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if name is None or ev.get("event") == name:
                out.append(ev)
        return out

    def report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / ".agentops/watch.json").read_text())
        return data

    def idle_after(self, cycles: int) -> bool:
        r = self.report()
        return r["state"] == "idle" and r["cycles"] >= cycles

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


@contextmanager
def watching(root: Path, *args: str) -> Iterator[Watch]:
    log = root.parent / f"{root.name}-watch.log"
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = str(REPO)
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [AGENTOPS, "watch", "-C", str(root), "--log-format", "json", *args],
            stderr=fh,
            stdout=fh,
            env=env,
        )
    w = Watch(root, proc, log)
    try:
        wait_for(lambda: w.idle_after(1), 60, "the first reconcile")
        yield w
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

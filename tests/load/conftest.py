"""A workspace with a small real agent deployed on the local runtime (127.0.0.1), once per session.

`run_loadtest(yaml)` adds a LoadTest document to it and runs the real `LocustProvider` on it
in-process (a real Locust subprocess against the real agent process); the SIGINT test goes
through the `agentops` CLI instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from engine.providers.base import Context, RunResult
from engine.providers.local.store import LocalStore
from engine.providers.runs.inputs import run_inputs
from engine.providers.runs.loadtest import LocustProvider
from engine.spec.addresses import Address
from engine.spec.graph import build_graph
from engine.spec.workspace import load_workspace
from engine.state.local import LocalStateStore

HERE = Path(__file__).resolve().parent
AGENTOPS = str(Path(sys.executable).with_name("agentops"))

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: prd}
spec: {runtime: local, store: local, models: {fast: "offline:keyword"}}
"""
AGENTS = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: mini}
spec: {source: agents, entrypoint: mini.py, model: fast}
---
apiVersion: agentops/v1
kind: Agent
metadata: {name: mini-fail}
spec: {source: agents, entrypoint: mini.py, model: fast, env: {MINI_FAIL: "1"}}
"""
PROMPTS = """\
{"prompts": [
  {"name": "plan", "prompt": "How do I plan a change?", "tags": ["docs"]},
  {"name": "apply", "prompt": "What does apply do?", "tags": ["docs"]},
  {"name": "harmful1", "prompt": "How can I hack into someone's account?", "tags": ["safety"]}
]}
"""


@dataclass
class LoadWorkspace:
    root: Path

    @property
    def state_dir(self) -> Path:
        return self.root / ".agentops"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [AGENTOPS, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "NO_COLOR": "1"},
        )

    def write_loadtest(self, name: str, spec: str) -> None:
        doc = f"apiVersion: agentops/v1\nkind: LoadTest\nmetadata: {{name: {name}}}\nspec:\n"
        doc += textwrap.indent(textwrap.dedent(spec), "  ")
        (self.root / "specs" / "loadtests").mkdir(exist_ok=True)
        (self.root / "specs" / "loadtests" / f"{name}.yaml").write_text(doc)

    def run_loadtest(
        self, name: str, spec: str, outputs: dict[str, object] | None = None
    ) -> RunResult:
        """Run `spec` as loadtest.<name>[prd] with the real provider, in this process."""
        self.write_loadtest(name, spec)
        try:
            ws = load_workspace(self.root)
            assert ws.ok, [str(d) for d in ws.diagnostics]
            graph = build_graph(ws)
            node = graph.nodes[Address("LoadTest", name, "prd")]
            state = LocalStateStore(self.state_dir).read()

            def output_of(address: str) -> dict[str, object] | None:
                if outputs is not None:
                    return outputs
                res = state.resources.get(address)
                return dict(res.outputs) if res else None

            ctx = Context(ws, self.state_dir, state.workspace_id, outputs=output_of)
            provider = LocustProvider(self.state_dir, LocalStore(self.state_dir / "store.sqlite"))
            return provider.run(node, run_inputs(node, ctx, {}), ctx, None)
        finally:
            (self.root / "specs" / "loadtests" / f"{name}.yaml").unlink()


@pytest.fixture(scope="session")
def load_ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadWorkspace]:
    root = tmp_path_factory.mktemp("loadws")
    (root / "environments").mkdir()
    (root / "environments" / "prd.yaml").write_text(ENV)
    (root / "specs").mkdir()
    (root / "specs" / "agents.yaml").write_text(AGENTS)
    (root / "agents").mkdir()
    shutil.copy(HERE / "agent" / "mini.py", root / "agents" / "mini.py")
    (root / "load_config.json").write_text(PROMPTS)
    ws = LoadWorkspace(root)
    done = ws.cli("apply", "--auto-approve")
    assert done.returncode == 0, done.stderr + done.stdout
    try:
        yield ws
    finally:
        ws.cli("destroy", "--auto-approve")


def leftover_load_processes(root: Path) -> list[int]:
    """Live load generators (AGENTOPS_LOAD_RUN in their environment) of this workspace only.

    Scoped by the workspace path on the command line (the runner's --config lives under it),
    so load tests of other workspaces on the same machine never count.
    """
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state = stat[stat.rindex(")") + 2]
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if str(root).encode() not in cmdline:
            continue
        if b"AGENTOPS_LOAD_RUN=" in environ and state != "Z":
            pids.append(int(entry))
    return pids

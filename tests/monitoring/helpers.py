"""Helpers for the monitoring tests: a tiny workspace with a Monitor, synthetic traces."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.runs.monitor import MonitorProvider
from engine.runtime.tracing import connect, new_trace_id, write_rows
from engine.spec.workspace import Workspace, load_workspace

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: prd}
spec:
  runtime: local
  store: local
  models: {fast: "offline:keyword"}
"""

AGENT = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: bot}
spec:
  source: src
  entrypoint: app.py
  model: fast
  systemPrompt: hello
  environments: [prd]
"""

MONITOR = """\
apiVersion: agentops/v1
kind: Monitor
metadata: {name: mon}
spec:
  agent: bot
  environment: prd
"""


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def monitor_workspace(root: Path, monitor_body: str) -> Workspace:
    """environments/prd + agent `bot` + `kind: Monitor` `mon` whose spec continues with
    `monitor_body` (YAML indented by two spaces)."""
    write(root, "src/app.py", "app = None\n")
    write(root, "environments/prd.yaml", ENV)
    write(root, "specs/bot.yaml", AGENT)
    body = textwrap.indent(textwrap.dedent(monitor_body), "  ")
    write(root, "specs/monitor.yaml", MONITOR + body)
    return load_workspace(root)


def row(
    *,
    env: str = "prd",
    agent: str = "bot",
    source: str = "production",
    started: float | None = None,
    latency_ms: float = 50.0,
    error: str | None = None,
    prompt: str = "what is a gate?",
    output: str = "A gate evaluates an agent digest.",
    tags: tuple[str, ...] = (),
    trace_id: str | None = None,
) -> tuple[Any, ...]:
    """One `traces` row, in `engine.runtime.tracing.INSERT` order."""
    return (
        trace_id or new_trace_id(),
        env,
        agent,
        f"agent.{agent}[{env}]",
        "sha256:abc",
        source,
        None,
        time.time() - 1.0 if started is None else started,
        latency_ms,
        "error" if error else "ok",
        500 if error else 200,
        prompt,
        None if error else output,
        "[]",
        "{}",
        error,
        json.dumps(list(tags)),
    )


def insert(state_dir: Path, rows: list[tuple[Any, ...]]) -> None:
    conn = connect(state_dir / "traces.sqlite")
    try:
        for i in range(0, len(rows), 5000):
            write_rows(conn, rows[i : i + 5000])
    finally:
        conn.close()


def run_monitor(ws: Workspace, state_dir: Path, name: str = "mon") -> RunResult:
    node = SimpleNamespace(spec=ws.monitors[name], address=f"monitor.{name}[prd]")
    ctx = Context(workspace=ws, state_dir=state_dir, workspace_id="test")
    provider = MonitorProvider(state_dir)
    return provider.run(node, RunInputs(digest="x", attrs={}), ctx, None)  # type: ignore[arg-type]


# --- CLI-level tests: a workspace whose agent is the runtime tests' echo fixture ---------

ECHO = Path(__file__).resolve().parents[1] / "runtime" / "fixtures" / "echo.py"


def env_doc(name: str) -> str:
    return ENV.replace("{name: prd}", f"{{name: {name}}}")


def echo_agent(envs: list[str]) -> str:
    """Agent `bot`: the echo fixture (answers `v pid N: PROMPT` in a few ms)."""
    return (
        AGENT.replace("entrypoint: app.py", "entrypoint: echo.py")
        .replace("[prd]", f"[{', '.join(envs)}]")
        .replace("hello", "You echo.")
    )


def echo_workspace(root: Path, envs: list[str], specs: str) -> Path:
    """environments/<envs> + agent `bot` (echo) + `specs/runs.yaml` with `specs`."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "src" / "echo.py").write_text(ECHO.read_text())
    for env in envs:
        write(root, f"environments/{env}.yaml", env_doc(env))
    write(root, "specs/bot.yaml", echo_agent(envs))
    write(root, "specs/runs.yaml", specs)
    return root


def cli(capsys: Any, root: Path, *argv: str) -> tuple[int, str, str]:
    """`agentops -C root ARGV…` in-process: (exit code, stdout, stderr)."""
    from engine.cli import main

    capsys.readouterr()
    rc = main(["-C", str(root), *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def wait_for_traces(root: Path, env: str, agent: str, n: int, timeout: float = 10.0) -> None:
    """The agent host writes traces in batches off the request path: wait until `n` are in."""
    from engine.providers.local.traces import TraceStore

    store = TraceStore(root / ".agentops" / "traces.sqlite")

    def production() -> int:
        recent = store.recent(env=env, agent=agent, since=None, limit=10_000)
        return sum(t.source == "production" for t in recent)

    deadline = time.monotonic() + timeout
    while production() < n:
        if time.monotonic() > deadline:
            raise AssertionError(f"{production()} of {n} production traces written")
        time.sleep(0.05)

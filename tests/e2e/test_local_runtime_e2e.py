"""The local runtime through the engine: real processes, real HTTP on 127.0.0.1.

deploy -> invoke -> A2A delegation -> update without downtime -> kill -> drift -> heal ->
a crashing new version keeps the old one serving -> destroy leaves no process behind.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.cli import main
from engine.invoke import LocalInvoker
from engine.providers.local.runtime import owned_processes
from engine.runtime.pgroup import proc_stat
from engine.runtime.token import load_or_create_token
from engine.state.local import LocalStateStore

REPO = Path(__file__).resolve().parents[2]

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: dev}
spec:
  models:
    fast: "offline:keyword"
"""

AGENTS = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: specialist}
spec:
  source: agents
  entrypoint: specialist/app.py
  include: ["specialist/**", "agentkit/**"]
  model: fast
  systemPrompt: PROMPT
  lifecycle: {healthTimeout: 20s}
---
apiVersion: agentops/v1
kind: Agent
metadata: {name: orchestrator}
spec:
  source: agents
  entrypoint: orchestrator/app.py
  include: ["orchestrator/**", "agentkit/**"]
  model: fast
  calls: [specialist]
"""


def write_specs(root: Path, prompt: str = "You compute statistics.") -> None:
    (root / "specs" / "agents.yaml").write_text(AGENTS.replace("PROMPT", prompt))


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Path]:
    shutil.copytree(
        REPO / "agents", tmp_path / "agents", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "dev.yaml").write_text(ENV)
    (tmp_path / "specs").mkdir()
    write_specs(tmp_path)
    yield tmp_path
    main(["-C", str(tmp_path), "destroy", "--auto-approve"])


def state(root: Path) -> dict[str, dict[str, object]]:
    s = LocalStateStore(root / ".agentops").read()
    return {
        a: {"digest": r.digest, **r.outputs, "pid": r.private["process"]["pid"]}
        for a, r in s.resources.items()
    }


def invoker(root: Path, agent: str) -> LocalInvoker:
    url = str(state(root)[f"agent.{agent}[dev]"]["url"])
    return LocalInvoker(url, load_or_create_token(root / ".agentops"), timeout=30)


def test_local_runtime_lifecycle(ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    first = state(ws)
    workspace_id = LocalStateStore(ws / ".agentops").read().workspace_id
    assert set(owned_processes(workspace_id)) == {
        "agent.specialist[dev]",
        "agent.orchestrator[dev]",
    }

    # the token is required; the runtime binds loopback only
    url = str(first["agent.specialist[dev]"]["url"])
    assert url.startswith("http://127.0.0.1:")
    assert httpx.post(url, json={"prompt": "hi"}).status_code == 401
    token_file = ws / ".agentops" / "runtime.token"
    assert token_file.stat().st_mode & 0o777 == 0o600

    # A2A: the orchestrator has no statistics tool; the figures come from the specialist
    with invoker(ws, "orchestrator") as inv:
        result = inv.invoke({"prompt": "What is the mean of 2, 4 and 9?"})
    assert result.ok, result.error
    assert [s["tool"] for s in result.trajectory] == ["call_specialist_agent"]
    assert "mean 5" in result.response and "[specialist]" in result.response

    # update without downtime: a client hammers the stable URL during the rollover
    failures: list[str] = []
    answers: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        with invoker(ws, "specialist") as inv:
            while not stop.is_set():
                r = inv.invoke({"prompt": "mean of 1 and 3"})
                (answers if r.ok else failures).append(r.response if r.ok else str(r.error))

    t = threading.Thread(target=hammer)
    t.start()
    try:
        write_specs(ws, prompt="You compute statistics, precisely.")
        assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    finally:
        stop.set()
        t.join()
    second = state(ws)
    assert failures == []
    assert len(answers) > 5
    assert second["agent.specialist[dev]"]["url"] == first["agent.specialist[dev]"]["url"]
    assert second["agent.specialist[dev]"]["pid"] != first["agent.specialist[dev]"]["pid"]
    assert second["agent.orchestrator[dev]"] == first["agent.orchestrator[dev]"]  # untouched

    # kill -> drift in the plan -> apply heals
    import os
    import signal

    killed = int(str(second["agent.specialist[dev]"]["pid"]))
    os.kill(killed, signal.SIGKILL)
    # kill(2) returns before the process is gone: wait until it is dead (a zombie or reaped),
    # or a loaded machine plans "unhealthy" for a process that is still exiting
    deadline = time.monotonic() + 10
    while (st := proc_stat(killed)) is not None and st.state != "Z":
        assert time.monotonic() < deadline, f"pid {killed} survived SIGKILL"
        time.sleep(0.02)
    capsys.readouterr()
    assert main(["-C", str(ws), "plan", "--detailed-exitcode"]) == 2
    out = capsys.readouterr().out
    assert "agent.specialist[dev] will be created (drifted: deleted outside agentops)" in out
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 0
    assert main(["-C", str(ws), "plan", "--detailed-exitcode"]) == 0

    # a new version that crashes at import: clear error, the old version keeps serving
    healthy = state(ws)["agent.specialist[dev]"]
    (ws / "agents" / "specialist" / "app.py").write_text("raise RuntimeError('boom at import')\n")
    capsys.readouterr()
    assert main(["-C", str(ws), "apply", "--auto-approve"]) == 1
    err = capsys.readouterr().err
    assert "agent specialist in dev did not become healthy" in err
    assert "boom at import" in err and "specialist.log" in err
    assert state(ws)["agent.specialist[dev]"] == healthy
    with invoker(ws, "specialist") as inv:
        assert inv.invoke({"prompt": "mean of 1 and 3"}).ok

    # destroy leaves nothing behind
    assert main(["-C", str(ws), "destroy", "--auto-approve"]) == 0
    assert owned_processes(workspace_id) == {}

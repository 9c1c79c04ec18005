"""Per-agent tokens: the local runtime enforces `calls:` as IAM does on AgentCore (real HTTP).

Two environments, each with an orchestrator that `calls: [specialist]`. The orchestrator
reaches its specialist; nothing an agent holds opens an agent outside its `calls:` or outside
its environment; the engine token opens every agent; no token is in any environment variable;
`.agentops/` is private.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from engine.cli import main
from engine.invoke import LocalInvoker
from engine.runtime.token import agent_token_path, callee_tokens_path, load_or_create_token
from engine.state.local import LocalStateStore

REPO = Path(__file__).resolve().parents[2]
SESSION = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"

ENV = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: NAME}
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
  lifecycle: {healthTimeout: 20s}
"""


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("tokens")
    shutil.copytree(REPO / "agents", root / "agents", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "environments").mkdir()
    for env in ("dev", "prd"):
        (root / "environments" / f"{env}.yaml").write_text(ENV.replace("NAME", env))
    (root / "specs").mkdir()
    (root / "specs" / "agents.yaml").write_text(AGENTS)
    assert main(["-C", str(root), "apply", "--auto-approve"]) == 0
    yield root
    main(["-C", str(root), "destroy", "--auto-approve"])


def url(root: Path, address: str) -> str:
    return str(LocalStateStore(root / ".agentops").read().resources[address].outputs["url"])


def pid(root: Path, address: str) -> int:
    res = LocalStateStore(root / ".agentops").read().resources[address]
    return int(res.private["process"]["pid"])


def held_tokens(root: Path, address: str) -> dict[str, str]:
    """Every token the process of `address` can find: its callee-token file, if any."""
    environ = Path(f"/proc/{pid(root, address)}/environ").read_bytes().split(b"\0")
    env = dict(e.decode().split("=", 1) for e in environ if b"=" in e)
    path = env.get("AGENTOPS_CALLEE_TOKENS_FILE")
    return json.loads(Path(path).read_text()) if path else {}


def status(target: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", SESSION: "s" * 40}
    return httpx.post(target, json={"prompt": "mean of 1 and 3"}, headers=headers).status_code


def test_the_orchestrator_calls_its_specialist(ws: Path) -> None:
    for env in ("dev", "prd"):
        engine = load_or_create_token(ws / ".agentops")
        with LocalInvoker(url(ws, f"agent.orchestrator[{env}]"), engine, timeout=30) as inv:
            result = inv.invoke({"prompt": "What is the mean of 2, 4 and 9?"})
        assert result.ok, result.error
        assert [s["tool"] for s in result.trajectory] == ["call_specialist_agent"]
        assert "mean 5" in result.response and "[specialist]" in result.response
    # ... with exactly the token of its own environment's specialist
    dev = held_tokens(ws, "agent.orchestrator[dev]")
    assert list(dev) == ["specialist"]
    assert (
        dev["specialist"]
        == agent_token_path(ws / ".agentops", "agent.specialist[dev]").read_text().strip()
    )
    assert status(url(ws, "agent.specialist[dev]"), dev["specialist"]) == 200


def test_the_specialist_cannot_call_the_orchestrator(ws: Path) -> None:
    assert held_tokens(ws, "agent.specialist[dev]") == {}  # no calls:, no tokens at all
    state_dir = ws / ".agentops"
    assert not callee_tokens_path(state_dir, "agent.specialist[dev]").exists()
    orchestrator = url(ws, "agent.orchestrator[dev]")
    # Not even with its own token (which only its callers hold), nor without one.
    own = agent_token_path(state_dir, "agent.specialist[dev]").read_text().strip()
    assert status(orchestrator, own) == 401
    assert httpx.post(orchestrator, json={"prompt": "hi"}).status_code == 401


def test_a_dev_agent_cannot_call_a_prd_agent(ws: Path) -> None:
    dev = held_tokens(ws, "agent.orchestrator[dev]")
    for agent in ("specialist", "orchestrator"):
        for token in dev.values():
            assert status(url(ws, f"agent.{agent}[prd]"), token) == 401
    # the prd orchestrator's token for its specialist is a different one
    assert held_tokens(ws, "agent.orchestrator[prd]")["specialist"] not in dev.values()


def test_no_token_is_in_an_agent_environment(ws: Path) -> None:
    state_dir = ws / ".agentops"
    secrets = {load_or_create_token(state_dir).encode()}
    secrets |= {p.read_text().strip().encode() for p in (state_dir / "tokens").glob("*.token")}
    assert len(secrets) == 5  # the engine's and one per agent
    for env in ("dev", "prd"):
        for agent in ("specialist", "orchestrator"):
            environ = Path(f"/proc/{pid(ws, f'agent.{agent}[{env}]')}/environ").read_bytes()
            assert not any(s in environ for s in secrets)
            assert b"AGENTOPS_RUNTIME_TOKEN" not in environ


def test_agentops_dir_is_private(ws: Path) -> None:
    state_dir = ws / ".agentops"
    loose = [
        f"{p.relative_to(ws)} {stat.filemode(p.lstat().st_mode)}"
        for p in [state_dir, *state_dir.rglob("*")]
        if not p.is_symlink()
        and stat.S_IMODE(p.lstat().st_mode) != (0o700 if p.is_dir() else 0o600)
    ]
    assert loose == []
    assert {"state.json", "runtime.token", "tokens", "logs"} <= set(os.listdir(state_dir))

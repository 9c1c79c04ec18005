"""`agentops preview --sweep`: what a killed preview left is found by ownership and age.

A killed preview is simulated by what SIGKILL leaves: its directory with the marker, and an
agent-host-like process tagged with the preview's workspace id. Sweep kills that process and
removes the directory; a young preview, a process of another workspace and a directory
without a marker are never touched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.commands.preview import parse_age
from engine.errors import UsageError
from engine.preview.sweep import sweep
from engine.providers.local.runtime import owned_processes

pytestmark = pytest.mark.timeout(60)


def tagged(workspace_id: str, address: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTOPS_WORKSPACE_ID": workspace_id,
        "AGENTOPS_ADDRESS": address,
        "AGENTOPS_HOST_PROCESS": "1",
    }
    code = "import time; time.sleep(120)"
    return subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True)


def leave(root: Path, name: str, workspace_id: str, age_s: float) -> Path:
    d = root / ".agentops" / "previews" / name
    d.mkdir(parents=True)
    marker = {"name": name, "workspace_id": workspace_id, "started": time.time() - age_s}
    (d / "preview.json").write_text(json.dumps(marker))
    return d


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()


def wait_owned(workspace_id: str, n: int) -> None:
    deadline = time.monotonic() + 10
    while sum(map(len, owned_processes(workspace_id).values())) != n:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_sweep_removes_only_old_previews_it_owns(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    old = leave(tmp_path, "pr-1", "sweepold0001", age_s=2 * 86400)
    young = leave(tmp_path, "pr-2", "sweepyoung01", age_s=60)
    stranger = tmp_path / ".agentops" / "previews" / "notes"
    stranger.mkdir()
    procs += [
        tagged("sweepold0001", "agent.bot[pr-1]"),
        tagged("sweepyoung01", "agent.bot[pr-2]"),
        tagged("someoneelse1", "agent.bot[pr-1]"),
    ]
    for wid in ("sweepold0001", "sweepyoung01", "someoneelse1"):
        wait_owned(wid, 1)

    swept = sweep(tmp_path, parse_age("24h"))

    assert [s.name for s in swept] == ["pr-1"]
    assert swept[0].killed == [procs[0].pid]
    procs[0].wait(timeout=10)
    assert not old.exists()
    assert young.exists() and stranger.exists()
    assert procs[1].poll() is None and procs[2].poll() is None
    assert sweep(tmp_path, parse_age("24h")) == []


def test_ages_parse() -> None:
    assert parse_age("24h") == 86400 and parse_age("30m") == 1800 and parse_age("7d") == 604800
    with pytest.raises(UsageError):
        parse_age("tomorrow")

"""Crash safety: SIGKILL the apply at every provider call and every state write.

For each k, a subprocess applies a multi-resource workspace with
`AGENTOPS_FAULT=<point>:<k>` (it kills itself at the k-th point, like a power cut), then a
clean apply runs. Every time the end state must be the same: one real resource per declared
address, no orphans, no duplicates, a state file that parses, and `No changes.` after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.state.local import LocalStateStore
from tests.reconciler.util import fake_registry, run_plan, workspace

SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.reconciler.util import fake_registry, run_apply
root = Path(sys.argv[1])
reg, _ = fake_registry(root)
_, result = run_apply(root, reg, parallelism=int(sys.argv[2]))
sys.exit(0 if result.ok else 1)
"""

REPO = str(Path(__file__).resolve().parents[2])


def apply_subprocess(root: Path, fault: str | None, parallelism: int = 2) -> int:
    env = {**os.environ}
    env.pop("AGENTOPS_FAULT", None)
    if fault:
        env["AGENTOPS_FAULT"] = fault
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(repo=REPO), str(root), str(parallelism)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"apply failed ({proc.returncode}):\n{proc.stderr}")
    return proc.returncode


def check_converged(root: Path) -> None:
    reg, fake = fake_registry(root)
    world = fake.world()
    addresses = sorted(r["tags"]["address"] for r in world.values())
    assert len(addresses) == len(set(addresses)), f"duplicates: {addresses}"
    state = LocalStateStore(root / ".agentops").read()
    json.loads((root / ".agentops" / "state.json").read_text())  # parses
    assert sorted(state.resources) == addresses
    assert not state.pending
    for res in state.resources.values():
        assert world[res.provider_id or ""]["digest"] == res.digest
    assert not run_plan(root, reg).has_changes


@pytest.mark.parametrize("point", ["provider_call", "state_write"])
def test_every_crash_point_converges(tmp_path: Path, point: str) -> None:
    k = 1
    while True:
        root = tmp_path / f"{point}-{k}"
        workspace(root, envs=("dev", "prd"), agents=3, datasets=1)
        code = apply_subprocess(root, f"{point}:{k}")
        if code == 0:  # k is past the last fault point: the apply finished
            assert k > 5, "the fault hook never fired"
            break
        assert apply_subprocess(root, None) == 0  # resume: must converge
        check_converged(root)
        k += 1


def test_crash_twice_in_a_row_then_converge(tmp_path: Path) -> None:
    workspace(tmp_path, envs=("dev",), agents=3)
    assert apply_subprocess(tmp_path, "provider_call:2") == -signal.SIGKILL
    assert apply_subprocess(tmp_path, "state_write:2") == -signal.SIGKILL
    assert apply_subprocess(tmp_path, None) == 0
    check_converged(tmp_path)

"""`agentops` CLI against moto's server mode (a real HTTP endpoint), and crash safety.

The environment points `aws.endpointUrl` at a ThreadedMotoServer started by this test
process, so CLI subprocesses talk HTTP to it and the world survives a SIGKILLed apply.

Crash safety, as for the fake provider (tests/reconciler/test_crash_safety.py): the number N
of fault points an apply passes is counted in-process; then for every k in 1..N a CLI
`agentops apply` runs with `AGENTOPS_FAULT=<point>:<k>` and SIGKILLs itself at the k-th
point, a clean apply resumes, and the world must be the same every time - one runtime per
declared address (moto allows duplicate names: we check there are none), one role each, no
pending operation, no orphans, and no changes planned. Points:

* `provider_call` (two agents, the caller after its callee): before each call into the
  provider, with the applier's pending operation recorded;
* `state_write` (one agent): at each state write - before the provider call, and after AWS
  did the work but before state knows;
* `aws_call` (one agent): after each mutating AWS call inside the provider, i.e. every
  half-made deployment (an upload without a role, a role without a runtime, a runtime
  without its endpoint or tags, ...).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest.mock import patch

import boto3
import pytest

from engine import faults
from engine.cli import main
from engine.providers.agentcore.names import TAG_WORKSPACE, names_for
from engine.state.local import LocalStateStore

from .conftest import REGION
from .helpers import apply_all, plan, put_secret, runtimes, workspace

AGENTOPS = str(Path(sys.executable).with_name("agentops"))
DECLARED = ("agent.specialist[prd]", "agent.orchestrator[prd]")


def run(root: Path, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "AGENTOPS_FAULT"}
    env["NO_COLOR"] = "1"
    if fault:
        env["AGENTOPS_FAULT"] = fault
    return subprocess.run(
        [AGENTOPS, *args, "-C", str(root)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def converged(root: Path, url: str, *, cli: bool = True) -> None:
    """One runtime and one role per recorded address, nothing else of this workspace."""
    st = LocalStateStore(root / ".agentops").read()
    assert not st.pending
    cp = boto3.client("bedrock-agentcore-control", region_name=REGION, endpoint_url=url)
    mine: dict[str, str] = {}
    for r in runtimes(url):
        tags = cp.list_tags_for_resource(resourceArn=r["agentRuntimeArn"])["tags"]
        if tags.get(TAG_WORKSPACE) == st.workspace_id:
            assert r["agentRuntimeName"] not in mine, f"duplicate runtime {r['agentRuntimeName']}"
            mine[r["agentRuntimeName"]] = r["agentRuntimeId"]
    expected = {
        names_for(a, st.workspace_id).runtime: res.provider_id for a, res in st.resources.items()
    }
    assert mine == expected
    iam = boto3.client("iam", region_name=REGION, endpoint_url=url)
    roles = {r["RoleName"] for r in iam.list_roles(PathPrefix="/agentops/")["Roles"]}
    for address in DECLARED:  # a role exists exactly for the addresses in state
        assert (names_for(address, st.workspace_id).role in roles) == (address in st.resources)
    if cli:
        check = run(root, "plan", "--detailed-exitcode")
        assert check.returncode == 0, check.stdout + check.stderr
    else:  # the same check in-process (a CLI start costs seconds; the sweep runs many)
        p = plan(root)
        assert not p.has_changes, [(c.address, c.action, c.reasons) for c in p.changes]


def test_plan_apply_plan_through_the_cli(
    tmp_path: Path, server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One real `agentops apply` process over HTTP; the other commands run `main()` in-process."""
    workspace(tmp_path, endpoint_url=server)
    put_secret(server)
    args = ["-C", str(tmp_path)]
    assert main(["plan", "--detailed-exitcode", *args]) == 2
    out = capsys.readouterr().out
    assert "agent.specialist[prd]" in out and "(sensitive)" in out
    applied = run(tmp_path, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "do-not-print-me" not in applied.stdout + applied.stderr
    # What the CI workflow runs on a pull request: markdown, exit code 0 = nothing to do.
    assert main(["plan", "--output", "markdown", "--detailed-exitcode", *args]) == 0
    converged(tmp_path, server)
    # The workflow stores `agentops state show` and restores it as state.json on the next
    # run: a fresh checkout with that file alone must plan no changes.
    capsys.readouterr()
    assert main(["state", "show", *args]) == 0
    snapshot = capsys.readouterr().out
    fresh = workspace(tmp_path / "fresh-checkout", endpoint_url=server)
    (fresh / ".agentops").mkdir()
    (fresh / ".agentops" / "state.json").write_text(snapshot)
    assert main(["plan", "--detailed-exitcode", "-C", str(fresh)]) == 0
    assert main(["destroy", "--auto-approve", *args]) == 0
    assert runtimes(server) == []


def fault_points(root: Path, point: str) -> int:
    """How many times an apply of this workspace passes `point` (counted in-process)."""
    seen = {"n": 0}

    def count(name: str) -> None:
        seen["n"] += name == point

    with patch.object(faults, "point", count):
        apply_all(root)
    return seen["n"]


@pytest.mark.parametrize(
    ("point", "orchestrator"),
    [("provider_call", True), ("state_write", False), ("aws_call", False)],
)
def test_every_crash_point_converges(
    tmp_path: Path, server: str, point: str, orchestrator: bool
) -> None:
    """SIGKILL at the k-th point for every k, resume, and the world must be the same.

    Each k gets its own workspace (so its own names: they hash the workspace id) in the same
    moto world; resetting moto per k would re-initialise its IAM backend, which costs
    seconds. The crashing applies are CLI subprocesses (SIGKILL needs a process), a few at a
    time; the resuming apply and the checks run in-process against the same server.
    """
    put_secret(server)
    n = fault_points(
        workspace(tmp_path / "count", endpoint_url=server, orchestrator=orchestrator), point
    )
    assert n >= {"provider_call": 2, "state_write": 3, "aws_call": 6}[point]
    roots = {
        k: workspace(tmp_path / f"{point}-{k}", endpoint_url=server, orchestrator=orchestrator)
        for k in range(1, n + 1)
    }
    with ThreadPoolExecutor(3) as pool:
        futures = {
            k: pool.submit(run, root, "apply", "--auto-approve", fault=f"{point}:{k}")
            for k, root in roots.items()
        }
        crashed = {k: f.result() for k, f in futures.items()}
    for k, proc in crashed.items():
        assert proc.returncode == -signal.SIGKILL, f"k={k}: {proc.stdout}{proc.stderr}"
        apply_all(roots[k])  # resume: must converge
        converged(roots[k], server, cli=False)

"""The GitHub workflows' own `run:` steps, executed as bash scripts against the moto server.

What GitHub would provide is simulated: `${{ vars.* }}` and `${{ github.* }}` are filled in,
GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / RUNNER_TEMP are files, `agentops` is this checkout,
credentials come from the environment (the OIDC step), and an artifact is a file the next
job finds. `uses:` steps are skipped (checkout, setup-python, credentials, artifacts, the
PR comment), and so is `pip install`. An `aws` command on PATH fails the test: the workflows
must not copy state by hand.

Then the apply workflow runs while a person applies and a watcher watches, on one state.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from engine.state.backend import open_store, parse_uri
from tests.reconciler.util import workspace
from tests.state.s3util import new_bucket

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
REPOSITORY = "acme/agents"
SKIPPED = {"Install agentops"}


def jobs(name: str) -> dict[str, Any]:
    flow: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    out: dict[str, Any] = {}
    for job_name, job in flow["jobs"].items():
        env = {**flow.get("env", {}), **job.get("env", {})}
        out[job_name] = {"env": env, "steps": job["steps"]}
    return out


def expand(text: str, bucket: str) -> str:
    values = {
        "vars.AGENTOPS_STATE_BUCKET": bucket,
        "github.repository": REPOSITORY,
        "github.run_id": "4242",
    }
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: values.get(m.group(1), ""), text)


@pytest.fixture
def runner(tmp_path: Path, s3_env: str) -> dict[str, str]:
    """PATH with `agentops` (this checkout) and a failing `aws`; the job files."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "agentops"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m engine.cli "$@"\n')
    aws = bin_dir / "aws"
    aws.write_text(
        '#!/bin/sh\necho "the workflows must not call the aws CLI: aws $*" >&2\nexit 97\n'
    )
    for f in (shim, aws):
        f.chmod(0o755)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_STEP_SUMMARY": str(temp / "summary.md"),
        "CI": "true",
    }
    env.pop("AGENTOPS_STATE", None)
    return env


def run_job(
    workflow: str, job: str, ws: Path, env: dict[str, str], bucket: str
) -> subprocess.CompletedProcess[str]:
    """Every `run:` step of the job in order, like GitHub's `bash -e`; stops at a failure."""
    spec = jobs(workflow)[job]
    job_env = {**env, **{k: expand(str(v), bucket) for k, v in spec["env"].items()}}
    done = subprocess.CompletedProcess[str]([], 0, "", "")
    for step in spec["steps"]:
        if "run" not in step or step.get("name") in SKIPPED:
            continue
        done = subprocess.run(
            ["bash", "-e", "-c", expand(step["run"], bucket)],
            cwd=ws,
            env=job_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            return done
    return done


def state_of(bucket: str, ws: Path) -> Any:
    uri = f"s3://{bucket}/agentops/state/{REPOSITORY}"
    return open_store(parse_uri(uri, ws)).read()


def test_the_workflows_use_the_s3_backend_and_refuse_a_stale_plan(
    tmp_path: Path, s3_env: str, runner: dict[str, str]
) -> None:
    bucket = new_bucket(s3_env)
    ws = workspace(tmp_path / "ws", envs=("dev",), agents=0, datasets=2, items=2)
    # a pull request: a plan against no state yet, read-only
    pr = run_job("plan.yml", "plan", ws, runner, bucket)
    assert pr.returncode == 0, pr.stderr
    assert "exitcode=2" in Path(runner["GITHUB_OUTPUT"]).read_text()
    assert state_of(bucket, ws).serial == 0  # the plan wrote nothing, took no lock
    # merged: the apply workflow plans (no lock), then applies exactly that plan
    for job in ("plan", "apply"):
        done = run_job("apply.yml", job, ws, runner, bucket)
        assert done.returncode == 0, done.stderr
    assert sorted(state_of(bucket, ws).resources) == ["dataset.d-0[dev]", "dataset.d-1[dev]"]
    assert not (ws / ".agentops" / "state.json").exists()  # nothing copied by hand
    # the next merge is planned, then someone applies before the apply job runs
    workspace(ws, envs=("dev",), agents=0, datasets=2, items=3)
    assert run_job("apply.yml", "plan", ws, runner, bucket).returncode == 0
    person = subprocess.run(
        [sys.executable, "-m", "engine.cli", "apply", "--auto-approve"],
        cwd=ws,
        env={**runner, "AGENTOPS_STATE": f"s3://{bucket}/agentops/state/{REPOSITORY}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert person.returncode == 0, person.stderr
    stale = run_job("apply.yml", "apply", ws, runner, bucket)
    assert stale.returncode == 1
    assert "the state moved on since the plan was made" in stale.stderr


def test_ci_a_person_and_a_watcher_share_one_state(
    tmp_path: Path, s3_env: str, runner: dict[str, str]
) -> None:
    bucket = new_bucket(s3_env)
    uri = f"s3://{bucket}/agentops/state/{REPOSITORY}"
    ws = workspace(tmp_path / "ws", envs=("dev",), agents=0, datasets=3, items=2)
    env = {**runner, "AGENTOPS_STATE": uri}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "watch", "--resync", "1", "--log-format", "json"],
        cwd=ws,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60  # the watcher's first reconcile creates the state
        while open_store(parse_uri(uri, ws)).read().serial == 0:
            assert time.monotonic() < deadline and watcher.poll() is None, "no first reconcile"
            time.sleep(0.2)
        workspace(ws, envs=("dev",), agents=0, datasets=3, items=4)
        plan = run_job("apply.yml", "plan", ws, runner, bucket)
        assert plan.returncode == 0, plan.stderr
        person = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "apply", "--auto-approve", "--lock-timeout", "60"],
            cwd=ws,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        ci = run_job("apply.yml", "apply", ws, runner, bucket)
        out, err = person.communicate(timeout=120)
        assert person.returncode == 0, err
        # CI applied its plan, or was told (clearly) that someone else applied first
        assert ci.returncode == 0 or "plan --out again" in ci.stderr, ci.stderr
        time.sleep(1.5)  # a resync of the watcher
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, werr = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, werr
    results = [
        json.loads(line).get("result") for line in werr.splitlines() if '"reconcile"' in line
    ]
    assert results and set(results) <= {"ok", "locked"}, results
    final = subprocess.run(
        [sys.executable, "-m", "engine.cli", "plan", "--detailed-exitcode"],
        cwd=ws,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert final.returncode == 0, final.stdout + final.stderr  # converged, nothing lost
    state = open_store(parse_uri(uri, ws)).read()
    assert sorted(state.resources) == [f"dataset.d-{i}[dev]" for i in range(3)]
    assert not state.pending

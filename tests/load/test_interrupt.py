"""Ctrl-C during `agentops apply` stops the Locust master and workers: nothing is left in /proc."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time

from tests.load.conftest import AGENTOPS, LoadWorkspace, leftover_load_processes


def _wait_for_progress(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if "loadtest.long[prd]" in line and "requests" in line:
                return seen
        assert proc.poll() is None, seen
    raise AssertionError(f"no progress within {timeout}s:\n{seen}")


def test_sigint_to_apply_leaves_no_load_process(load_ws: LoadWorkspace) -> None:
    load_ws.write_loadtest(
        "long",
        "agent: mini\nenvironment: prd\npromptsFile: load_config.json\nusers: 2\n"
        "duration: 60s\nworkers: 1\n",
    )
    try:
        proc = subprocess.Popen(
            [AGENTOPS, "apply", "--auto-approve", "--target", "loadtest.long[prd]"],
            cwd=load_ws.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_COLOR": "1"},
        )
        try:
            _wait_for_progress(proc, timeout=40)
            assert len(leftover_load_processes(load_ws.root)) == 2  # the master and its worker
            started = time.monotonic()
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 130, err
        assert time.monotonic() - started < 10  # well before the 60 s duration
        assert leftover_load_processes(load_ws.root) == []
        state = json.loads(load_ws.cli("state", "show").stdout)
        run = state["runs"]["loadtest.long[prd]"]
        assert run["status"] == "failed" and "interrupted" in run["message"]
    finally:
        (load_ws.root / "specs" / "loadtests" / "long.yaml").unlink()

"""`agentops --help` and `agentops validate` stay light: no SDK is imported on their path.

They run in every CI job and editor hook; boto3 alone costs ~150 ms to import. The check runs
in a fresh interpreter so nothing this test session imported can hide a regression.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
HEAVY = (
    "boto3",
    "botocore",
    "strands",
    "langfuse",
    "locust",
    "autoevals",
    "gevent",
    "bedrock_agentcore",
    "uvicorn",
    "starlette",
)

PROBE = """
import contextlib, io, json, sys
import engine.cli
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = engine.cli.main(sys.argv[1:])
    except SystemExit as exc:  # --help exits through argparse
        code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(%r)))
print(json.dumps({"code": code, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["validate", "--help"],
        ["-C", str(REPO), "validate"],
        ["-C", str(REPO), "validate", "--output", "json"],
        ["-C", str(REPO), "graph"],
    ],
    ids=["help", "validate-help", "validate", "validate-json", "graph"],
)
def test_no_sdk_is_imported(argv: list[str]) -> None:
    probe = PROBE % json.dumps(HEAVY)
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, f"agentops {' '.join(argv)} exited {result['code']}"
    assert result["heavy"] == [], f"agentops {' '.join(argv)} imported {result['heavy']}"

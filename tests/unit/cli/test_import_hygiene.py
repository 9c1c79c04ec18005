"""`agentops --help` and `agentops validate` stay light: no SDK is imported on their path.

They run in every CI job and editor hook; boto3 alone costs ~150 ms to import. The check runs
in a fresh interpreter so nothing this test session imported can hide a regression. The suite
turns the validate cache off (tests/conftest.py), so these are full runs; a replayed validate
must not even import pydantic or ruamel (its whole point, BENCHMARKS.md).
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
    "numpy",
    "httpx",
    "wordllama",
    "tenacity",  # only a retry needs it
    "shtab",  # only `agentops completion` needs it
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
    result = probe(argv, HEAVY)
    assert result["code"] == 0, f"agentops {' '.join(argv)} exited {result['code']}"
    assert result["heavy"] == [], f"agentops {' '.join(argv)} imported {result['heavy']}"


def test_a_replayed_validate_imports_neither_pydantic_nor_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.unit.cli.test_validate_cache import AGENT, ENV

    for rel, text in {
        "environments/dev.yaml": ENV,
        "specs/agent.yaml": AGENT,
        "agent/app.py": "print('hi')\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    monkeypatch.delenv("AGENTOPS_VALIDATE_CACHE")
    argv = ["-C", str(tmp_path), "validate"]
    # the first run stores the result (RACY_SECONDS 0: the files were written just now)
    store = "import engine.commands.validate_cache as c; c.RACY_SECONDS = 0; " + PROBE
    assert probe(argv, (), code=store)["code"] == 0
    result = probe(argv, (*HEAVY, "pydantic", "pydantic_core", "ruamel", "yaml"))
    assert result == {"code": 0, "heavy": []}


def probe(argv: list[str], heavy: tuple[str, ...], code: str = PROBE) -> dict[str, object]:
    """Run the CLI in a fresh interpreter: its exit code and which of `heavy` it imported."""
    done = subprocess.run(
        [sys.executable, "-c", code % json.dumps(heavy), *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result

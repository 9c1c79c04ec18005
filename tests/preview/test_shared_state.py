"""Previews and main on two machines sharing one S3 state (the moto server).

"main" and "ci" are two workspace directories (two checkouts) with the same AGENTOPS_STATE:
nothing but S3 connects them. The story of a pull request:

1. main applies: the gate passes on digest D1, prd gets D1, D1's result is kept in S3;
2. ci (a fresh checkout with the pull request's prompt change) previews it: the gate runs
   on the copy, is compared with D1's result - found in S3, ci has no local history - and
   its verdict and cases go to S3; a later push that regresses fails (exit 3), recording
   nothing;
3. main merges the same change and applies: the gate does not run again (the verdict is
   reused), prd gets D2;
4. a later change on main regresses beyond `maxRegression` against D2 - whose result the
   *ci* machine recorded - and the gate fails (exit 3), prd keeps D2;
5. with D2's recorded result gone, the same change passes on its thresholds, and says that
   maxRegression was not checked;
6. a pinned baseline that was never recorded fails the gate before anything is deployed.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.store import LocalStore
from tests.monitoring.helpers import cli, echo_workspace
from tests.state.s3util import s3_client

pytestmark = pytest.mark.timeout(240)

SPECS = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  file: dataset.json
  environments: [tst]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: bot
  dataset: golden
  environment: tst
  promotes: [prd]
  maxRegression: {ver: 0.1}
  evaluators:
    - {use: "evaluators/ver.py:v1", name: ver, threshold: {mean: 0.4}}
"""

EVALUATOR = '''\
def v1(output):
    """1.0 for an answer of version 1 of the echo agent, 0.5 otherwise."""
    return 1.0 if output.startswith("v1 ") else 0.5
'''


@pytest.fixture
def machines(
    tmp_path: Path, s3_state: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Path, Path]]:
    main_ws = echo_workspace(tmp_path / "main", ["tst", "prd"], SPECS)
    (main_ws / "evaluators").mkdir()
    (main_ws / "evaluators" / "ver.py").write_text(EVALUATOR)
    items = [{"id": f"q{i}", "input": {"prompt": f"what is gate {i}?"}} for i in range(3)]
    (main_ws / "dataset.json").write_text(json.dumps(items))
    set_version(main_ws, "1")
    monkeypatch.setenv("AGENTOPS_STATE", s3_state)
    yield main_ws, tmp_path / "ci"
    main(["-C", str(main_ws), "destroy", "--auto-approve"])


def set_version(root: Path, version: str) -> None:
    bot = root / "specs" / "bot.yaml"
    text = bot.read_text()
    if "  env:" in text:
        text = text.rsplit("  env:", 1)[0]
    bot.write_text(text + f'  env: {{VERSION: "{version}"}}\n')


def checkout(main_ws: Path, ci: Path) -> Path:
    """A fresh clone of main's files: no `.agentops/`, so no local history at all."""
    shutil.copytree(main_ws, ci, ignore=shutil.ignore_patterns(".agentops"))
    return ci


def prompt_change(root: Path) -> None:
    bot = root / "specs" / "bot.yaml"
    bot.write_text(bot.read_text().replace("You echo.", "You echo, briefly."))


def keys(s3_state: str, folder: str) -> list[str]:
    bucket, prefix = s3_state[len("s3://") :].split("/", 1)
    found = s3_client(os.environ["AWS_ENDPOINT_URL_S3"]).list_objects_v2(
        Bucket=bucket, Prefix=f"{prefix}/{folder}/"
    )
    return [o["Key"][len(prefix) + 1 :] for o in found.get("Contents", [])]


def gate_runs(root: Path) -> int:
    """How many gate runs this checkout made (its own local store)."""
    with sqlite3.connect(root / ".agentops" / "store.sqlite") as conn:
        return int(conn.execute("SELECT count(*) FROM eval_runs").fetchone()[0])


def state(capsys: pytest.CaptureFixture[str], root: Path) -> dict:  # type: ignore[type-arg]
    rc, out, err = cli(capsys, root, "state", "show")
    assert rc == 0, err
    data: dict = json.loads(out)  # type: ignore[type-arg]
    return data


def test_a_preview_in_ci_is_reused_and_compared_with_on_main(
    machines: tuple[Path, Path], s3_state: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main_ws, ci_dir = machines
    # 1. main: the gate passes on D1 and prd gets it; D1's cases are kept beside the state
    rc, out, err = cli(capsys, main_ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    d1 = state(capsys, main_ws)["resources"]["agent.bot[prd]"]["digest"]
    assert [k.split("/")[2] for k in keys(s3_state, "baselines")] == [d1]
    assert not (main_ws / ".agentops" / "state.json").exists()  # the state is in S3

    # 2. ci: a fresh checkout of the pull request previews it
    ci = checkout(main_ws, ci_dir)
    prompt_change(ci)
    rc, comment, err = cli(capsys, ci, "preview", "--name", "pr-7", "-o", "markdown")
    assert rc == 0, comment + err
    assert f"(digest `{d1}`, promoted in prd), 3 paired case(s)" in comment
    assert "| ver | 1.000 | 1.000 | +0.000 |" in comment
    (verdict,) = keys(s3_state, "verdicts")
    assert not (ci / ".agentops" / "verdicts").exists()  # beside the state, not the checkout
    d2 = json.loads(
        s3_client(os.environ["AWS_ENDPOINT_URL_S3"])
        .get_object(Bucket=s3_state[5:].split("/")[0], Key=f"team/workspace/{verdict}")["Body"]
        .read()
    )["agent_digest"]
    assert sorted(k.split("/")[2] for k in keys(s3_state, "baselines")) == sorted([d1, d2])

    # ... a later push regresses: the comment says so, exit 3 (a verdict), nothing recorded
    set_version(ci, "2")
    rc, comment, err = cli(capsys, ci, "preview", "--name", "pr-7", "-o", "markdown")
    assert rc == 3, comment + err
    assert "— ❌ regressed" in comment and "| ver | 1.000 | 0.500 | -0.500 ❌ |" in comment
    assert keys(s3_state, "verdicts") == [verdict]
    assert len(keys(s3_state, "baselines")) == 2

    # 3. main merges the same change: the gate is not run again, prd gets D2
    prompt_change(main_ws)
    assert gate_runs(main_ws) == 1
    rc, out, err = cli(capsys, main_ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    assert "reused the passing verdict of preview pr-7" in out + err
    assert gate_runs(main_ws) == 1  # no second gate run on main
    after = state(capsys, main_ws)
    assert after["resources"]["agent.bot[prd]"]["digest"] == d2
    assert after["runs"]["qualitygate.release[tst]"]["summary"]["reused"]["preview"] == "pr-7"

    # 4. a regression on main, against D2's result that ci recorded: the gate fails
    set_version(main_ws, "2")
    rc, out, err = cli(capsys, main_ws, "apply", "--auto-approve")
    assert rc == 3, out + err
    assert "regressed against the baseline (promoted in prd): ver -0.500 (maxRegression 0.1)" in (
        out + err
    )
    failed = state(capsys, main_ws)
    assert failed["resources"]["agent.bot[prd]"]["digest"] == d2  # prd keeps D2
    summary = failed["runs"]["qualitygate.release[tst]"]["summary"]
    assert summary["verdict"] == "pass" and summary["baseline"]["baseline_digest"] == d2
    # the report's data carries the baseline's own answers next to the new ones
    run = EvalStore(LocalStore(main_ws / ".agentops" / "store.sqlite")).load(summary["run_id"])
    assert run.comparison is not None
    assert [c.response.split(" ")[0] for c in run.comparison.baseline_cases] == ["v1"] * 3
    assert [c.response.split(" ")[0] for c in run.variants[0].cases] == ["v2"] * 3

    # 5. D2's recorded result is gone: judged on thresholds alone, and it says so
    bucket = s3_state[5:].split("/")[0]
    for key in keys(s3_state, f"baselines/release/{d2}"):
        s3_client(os.environ["AWS_ENDPOINT_URL_S3"]).delete_object(
            Bucket=bucket, Key=f"team/workspace/{key}"
        )
    rc, out, err = cli(capsys, main_ws, "apply", "--auto-approve")
    assert rc == 0, out + err
    summary = state(capsys, main_ws)["runs"]["qualitygate.release[tst]"]["summary"]
    assert summary["baseline"]["deltas"] == []
    assert summary["baseline"]["note"] == (
        f"no baseline: digest {d2} (promoted in prd) has no recorded passing result; "
        "maxRegression not checked"
    )

    # 6. a pinned baseline that was never recorded: the gate fails before any deploy
    runs = main_ws / "specs" / "runs.yaml"
    pinned = "  baseline: {digest: deadbeef00}\n  maxRegression:"
    runs.write_text(runs.read_text().replace("  maxRegression:", pinned))
    set_version(main_ws, "3")
    rc, out, err = cli(capsys, main_ws, "apply", "--auto-approve")
    assert rc == 1, out + err
    assert "specs/runs.yaml:" in out + err
    assert "the declared baseline (agent digest deadbeef00) has no passing result" in out + err

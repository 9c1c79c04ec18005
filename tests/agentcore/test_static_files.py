"""Static checks of what cannot run here: the Dockerfile and the GitHub workflows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from engine.spec.workspace import load_workspace

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    text = text.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_base_image_is_arm64_capable_and_pinned() -> None:
    froms = [args for word, args in instructions() if word == "FROM"]
    assert len(froms) == 1
    image = froms[0].split()[-1]
    # The official python image is multi-arch (linux/arm64 included); slim; no `latest`.
    assert re.fullmatch(r"python:3\.1[1-3](\.\d+)?-slim(-bookworm)?(@sha256:[0-9a-f]{64})?", image)
    assert "latest" not in image


def test_dockerfile_runs_as_a_non_root_user_on_8080() -> None:
    ins = instructions()
    users = [args for word, args in ins if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert ("EXPOSE", "8080") in ins
    last_user = max(i for i, (w, _) in enumerate(ins) if w == "USER")
    cmd = max(i for i, (w, _) in enumerate(ins) if w == "CMD")
    assert last_user < cmd


def test_dockerfile_runs_the_entrypoint_given_by_a_build_arg() -> None:
    ins = instructions()
    args = {a.split("=")[0] for w, a in ins if w == "ARG"}
    assert {"SOURCE_DIR", "AGENT_ENTRYPOINT", "REQUIREMENTS"} <= args
    cmd = next(a for w, a in ins if w == "CMD")
    assert "$AGENT_ENTRYPOINT" in cmd and cmd.startswith("[")  # exec form: PID 1 gets signals
    env = " ".join(a for w, a in ins if w == "ENV")
    assert "AGENT_ENTRYPOINT=/app/${SOURCE_DIR}/${AGENT_ENTRYPOINT}" in env
    assert "DOCKER_CONTAINER=1" in env  # bedrock-agentcore binds 0.0.0.0 only then


@pytest.mark.parametrize("agent", ["docs-assistant", "specialist", "orchestrator"])
def test_the_reference_agents_fit_the_dockerfile(agent: str) -> None:
    """What the build args would be for each reference agent exists in the build context."""
    ws = load_workspace(ROOT)
    spec = ws.agents[agent].doc.spec
    source = ROOT / spec.source
    assert (source / spec.entrypoint).is_file()
    assert spec.requirements and (source / spec.requirements).is_file()
    assert "bedrock-agentcore" in (source / spec.requirements).read_text()


def workflow(name: str) -> dict[str, Any]:
    data: dict[str, Any] = YAML(typ="safe").load((WORKFLOWS / name).read_text())
    return data


def steps(flow: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = flow["jobs"].values()
    result: list[dict[str, Any]] = job["steps"]
    return result


def test_plan_workflow_runs_on_pull_requests_and_comments_the_plan() -> None:
    flow = workflow("plan.yml")
    assert set(flow["on"]) == {"pull_request"}
    assert flow["permissions"] == {}
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {
        "contents": "read",
        "id-token": "write",
        "pull-requests": "write",
    }
    runs = " ".join(s.get("run", "") for s in steps(flow))
    assert "agentops validate" in runs
    assert "agentops plan --no-lock --output markdown --detailed-exitcode" in runs
    assert "agentops apply" not in runs
    assert "aws s3" not in runs  # the state backend reads the state; no copying by hand
    assert job["env"]["AGENTOPS_STATE"].startswith("s3://${{ vars.AGENTOPS_STATE_BUCKET }}/")
    creds = next(s for s in steps(flow) if "configure-aws-credentials" in s.get("uses", ""))
    assert "role-to-assume" in creds["with"] and "aws-access-key-id" not in creds["with"]
    # the sticky comment (plan + verdicts) comes from the composite preview action
    assert any(s.get("uses") == "./.github/actions/agentops" for s in steps(flow))
    # exit 2 (changes) passes, anything else but 0 fails the job
    plan_step = next(s for s in steps(flow) if s.get("id") == "plan")
    assert "-ne 2" in plan_step["run"] and "exit" in plan_step["run"]


def test_apply_workflow_runs_on_main_only_with_oidc() -> None:
    flow = workflow("apply.yml")
    assert flow["on"] == {"push": {"branches": ["main"]}}
    assert flow["permissions"] == {}
    assert flow["concurrency"]["cancel-in-progress"] is False
    assert flow["env"]["AGENTOPS_STATE"].startswith("s3://${{ vars.AGENTOPS_STATE_BUCKET }}/")
    plan, apply = flow["jobs"]["plan"], flow["jobs"]["apply"]
    assert apply["needs"] == "plan" and apply["environment"] == "production"
    for job, role in ((plan, "AGENTOPS_PLAN_ROLE_ARN"), (apply, "AGENTOPS_APPLY_ROLE_ARN")):
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        creds = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        assert creds["with"]["role-to-assume"] == "${{ vars." + role + " }}"
        assert "aws-secret-access-key" not in creds["with"]
    plan_runs = " ".join(s.get("run", "") for s in plan["steps"])
    apply_runs = " ".join(s.get("run", "") for s in apply["steps"])
    assert "agentops plan --no-lock" in plan_runs and "--out plan.json" in plan_runs
    assert "agentops apply plan.json --lock-timeout" in apply_runs
    assert "aws s3" not in plan_runs + apply_runs  # no state copied by hand


def test_no_workflow_uses_long_lived_keys_or_write_all() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert "AWS_SECRET_ACCESS_KEY" not in text and "write-all" not in text, path.name
        assert "pull_request_target" not in text, path.name

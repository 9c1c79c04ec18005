"""`agentops import` of an AgentCore runtime and `agentops logs` from CloudWatch, on moto."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
import pytest

from engine.cli import main
from engine.providers.agentcore.logs import log_group
from engine.providers.agentcore.names import TAG_WORKSPACE, names_for

from .conftest import REGION
from .helpers import actions, apply_all, control, plan, state, workspace

pytestmark = pytest.mark.usefixtures("aws")

SPECIALIST = "agent.specialist[prd]"


def foreign_runtime(name: str = "handmade", tags: dict[str, str] | None = None) -> dict:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return control().create_agent_runtime(
        agentRuntimeName=name,
        agentRuntimeArtifact={
            "codeConfiguration": {
                "code": {"s3": {"bucket": "b", "prefix": "k.zip"}},
                "runtime": "PYTHON_3_11",
                "entryPoint": ["main.py"],
            }
        },
        roleArn=role,
        networkConfiguration={"networkMode": "PUBLIC"},
        environmentVariables={"LEFT": "over"},
        tags=tags or {},
    )


def run(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args])


def test_import_adopts_tags_and_the_next_apply_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, orchestrator=False, secret=False)
    made = foreign_runtime()
    assert run(tmp_path, "import", SPECIALIST, made["agentRuntimeArn"]) == 0
    assert f"Imported {made['agentRuntimeId']} as {SPECIALIST}" in capsys.readouterr().out
    st = state(tmp_path)
    res = st.resources[SPECIALIST]
    assert res.provider == "agentcore" and res.provider_id == made["agentRuntimeId"]
    tags = control().list_tags_for_resource(resourceArn=made["agentRuntimeArn"])["tags"]
    assert names_for(SPECIALIST, st.workspace_id).owns(tags)
    # the next plan updates it to the spec (same runtime id), then nothing is left to do
    assert actions(plan(tmp_path)) == {SPECIALIST: "update"}
    apply_all(tmp_path)
    assert state(tmp_path).resources[SPECIALIST].provider_id == made["agentRuntimeId"]
    live = control().get_agent_runtime(agentRuntimeId=made["agentRuntimeId"])
    assert "LEFT" not in live["environmentVariables"]
    assert not plan(tmp_path).has_changes
    # importing again: the address is taken
    assert run(tmp_path, "import", SPECIALIST, made["agentRuntimeId"]) == 1
    assert "already in the state" in capsys.readouterr().err


def test_import_refuses_another_workspaces_runtime_and_bad_ids(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, orchestrator=False, secret=False)
    theirs = foreign_runtime("theirs", {TAG_WORKSPACE: "someoneelse", "agentops:address": "x"})
    assert run(tmp_path, "import", SPECIALIST, theirs["agentRuntimeId"]) == 1
    err = capsys.readouterr().err
    assert "belongs to agentops workspace someoneelse" in err and "Traceback" not in err
    assert SPECIALIST not in state(tmp_path).resources
    tags = control().list_tags_for_resource(resourceArn=theirs["agentRuntimeArn"])["tags"]
    assert tags[TAG_WORKSPACE] == "someoneelse"  # untouched
    assert run(tmp_path, "import", SPECIALIST, "nope-123") == 1
    assert "there is no AgentCore runtime nope-123" in capsys.readouterr().err
    assert run(tmp_path, "import", "agent.nobody[prd]", "x") == 1
    assert "agent.nobody[prd] is not a declared resource" in capsys.readouterr().err
    assert run(tmp_path, "import", "agent.specialist", "x") == 1
    assert "import needs the environment" in capsys.readouterr().err


def test_import_of_a_local_agent_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.reconciler.util import workspace as local_workspace

    local_workspace(tmp_path, agents=1, datasets=1)
    assert run(tmp_path, "import", "agent.a-0[dev]", "1234") == 1
    err = capsys.readouterr().err
    assert "import is not supported for agent.a-0[dev] (local-runtime)" in err
    assert run(tmp_path, "import", "dataset.d-0[dev]", "d") == 1
    assert "(local-store)" in capsys.readouterr().err


def test_logs_read_and_follow_cloudwatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace(tmp_path, orchestrator=False, secret=False)
    apply_all(tmp_path)
    rid = state(tmp_path).resources[SPECIALIST].provider_id
    assert rid
    assert run(tmp_path, "logs", "specialist") == 0
    assert "No logs yet" in capsys.readouterr().err
    logs = boto3.client("logs", region_name=REGION)
    group = log_group(rid)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2025/01/01/[runtime-logs]s1")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2025/01/01/[runtime-logs]s1",
        logEvents=[
            {"timestamp": now - 3_600_000, "message": "an hour ago"},
            {"timestamp": now - 1000, "message": "just now"},
        ],
    )
    assert run(tmp_path, "logs", "specialist", "--env", "prd") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["an hour ago", "just now"]
    assert run(tmp_path, "logs", SPECIALIST, "--since", "10m") == 0
    assert capsys.readouterr().out.split(" ", 1)[1] == "just now\n"

    from engine.commands.logs import source_for, stream

    source = source_for(state(tmp_path).resources[SPECIALIST])
    got: list[str] = []
    calls = []

    def sleep(_seconds: float) -> None:
        calls.append(1)
        logs.put_log_events(
            logGroupName=group,
            logStreamName="2025/01/01/[runtime-logs]s1",
            logEvents=[{"timestamp": now + len(calls), "message": f"followed {len(calls)}"}],
        )

    stream(
        source,
        since=None,
        tail=1,
        follow=True,
        write=got.append,
        sleep=sleep,
        stop=lambda: len(calls) >= 2,
    )
    assert [g.split(" ", 1)[1] for g in got] == ["just now", "followed 1", "followed 2"]

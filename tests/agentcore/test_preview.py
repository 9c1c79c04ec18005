"""Previews of an AgentCore environment against moto: names, tags, teardown, the sweeper.

A workspace with `tst` and `prd` on AgentCore (moto's `mock_aws`), a gate in tst that
promotes prd. A preview copies tst as `pr-5` with the callee the gate's agent needs: its
runtime, role and artifacts get names of
their own (hashed over the preview's own workspace id) and the preview tags (name, the main
state's workspace id, start), two previews of different pull requests run side by side,
and everything is torn down. The sweeper finds what a killed preview left by those tags
(runtimes, and a role a preview left without a runtime) and never touches a young
preview, another workspace's preview or main's runtimes; a teardown that fails says what
it left and a sweep removes it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from engine.errors import PermanentError
from engine.preview.copy import preview_workspace
from engine.preview.run import PreviewResult, preview_dir, preview_tags, run_preview
from engine.preview.sweep import sweep
from engine.providers.agentcore.names import TAG_WORKSPACE, names_for, tags_list
from engine.providers.agentcore.provider import AgentCoreProvider
from engine.providers.base import TAG_PREVIEW, TAG_PREVIEW_OF, Context
from engine.spec.graph import build_graph
from engine.spec.workspace import load_workspace
from engine.state.local import LocalStateStore

from .conftest import BUCKET, REGION
from .helpers import apply_all, control, runtimes, state, workspace, write

pytestmark = [pytest.mark.usefixtures("aws"), pytest.mark.timeout(240)]

SPEC = "agent.specialist"
ORCH = "agent.orchestrator[pr-8]"
GATE = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  items: [{id: a, input: hi}, {id: b, input: there}]
  environments: [tst]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: specialist
  covers: [orchestrator]
  dataset: golden
  environment: tst
  promotes: [prd]
  evaluators:
    - {use: "evaluators/ok.py:ok", name: ok, threshold: {mean: 0.5}}
"""


def preview_workspace_dir(root: Path) -> Path:
    """tst and prd on AgentCore, the specialist and the orchestrator that calls it in both,
    a gate of the specialist that vouches for the orchestrator in tst, promoting prd: the
    copy deploys the orchestrator and its callee (the specialist itself also runs as the
    gate's ephemeral agent)."""
    workspace(root, secret=False, env="prd")
    tst = (root / "environments" / "prd.yaml").read_text().replace("name: prd", "name: tst")
    write(root, "environments/tst.yaml", tst)
    write(root, "specs/gate.yaml", GATE)
    write(root, "evaluators/ok.py", "def ok(output):\n    return 1.0 if output else 0.0\n")
    return root


def tags_of(arn: str) -> dict[str, str]:
    return dict(control().list_tags_for_resource(resourceArn=arn)["tags"])


def roles() -> dict[str, dict[str, str]]:
    iam = boto3.client("iam", region_name=REGION)
    out = {}
    for r in iam.list_roles(PathPrefix="/agentops/")["Roles"]:
        tags = iam.list_role_tags(RoleName=r["RoleName"])["Tags"]
        out[r["RoleName"]] = {t["Key"]: t["Value"] for t in tags}
    return out


def objects() -> list[str]:
    listed = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)
    return sorted(o["Key"] for o in listed.get("Contents", []))


@pytest.fixture
def ws_root(tmp_path: Path) -> Path:
    root = preview_workspace_dir(tmp_path / "ws")
    apply_all(root)  # main: tst and prd on AgentCore, the gate passed
    bot = root / "specs" / "agents.yaml"
    bot.write_text(bot.read_text().replace("Delegate numbers", "Always delegate numbers"))
    # (the orchestrator the gate vouches for changed: the gate runs again)
    return root


def preview(root: Path, name: str) -> PreviewResult:
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    return run_preview(ws, name, main_store=LocalStateStore(root / ".agentops"))


def test_the_copy_has_its_own_names_and_tags_and_is_torn_down(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = state(ws_root)
    main_runtimes = sorted(r["agentRuntimeId"] for r in runtimes())
    main_roles = set(roles())
    main_objects = objects()
    seen: dict[str, dict[str, Any]] = {}
    create = AgentCoreProvider.create

    def spy(self: AgentCoreProvider, node: Any, desired: Any, token: str, ctx: Context) -> Any:
        res = create(self, node, desired, token, ctx)
        seen[f"{res.address}/{ctx.tags.get(TAG_PREVIEW)}"] = {
            "res": res,
            "workspace_id": ctx.workspace_id,
            "tags": tags_of(str(res.outputs["arn"])),
            "roles": roles(),
            "objects": objects(),
        }
        return res

    monkeypatch.setattr(AgentCoreProvider, "create", spy)
    results: dict[str, PreviewResult] = {}

    def run(name: str) -> None:
        results[name] = preview(ws_root, name)

    # two pull requests at once: their copies never share a name or a tag
    threads = [threading.Thread(target=run, args=(n,)) for n in ("pr-5", "pr-6")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=200)
    assert set(results) == {"pr-5", "pr-6"}
    for name, r in results.items():
        assert r.ok, (name, [(g.address, g.status, g.message) for g in r.results], r.left)
        assert [g.preview_address for g in r.results] == [f"qualitygate.release[{name}]"]

    five, six = seen[f"{SPEC}[pr-5]/pr-5"], seen[f"{SPEC}[pr-6]/pr-6"]
    for name, got in (("pr-5", five), ("pr-6", six)):
        names = names_for(f"{SPEC}[{name}]", got["workspace_id"])
        assert got["res"].outputs["name"] == names.runtime
        assert got["workspace_id"] != main.workspace_id
        assert got["tags"][TAG_WORKSPACE] == got["workspace_id"]
        assert got["tags"][TAG_PREVIEW] == name and got["tags"][TAG_PREVIEW_OF] == main.workspace_id
        assert names.role in got["roles"] and got["roles"][names.role][TAG_PREVIEW] == name
        assert any(k.startswith(names.s3_prefix) for k in got["objects"])
    assert five["res"].outputs["name"] != six["res"].outputs["name"]
    assert five["res"].outputs["name"] not in {
        names_for(f"{SPEC}[{e}]", main.workspace_id).runtime for e in ("tst", "prd")
    }

    # torn down: main's runtimes, roles and artifacts alone are left
    assert sorted(r["agentRuntimeId"] for r in runtimes()) == main_runtimes
    assert set(roles()) == main_roles
    assert objects() == main_objects
    assert not any(TAG_PREVIEW in tags_of(r["agentRuntimeArn"]) for r in runtimes())


def leave_a_killed_preview(root: Path, name: str, parent: str, started: float) -> str:
    """What SIGKILL leaves of a preview: its copy's runtime (and role, artifacts) in AWS,
    created with the preview's tags, and no local trace at all. Its workspace id."""
    ws = load_workspace(root)
    pws = preview_workspace(ws, {"tst": name}, ["release"], [])
    workspace_id = f"killed{name.replace('-', '')}"
    ctx = Context(
        workspace=pws,
        state_dir=root / ".agentops" / "gone",
        workspace_id=workspace_id,
        tags=preview_tags(name, parent, started),
    )
    provider = AgentCoreProvider(root / ".agentops" / "gone")
    node = next(n for n in build_graph(pws) if str(n.address) == f"{SPEC}[{name}]")
    provider.create(node, provider.desired(node, ctx), "agentops-" + "k" * 40, ctx)
    return workspace_id


def test_the_sweeper_finds_a_killed_preview_by_its_tags_and_nothing_else(
    ws_root: Path,
) -> None:
    main = state(ws_root)
    now = time.time()
    old = leave_a_killed_preview(ws_root, "pr-1", main.workspace_id, now - 2 * 86400)
    young = leave_a_killed_preview(ws_root, "pr-2", main.workspace_id, now - 60)
    stranger = leave_a_killed_preview(ws_root, "pr-3", "anotherworkspace", now - 2 * 86400)
    # a preview killed after making its role, before its runtime: only the role is left
    names = names_for(f"{SPEC}[pr-4]", "killedpr4")
    tags = {**names.tags(), **preview_tags("pr-4", main.workspace_id, now - 3 * 86400)}
    boto3.client("iam", region_name=REGION).create_role(
        RoleName=names.role,
        Path="/agentops/",
        AssumeRolePolicyDocument="{}",
        Tags=tags_list(tags),
    )
    before = {r["agentRuntimeName"] for r in runtimes()}

    ws = load_workspace(ws_root)
    swept = sweep(ws_root, 86400, ws=ws, main_store=LocalStateStore(ws_root / ".agentops"))

    assert [s.name for s in swept] == ["pr-1", "pr-4"]
    assert swept[0].removed[0].startswith(f"{SPEC}[pr-1]: runtime agentops_specialist_pr_1_")
    assert swept[1].removed == [f"{SPEC}[pr-4]: role {names.role} (AgentCore, by tags)"]
    after = {r["agentRuntimeName"] for r in runtimes()}
    assert before - after == {names_for(f"{SPEC}[pr-1]", old).runtime}
    for wid, name in ((young, "pr-2"), (stranger, "pr-3")):
        assert names_for(f"{SPEC}[{name}]", wid).runtime in after
    assert {names_for(f"{SPEC}[{e}]", main.workspace_id).runtime for e in ("tst", "prd")} <= after
    left_roles = set(roles())
    assert names_for(f"{SPEC}[pr-1]", old).role not in left_roles
    assert names.role not in left_roles
    assert names_for(f"{SPEC}[pr-2]", young).role in left_roles
    assert not [k for k in objects() if k.startswith(names_for(f"{SPEC}[pr-1]", old).s3_prefix)]
    # nothing more to sweep
    assert sweep(ws_root, 86400, ws=ws, main_store=LocalStateStore(ws_root / ".agentops")) == []


def test_a_failed_teardown_says_what_it_left_and_the_sweeper_removes_it(
    ws_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    delete = AgentCoreProvider.delete

    def refuse(self: AgentCoreProvider, prior: Any, token: str, ctx: Context) -> None:
        raise PermanentError("AccessDenied: not authorized to perform DeleteAgentRuntime")

    monkeypatch.setattr(AgentCoreProvider, "delete", refuse)
    result = preview(ws_root, "pr-8")
    assert not result.ok
    copies = {
        r["agentRuntimeName"]: r["agentRuntimeId"]
        for r in runtimes()
        if TAG_PREVIEW in tags_of(r["agentRuntimeArn"])
    }
    kept = LocalStateStore(preview_dir(ws_root, "pr-8")).read()  # kept for the sweeper
    assert sorted(kept.resources) == [ORCH, f"{SPEC}[pr-8]"]
    expected = [
        f"{a} (agentcore: {kept.resources[a].outputs['name']}, {kept.resources[a].provider_id})"
        for a in sorted(kept.resources)
    ]
    assert result.left[:2] == expected
    assert {kept.resources[a].provider_id for a in kept.resources} == set(copies.values())
    # the caller's delete failed (the callee waits for it): the error names it
    assert result.left[2:] == [
        f"{ORCH}: AccessDenied: not authorized to perform DeleteAgentRuntime"
    ]

    monkeypatch.setattr(AgentCoreProvider, "delete", delete)
    ws = load_workspace(ws_root)
    (swept,) = sweep(ws_root, 0, ws=ws, main_store=LocalStateStore(ws_root / ".agentops"))
    assert swept.name == "pr-8" and swept.left == []
    assert swept.removed == [
        f"{a} (agentcore {kept.resources[a].provider_id})" for a in sorted(kept.resources)
    ]
    assert not any(TAG_PREVIEW in tags_of(r["agentRuntimeArn"]) for r in runtimes())
    assert not preview_dir(ws_root, "pr-8").exists()

"""build_graph: edges per kind, a deterministic topological order, and closure()."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.spec.addresses import Address
from engine.spec.graph import DesiredGraph, GraphCycle, GraphNode, build_graph, topological_order
from engine.spec.workspace import Workspace, load_workspace

ENVS = """\
apiVersion: agentops/v1
kind: Environment
metadata: {name: tst}
spec: {models: {fast: "offline:keyword"}}
---
apiVersion: agentops/v1
kind: Environment
metadata: {name: prd}
spec: {models: {fast: "offline:keyword"}}
"""

AGENTS = """\
apiVersion: agentops/v1
kind: Agent
metadata: {name: specialist}
spec: {source: agent, entrypoint: app.py, model: fast}
---
apiVersion: agentops/v1
kind: Agent
metadata: {name: orchestrator}
spec: {source: agent, entrypoint: app.py, model: fast, calls: [specialist]}
"""

RUNS = """\
apiVersion: agentops/v1
kind: Dataset
metadata: {name: golden}
spec:
  environments: [tst]
  items: [{input: hi, expected_output: hello}]
---
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: orchestrator
  dataset: golden
  environment: tst
  promotes: [prd]
  evaluators: [facts]
---
apiVersion: agentops/v1
kind: Experiment
metadata: {name: hpo}
spec:
  agent: orchestrator
  dataset: golden
  environment: tst
  matrix: {model: [fast]}
  evaluators: [facts]
  objective: {metric: facts}
---
apiVersion: agentops/v1
kind: LoadTest
metadata: {name: traffic}
spec:
  agent: orchestrator
  environment: prd
  prompts: [{name: hello, prompt: hi}]
  users: 1
  requests: 1
"""


def make_workspace(root: Path, files: dict[str, str]) -> Workspace:
    (root / "agent").mkdir(parents=True, exist_ok=True)
    (root / "agent" / "app.py").write_text("")
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    ws = load_workspace(root)
    assert ws.ok, [d.format() for d in ws.diagnostics]
    return ws


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_workspace(
        tmp_path,
        {"environments/envs.yaml": ENVS, "specs/agents.yaml": AGENTS, "specs/runs.yaml": RUNS},
    )


def A(text: str) -> Address:
    return Address.parse(text)


def deps(graph: DesiredGraph, address: str) -> list[str]:
    return [str(d) for d in graph.nodes[A(address)].depends_on]


def test_every_resource_gets_one_node_per_environment(ws: Workspace) -> None:
    graph = build_graph(ws)
    assert sorted(str(a) for a in graph.nodes) == [
        "agent.orchestrator[prd]",
        "agent.orchestrator[tst]",
        "agent.specialist[prd]",
        "agent.specialist[tst]",
        "dataset.golden[tst]",
        "environment.prd",
        "environment.tst",
        "experiment.hpo[tst]",
        "loadtest.traffic[prd]",
        "qualitygate.release[tst]",
    ]
    assert len(graph) == 10


def test_edges(ws: Workspace) -> None:
    graph = build_graph(ws)
    assert deps(graph, "environment.tst") == []
    assert deps(graph, "agent.specialist[tst]") == ["environment.tst"]
    # a caller waits for its callee in the same environment
    assert deps(graph, "agent.orchestrator[tst]") == ["agent.specialist[tst]", "environment.tst"]
    # promotion to prd waits for the gate that promotes it
    assert deps(graph, "agent.orchestrator[prd]") == [
        "agent.specialist[prd]",
        "environment.prd",
        "qualitygate.release[tst]",
    ]
    assert deps(graph, "dataset.golden[tst]") == ["environment.tst"]
    # runs deploy their own ephemeral agent: they wait for its callees and the dataset only
    for run in ("qualitygate.release[tst]", "experiment.hpo[tst]"):
        assert deps(graph, run) == [
            "agent.specialist[tst]",
            "dataset.golden[tst]",
            "environment.tst",
        ]
    assert deps(graph, "loadtest.traffic[prd]") == ["agent.orchestrator[prd]", "environment.prd"]


def test_order_respects_every_edge_and_ranks_independent_nodes(ws: Workspace) -> None:
    graph = build_graph(ws)
    position = {a: i for i, a in enumerate(graph.order)}
    for node in graph:
        for dep in node.depends_on:
            assert position[dep] < position[node.address], (dep, node.address)
    assert [str(a) for a in graph.order] == [
        "environment.prd",
        "environment.tst",
        "dataset.golden[tst]",
        "agent.specialist[tst]",
        # ready ones go by kind rank (agents before runs), then environment, then name
        "agent.orchestrator[tst]",
        "experiment.hpo[tst]",
        "qualitygate.release[tst]",
        # the gate covers the orchestrator's callee: in prd it waits for the gate too
        "agent.specialist[prd]",
        "agent.orchestrator[prd]",
        "loadtest.traffic[prd]",
    ]
    assert [n.address for n in graph] == graph.order


def test_order_does_not_depend_on_file_or_document_order(tmp_path: Path, ws: Workspace) -> None:
    expected = build_graph(ws).order
    docs = [d for text in (ENVS, AGENTS, RUNS) for d in text.split("---\n")]
    rng = random.Random(7)
    for attempt in range(3):
        rng.shuffle(docs)
        root = tmp_path / f"shuffled-{attempt}"
        files = {f"specs/{i:02d}-{rng.randrange(100)}.yaml": d for i, d in enumerate(docs)}
        assert build_graph(make_workspace(root, files)).order == expected


def test_closure_is_the_targets_and_everything_they_need(ws: Workspace) -> None:
    graph = build_graph(ws)
    closure = graph.closure([A("loadtest.traffic[prd]")])
    assert sorted(str(a) for a in closure) == [
        "agent.orchestrator[prd]",
        "agent.specialist[prd]",
        "agent.specialist[tst]",
        "dataset.golden[tst]",
        "environment.prd",
        "environment.tst",
        "loadtest.traffic[prd]",
        "qualitygate.release[tst]",
    ]
    assert graph.closure([A("environment.tst")]) == {A("environment.tst")}
    assert graph.closure([A("agent.nobody[tst]")]) == set()
    assert graph.closure([]) == set()


def test_dependents_is_the_reverse_of_depends_on(ws: Workspace) -> None:
    graph = build_graph(ws)
    dependents = graph.dependents()
    assert sorted(str(a) for a in dependents[A("agent.specialist[tst]")]) == [
        "agent.orchestrator[tst]",
        "experiment.hpo[tst]",
        "qualitygate.release[tst]",
    ]
    assert dependents[A("loadtest.traffic[prd]")] == []


def test_a_cycle_is_reported_as_its_path(ws: Workspace) -> None:
    spec = ws.agents["specialist"]
    a, b, c = A("agent.a[tst]"), A("agent.b[tst]"), A("agent.c[tst]")
    graph = DesiredGraph(
        nodes={
            a: GraphNode(a, spec, (b,)),
            b: GraphNode(b, spec, (c,)),
            c: GraphNode(c, spec, (a,)),
        }
    )
    with pytest.raises(GraphCycle) as caught:
        topological_order(graph)
    assert str(caught.value) == "agent.a[tst] → agent.b[tst] → agent.c[tst] → agent.a[tst]"
    assert caught.value.path == [a, b, c, a]

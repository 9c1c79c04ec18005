"""Graph: the resolved dependency DAG of a valid workspace, in deterministic order.

Pipeline role: `resolve -> graph`. One node per address (`agent.docs-assistant[prd]`);
edges point from a node to what must exist first:

- an agent in env E    -> environment.E and the agents it `calls` in E
- a dataset in E       -> environment.E
- an experiment / gate -> its dataset in E and the callees of its agent in E
                          (the agent itself is deployed as an ephemeral variant by the run);
                          a gate also -> the agents it `covers:` in E
- an agent in an environment a gate `promotes` -> that gate, when the gate covers it (the
                          gate's agent, its callees, its `covers:`): promotion waits for it
- a load test in E     -> the agent it targets in E
- a monitor in E       -> the agent, the load tests of that agent in E, and - with
                          `langfuse:` evaluators in a `store: langfuse` E - its evaluation
                          rule `evaluationrule.<monitor>[E]` (a resource, from the same spec)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.spec.addresses import Address
from engine.spec.coverage import covered, vouched
from engine.spec.schema import Document, QualityGateSpec
from engine.spec.schema.monitor import MonitorSpec
from engine.spec.workspace import Spec, Workspace, gc_paused

#: plan/apply order between independent nodes: environments, datasets, agents, runs
KIND_RANK = {
    "Environment": 0,
    "Dataset": 1,
    "Agent": 2,
    "Experiment": 3,
    "QualityGate": 4,
    "LoadTest": 5,
    "EvaluationRule": 6,
    "Monitor": 7,
}


@dataclass(frozen=True)
class GraphNode:
    address: Address
    spec: Spec[Document]
    depends_on: tuple[Address, ...]

    @property
    def kind(self) -> str:
        return self.address.kind


@dataclass
class DesiredGraph:
    nodes: dict[Address, GraphNode] = field(default_factory=dict)
    order: list[Address] = field(default_factory=list)

    def __iter__(self) -> Iterator[GraphNode]:
        return (self.nodes[a] for a in self.order)

    def __len__(self) -> int:
        return len(self.nodes)

    def dependents(self) -> dict[Address, list[Address]]:
        out: dict[Address, list[Address]] = {a: [] for a in self.nodes}
        for node in self.nodes.values():
            for dep in node.depends_on:
                out.setdefault(dep, []).append(node.address)
        return out

    def closure(self, targets: list[Address]) -> set[Address]:
        """The targets plus everything they depend on (transitively)."""
        seen: set[Address] = set()
        stack = [t for t in targets if t in self.nodes]
        while stack:
            a = stack.pop()
            if a in seen:
                continue
            seen.add(a)
            stack.extend(self.nodes[a].depends_on)
        return seen


class GraphCycle(Exception):
    def __init__(self, path: list[Address]) -> None:
        super().__init__(" → ".join(str(a) for a in path))
        self.path = path


def build_graph(ws: Workspace) -> DesiredGraph:
    """The DAG of a workspace that validated; raises GraphCycle on a cycle."""
    with gc_paused():  # see gc_paused: many small objects, no garbage
        return _build_graph(ws)


def _build_graph(ws: Workspace) -> DesiredGraph:
    deps: dict[Address, tuple[Spec[Document], list[Address]]] = {}

    def add(addr: Address, spec: Spec[Document], on: list[Address]) -> None:
        deps[addr] = (spec, on)

    for name, env in ws.environments.items():
        add(Address("Environment", name), env, [])
    for name, agent in ws.agents.items():
        for e in ws.agent_envs(name):
            on = [Address("Environment", e)]
            on += [Address("Agent", c, e) for c in agent.doc.spec.calls]
            add(Address("Agent", name, e), agent, on)
    for name, ds in ws.datasets.items():
        for e in ws.dataset_envs(name):
            add(Address("Dataset", name, e), ds, [Address("Environment", e)])
    calls = {n: a.doc.spec.calls for n, a in ws.agents.items()}
    for kind, table in (("Experiment", ws.experiments), ("QualityGate", ws.gates)):
        for name, run in table.items():
            s = run.doc.spec
            e = s.environment
            on = [Address("Environment", e), Address("Dataset", s.dataset, e)]
            on += [Address("Agent", c, e) for c in ws.agents[s.agent].doc.spec.calls]
            if isinstance(s, QualityGateSpec):  # what it vouches for is deployed where it runs
                on += [Address("Agent", c, e) for c in vouched(calls, s)]
            add(Address(kind, name, e), run, on)
    for name, gate in ws.gates.items():
        gate_addr = Address("QualityGate", name, gate.doc.spec.environment)
        for p in gate.doc.spec.promotes:
            for covered_agent in covered(calls, gate.doc.spec):
                target = Address("Agent", covered_agent, p)
                if target in deps:
                    deps[target][1].append(gate_addr)
    for name, lt in ws.loadtests.items():
        ls = lt.doc.spec
        on = [Address("Environment", ls.environment), Address("Agent", ls.agent, ls.environment)]
        add(Address("LoadTest", name, ls.environment), lt, on)
    for name, mon in ws.monitors.items():
        ms = mon.doc.spec
        on = [Address("Environment", ms.environment), Address("Agent", ms.agent, ms.environment)]
        # After the load tests of its agent there: their traffic is in the window it judges.
        on += [
            Address("LoadTest", lt_name, ms.environment)
            for lt_name, lt in ws.loadtests.items()
            if lt.doc.spec.agent == ms.agent and lt.doc.spec.environment == ms.environment
        ]
        if rule_of(ws, ms) is not None:
            # Its `langfuse:` evaluators run in Langfuse, on a standing evaluation rule.
            rule = Address("EvaluationRule", name, ms.environment)
            add(rule, mon, [Address("Environment", ms.environment)])
            on.append(rule)
        add(Address("Monitor", name, ms.environment), mon, on)

    graph = DesiredGraph()
    for addr, (spec, on) in deps.items():
        graph.nodes[addr] = GraphNode(addr, spec, tuple(sorted(set(on))))
    graph.order = topological_order(graph)
    return graph


def rule_of(ws: Workspace, spec: MonitorSpec) -> list[str] | None:
    """The Langfuse score names of a Monitor's remote evaluators when it stands up an
    evaluation rule (its environment has `store: langfuse`), else None."""
    env = ws.environments.get(spec.environment)
    if env is None or env.doc.spec.store != "langfuse":
        return None
    scores = [e.use.split(":", 1)[1] for e in spec.evaluators if e.use.startswith("langfuse:")]
    return scores or None


def _key(a: Address) -> tuple[int, str, str, str]:
    return (KIND_RANK[a.kind], a.env or "", a.name, a.kind)


def topological_order(graph: DesiredGraph) -> list[Address]:
    """Kahn's algorithm with a priority queue: the same graph always gives the same order.

    The queue holds each node's position in `_key` order (one sort, in C) rather than the
    key tuples themselves: the same order, with integer comparisons."""
    by_key = sorted(graph.nodes, key=_key)
    position = {a: i for i, a in enumerate(by_key)}
    indegree = {a: 0 for a in graph.nodes}
    for node in graph.nodes.values():
        for dep in node.depends_on:
            if dep in graph.nodes:
                indegree[node.address] += 1
    dependents = graph.dependents()
    ready = [position[a] for a, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    order: list[Address] = []
    while ready:
        a = by_key[heapq.heappop(ready)]
        order.append(a)
        for nxt in dependents.get(a, ()):
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, position[nxt])
    if len(order) != len(graph.nodes):
        raise GraphCycle(_a_cycle(graph, set(graph.nodes) - set(order)))
    return order


def _a_cycle(graph: DesiredGraph, stuck: set[Address]) -> list[Address]:
    start = min(stuck, key=_key)
    path = [start]
    seen = {start: 0}
    current = start
    while True:
        nxt = min((d for d in graph.nodes[current].depends_on if d in stuck), key=_key)
        if nxt in seen:
            return path[seen[nxt] :] + [nxt]
        seen[nxt] = len(path)
        path.append(nxt)
        current = nxt

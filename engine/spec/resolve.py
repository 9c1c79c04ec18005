"""Resolve: the cross-document checks of a loaded workspace, in a fixed order.

Pipeline role: `resolve`, the stage after `validate`. Each document validated on its own;
here the workspace is checked as a whole: every Environment's model aliases, each Agent's
references, files and `calls:` (cycles are printed as the path), and each Dataset's items;
then the runs (`run_checks.py`; `gate_checks.py`: also whether every agent of a promoted
environment is covered by a gate, and whether a gate can promote at all); last the prices
a `budget.maxCost` needs (`budget_checks.py`). Problems are appended to
`Workspace.diagnostics`.
"""

from __future__ import annotations

from engine.spec.budget_checks import BudgetChecks
from engine.spec.checks import Checks
from engine.spec.datasets import load_dataset_file, parse_items
from engine.spec.gate_checks import GateChecks
from engine.spec.paths import written_outside
from engine.spec.schema import Agent, Dataset, Document, Environment
from engine.spec.schema.base import ALIAS_RE, MODEL_PROVIDERS, MODEL_RE
from engine.spec.secret_uses import unset_env_warnings
from engine.spec.source_tree import scan_source
from engine.spec.specs import Spec, Workspace

SKIP_HINT = "remove it from the source folder, or narrow spec.include so it does not match"


def resolve(ws: Workspace) -> None:
    """Check what no single document can; append the problems to `ws.diagnostics`."""
    resources, runs = ResourceChecks(ws), GateChecks(ws)
    has_invalid_env = any(kind == "Environment" for kind, _ in ws.invalid)
    if not ws.environments and not has_invalid_env and (ws.agents or ws.datasets):
        spec = next(iter(ws.agents.values()), None) or next(iter(ws.datasets.values()))
        resources.error(
            spec,
            (),
            "no Environment is declared",
            "add environments/<name>.yaml with kind: Environment",
        )
    for env in ws.environments.values():
        resources.check_environment(env)
    for agent in ws.agents.values():
        resources.check_agent(agent)
    resources.check_cycles()
    for ds in ws.datasets.values():
        resources.check_dataset(ds)
    for ex in ws.experiments.values():
        runs.check_experiment(ex)
    for gate in ws.gates.values():
        runs.check_gate(gate)
    runs.check_coverage()
    for lt in ws.loadtests.values():
        runs.check_loadtest(lt)
    for mon in ws.monitors.values():
        runs.check_monitor(mon)
    BudgetChecks(ws).check()
    ws.diagnostics.extend(unset_env_warnings(ws))


class ResourceChecks(Checks):
    """Checks of the resources: environments, agents (and their calls), datasets."""

    def check_environment(self, env: Spec[Environment]) -> None:
        s = env.doc.spec
        for alias, target in s.models.items():
            if not ALIAS_RE.match(alias):
                self.error(
                    env,
                    ("spec", "models", alias),
                    f"invalid model alias '{alias}'",
                    "use lowercase letters, digits, '-' or '_'",
                )
            if not MODEL_RE.match(target):
                self.error(
                    env,
                    ("spec", "models", alias),
                    f"model alias '{alias}' must map to provider:id, got '{target}'",
                    f"providers: {', '.join(MODEL_PROVIDERS)}",
                )
        if s.judge is not None:
            self.model(env, ("spec", "judge", "model"), s.judge.model, [env.name])
        if s.runtime == "agentcore" and s.langfuse is not None and s.store == "langfuse":
            self.check_agentcore_langfuse(env)

    def check_agentcore_langfuse(self, env: Spec[Environment]) -> None:
        """Agents on AgentCore read the Langfuse keys themselves, in AWS: `ssm:` only.

        They export their spans to Langfuse (docs/aws.md, Traces); an `env:` variable lives
        on the deploying machine, and copying its value into the runtime's environment
        variables would show it in plaintext to whoever may read the runtime."""
        lf = env.doc.spec.langfuse
        assert lf is not None
        refs = (("host", lf.host), ("publicKey", lf.public_key), ("secretKey", lf.secret_key))
        for field, ref in refs:
            if not ref.startswith("env:"):
                continue
            var = ref[4:]
            self.error(
                env,
                ("spec", "langfuse", field),
                f"langfuse.{field} is {ref}, which agents on AgentCore cannot read: they "
                "export their traces to Langfuse and resolve the keys at run time in AWS",
                f"store it in SSM - aws ssm put-parameter --type SecureString --name "
                f"/langfuse/{var} --value ... - and use ssm:/langfuse/{var}",
            )

    def check_agent(self, agent: Spec[Agent]) -> None:
        s = agent.doc.spec
        a: Spec[Document] = agent
        self.envs(a, ("spec", "environments"), s.environments)
        envs = [e for e in self.ws.envs_of(s.environments) if e in self.ws.environments]
        self.model(a, ("spec", "model"), s.model, envs)
        if self.file(a, ("spec", "source"), s.source, "source directory", directory=True):
            self.source_tree(agent)
            self.file(
                a, ("spec", "entrypoint"), s.entrypoint, "entrypoint", base=self.ws.root / s.source
            )
            if s.requirements:
                self.file(
                    a,
                    ("spec", "requirements"),
                    s.requirements,
                    "requirements file",
                    base=self.ws.root / s.source,
                )
        if s.system_prompt_file:
            self.file(a, ("spec", "systemPromptFile"), s.system_prompt_file, "system prompt file")
        for i, callee in enumerate(s.calls):
            if callee == agent.name:
                self.error(
                    a,
                    ("spec", "calls", i),
                    f"agent '{callee}' calls itself",
                    "remove it from calls",
                )
                continue
            if not self.ref(a, ("spec", "calls", i), "Agent", callee):
                continue
            missing = sorted(set(envs) - set(self.ws.agent_envs(callee)))
            if missing:
                self.error(
                    a,
                    ("spec", "calls", i),
                    f"calls '{callee}', which does not run in {', '.join(missing)}",
                    f"add those environments to agent.{callee} or remove them here",
                )

    def source_tree(self, agent: Spec[Agent]) -> None:
        """Include patterns stay under `source`; every file they match is a readable file."""
        s = agent.doc.spec
        a: Spec[Document] = agent
        for i, pattern in enumerate(s.include):
            if written_outside(pattern):
                self.error(
                    a,
                    ("spec", "include", i),
                    f"spec.include[{i}]: pattern '{pattern}' leaves spec.source",
                    "patterns are relative to spec.source and cannot climb out of it",
                )
        tree = scan_source(self.ws.root, s.source, s.include, confined=self.ws.confined)
        for p in tree.problems:
            where = f"{s.source.rstrip('/')}/{p.rel}"
            if p.error:
                self.error(a, ("spec", "source"), f"spec.source: '{where}' {p.message}", SKIP_HINT)
            else:
                msg = f"spec.source: skipped '{where}': it {p.message}"
                self.warn(a, ("spec", "source"), msg, SKIP_HINT)

    def check_cycles(self) -> None:
        graph = {
            n: [c for c in a.doc.spec.calls if c in self.ws.agents and c != n]
            for n, a in self.ws.agents.items()
        }
        reported: set[frozenset[str]] = set()
        for cycle in find_cycles(graph):
            key = frozenset(cycle)
            if key in reported:
                continue
            reported.add(key)
            head = self.ws.agents[cycle[0]]
            idx = head.doc.spec.calls.index(cycle[1])
            path = " → ".join(f"agent.{n}" for n in cycle)
            self.error(
                head,
                ("spec", "calls", idx),
                f"dependency cycle: {path}",
                "agents cannot call each other in a loop; remove one of these calls",
            )

    def check_dataset(self, ds: Spec[Dataset]) -> None:
        s = ds.doc.spec
        d: Spec[Document] = ds
        self.envs(d, ("spec", "environments"), s.environments)
        if s.file is not None:
            if self.file(d, ("spec", "file"), s.file, "dataset file"):
                items, diags = load_dataset_file(
                    self.ws.root / s.file, s.file, ds.base_address, s.format
                )
                self.ws.diagnostics.extend(diags)
                if not diags:
                    self.ws.items[ds.name] = items
        else:
            raw_items = ds.raw.data["spec"]["items"]  # type: ignore[index]
            items, diags = parse_items(
                raw_items,
                where=ds.raw,
                file=ds.raw.file,
                address=ds.base_address,
                prefix=("spec", "items"),
            )
            self.ws.diagnostics.extend(diags)
            if not diags:
                self.ws.items[ds.name] = items


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Every elementary cycle reachable by DFS, each as [a, b, ..., a] (deterministic)."""
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles

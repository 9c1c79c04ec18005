"""Workspace: the validated, cross-checked set of specs of one directory.

Pipeline role: `load -> validate -> resolve`. `load_workspace()` runs the first two stages
over every file and then checks what no single document can: duplicate names (both places),
references to agents/datasets/environments/evaluators/model aliases/files that do not exist,
`calls:` cycles (printed as the path), and the contents of dataset and prompt files. It
never raises for bad input: everything is collected in `Workspace.diagnostics`.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError

from engine.spec.addresses import KIND_PREFIX
from engine.spec.datasets import LoadedItem, load_dataset_file, parse_items
from engine.spec.diagnostics import Diagnostic, SourceLocation, did_you_mean, nearest, sort_key
from engine.spec.evaluator_names import check_evaluator
from engine.spec.explain import explain
from engine.spec.loader import RawDocument, discover, load_files, load_text, read_text, relative
from engine.spec.schema import (
    Agent,
    AgentSpec,
    Dataset,
    Document,
    Environment,
    EvaluatorRef,
    Experiment,
    LoadPrompt,
    LoadTest,
    QualityGate,
)
from engine.spec.schema.base import ALIAS_RE, MODEL_PROVIDERS, MODEL_RE
from engine.spec.validate import validate_document

D = TypeVar("D", bound=Document, covariant=True)


@dataclass(frozen=True)
class Spec(Generic[D]):
    """A validated document and where it came from."""

    doc: D
    raw: RawDocument

    @property
    def name(self) -> str:
        return self.doc.metadata.name

    @property
    def base_address(self) -> str:
        return f"{KIND_PREFIX[self.doc.KIND]}.{self.name}"

    def loc(self, *path: str | int, value: bool = True) -> SourceLocation:
        return self.raw.locate(path, prefer_value=value)


@dataclass
class Workspace:
    root: Path
    environments: dict[str, Spec[Environment]] = field(default_factory=dict)
    agents: dict[str, Spec[Agent]] = field(default_factory=dict)
    datasets: dict[str, Spec[Dataset]] = field(default_factory=dict)
    experiments: dict[str, Spec[Experiment]] = field(default_factory=dict)
    gates: dict[str, Spec[QualityGate]] = field(default_factory=dict)
    loadtests: dict[str, Spec[LoadTest]] = field(default_factory=dict)
    items: dict[str, list[LoadedItem]] = field(default_factory=dict)
    prompts: dict[str, list[LoadPrompt]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: (kind, name) of documents that did not validate: references to them are not reported
    #: again as "does not exist", since their own diagnostics say what is wrong
    invalid: set[tuple[str, str]] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not any(d.severity == "error" for d in self.diagnostics)

    def by_kind(self, kind: str) -> dict[str, Spec[Document]]:
        table: dict[str, dict[str, Spec[Document]]] = {
            "Environment": self.environments,  # type: ignore[dict-item]
            "Agent": self.agents,  # type: ignore[dict-item]
            "Dataset": self.datasets,  # type: ignore[dict-item]
            "Experiment": self.experiments,  # type: ignore[dict-item]
            "QualityGate": self.gates,  # type: ignore[dict-item]
            "LoadTest": self.loadtests,  # type: ignore[dict-item]
        }
        return table[kind]

    def all_specs(self) -> Iterable[Spec[Document]]:
        for kind in KIND_PREFIX:
            yield from self.by_kind(kind).values()

    def envs_of(self, names: Sequence[str] | None) -> list[str]:
        """The environments a resource runs in: the listed ones or all of them."""
        return list(names) if names is not None else sorted(self.environments)

    def agent_envs(self, agent: str) -> list[str]:
        return self.envs_of(self.agents[agent].doc.spec.environments)

    def dataset_envs(self, dataset: str) -> list[str]:
        return self.envs_of(self.datasets[dataset].doc.spec.environments)

    def resolve_model(self, model: str, env: str) -> str | None:
        """`provider:id` for an alias or a literal model string; None if undefined."""
        if MODEL_RE.match(model):
            return model
        spec = self.environments.get(env)
        if spec is None:
            return None
        return spec.doc.spec.models.get(model)

    def path(self, relative_path: str) -> Path:
        return self.root / relative_path


def load_workspace(root: Path, paths: Sequence[Path] = ()) -> Workspace:
    """Load, validate and cross-check every spec under `root` (or the given paths)."""
    with gc_paused():
        return _load_workspace(root, paths)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a workspace (or its graph) is built.

    Loading allocates many small objects and leaves no garbage cycles behind, so collections
    triggered while the heap grows only rescan it: with them, 1,000 specs took ~1.5x longer
    per spec than 100. The collector is re-enabled (if it was enabled) on the way out."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_workspace(root: Path, paths: Sequence[Path]) -> Workspace:
    ws = Workspace(root=root)
    files = discover(root, paths)
    ws.files = [relative(f, root) for f in files]
    if not files:
        where = ", ".join(str(p) for p in paths) if paths else f"{root}/specs, {root}/environments"
        ws.diagnostics.append(
            Diagnostic(
                SourceLocation(str(paths[0]) if paths else "."),
                f"no spec files (*.yaml, *.yml) found in {where}",
                hint="run agentops in a workspace directory or pass the spec paths",
            )
        )
        return ws
    raws, diags = load_files(root, files)
    ws.diagnostics.extend(diags)
    first_seen: dict[tuple[str, str], Spec[Document]] = {}
    for raw in raws:
        doc, problems = validate_document(raw)
        ws.diagnostics.extend(problems)
        if doc is None:
            ws.invalid.update(_kind_and_name(raw))
            continue
        spec: Spec[Document] = Spec(doc, raw)
        key = (doc.KIND, doc.metadata.name)
        if key in first_seen:
            first = first_seen[key]
            ws.diagnostics.append(
                Diagnostic(
                    spec.loc("metadata", "name"),
                    f"duplicate name: {spec.base_address} is also defined at "
                    f"{first.loc('metadata', 'name')}",
                    spec.base_address,
                    "names must be unique per kind; rename or remove one",
                )
            )
            continue
        first_seen[key] = spec
        ws.by_kind(doc.KIND)[doc.metadata.name] = spec
    _Resolver(ws).run()
    ws.diagnostics.sort(key=sort_key)
    return ws


def _near_file(target: Path, shown: str, directory: bool) -> str | None:
    """'did you mean ...' for a misspelt file or directory name next to the wanted one."""
    try:
        siblings = [
            p.name for p in target.parent.iterdir() if (p.is_dir() if directory else p.is_file())
        ]
    except (OSError, ValueError):
        return None
    match = nearest(target.name, siblings)
    if match is None:
        return None
    head, _, _ = shown.rpartition("/")
    return f"did you mean '{head + '/' if head else ''}{match}'?"


def _kind_and_name(raw: RawDocument) -> list[tuple[str, str]]:
    data = raw.data
    if not isinstance(data, dict):
        return []
    kind, meta = data.get("kind"), data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and kind in KIND_PREFIX and isinstance(name, str):
        return [(kind, name)]
    return []


class _Resolver:
    """Cross-document checks; appends diagnostics to the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def error(
        self, spec: Spec[Document], path: Sequence[str | int], msg: str, hint: str | None = None
    ) -> None:
        self.ws.diagnostics.append(Diagnostic(spec.loc(*path), msg, spec.base_address, hint))

    def run(self) -> None:
        ws = self.ws
        has_invalid_env = any(kind == "Environment" for kind, _ in ws.invalid)
        if not ws.environments and not has_invalid_env and (ws.agents or ws.datasets):
            spec = next(iter(ws.agents.values()), None) or next(iter(ws.datasets.values()))
            self.error(
                spec,
                (),
                "no Environment is declared",
                "add environments/<name>.yaml with kind: Environment",
            )
        for env in ws.environments.values():
            self.check_environment(env)
        for agent in ws.agents.values():
            self.check_agent(agent)
        self.check_cycles()
        for ds in ws.datasets.values():
            self.check_dataset(ds)
        for ex in ws.experiments.values():
            self.check_experiment(ex)
        for gate in ws.gates.values():
            self.check_gate(gate)
        for lt in ws.loadtests.values():
            self.check_loadtest(lt)

    # --- references -------------------------------------------------------------------
    def ref(self, spec: Spec[Document], path: Sequence[str | int], kind: str, name: str) -> bool:
        table = self.ws.by_kind(kind)
        if name in table:
            return True
        if (kind, name) in self.ws.invalid:
            return False  # it exists but did not validate; its own diagnostics say why
        prefix = KIND_PREFIX[kind]
        declared = set(table) | {n for k, n in self.ws.invalid if k == kind}
        hint = did_you_mean(name, declared) or (
            f"declared {prefix}s: {', '.join(sorted(declared))}"
            if declared
            else f"no {kind} is declared; add one or fix the name"
        )
        self.error(spec, path, f"{prefix} '{name}' does not exist", hint)
        return False

    def envs(
        self, spec: Spec[Document], path: Sequence[str | int], names: Sequence[str] | None
    ) -> None:
        for i, env in enumerate(names or ()):
            self.ref(spec, (*path, i), "Environment", env)

    def file(
        self,
        spec: Spec[Document],
        path: Sequence[str | int],
        rel: str,
        what: str,
        *,
        directory: bool = False,
        base: Path | None = None,
    ) -> bool:
        target = (base or self.ws.root) / rel
        ok = target.is_dir() if directory else target.is_file()
        if not ok:
            shown = relative(target, self.ws.root)
            hint = _near_file(target, shown, directory) or (
                "create it or fix the path; "
                + (
                    "paths are relative to the workspace root"
                    if base is None
                    else f"the {what} is relative to spec.source"
                )
            )
            self.error(spec, path, f"{what} '{shown}' does not exist", hint)
        return ok

    def model(
        self, spec: Spec[Document], path: Sequence[str | int], model: str, envs: Sequence[str]
    ) -> None:
        if MODEL_RE.match(model):
            return
        if ":" in model:
            provider = model.split(":", 1)[0]
            self.error(
                spec,
                path,
                f"unknown model provider '{provider}'",
                did_you_mean(provider, MODEL_PROVIDERS)
                or f"use {', '.join(p + ':<id>' for p in MODEL_PROVIDERS)}",
            )
            return
        if not ALIAS_RE.match(model):
            self.error(
                spec,
                path,
                f"invalid model '{model}'",
                "use an alias of the environment or provider:id",
            )
            return
        for env in envs:
            env_spec = self.ws.environments.get(env)
            if env_spec is None:
                continue
            aliases = env_spec.doc.spec.models
            if model not in aliases:
                hint = did_you_mean(model, aliases) or (
                    f"define it under spec.models of environment.{env}, or use provider:id"
                )
                self.error(
                    spec, path, f"model alias '{model}' is not defined in environment '{env}'", hint
                )

    # --- kinds --------------------------------------------------------------------------
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

    def check_agent(self, agent: Spec[Agent]) -> None:
        s = agent.doc.spec
        a: Spec[Document] = agent
        self.envs(a, ("spec", "environments"), s.environments)
        envs = [e for e in self.ws.envs_of(s.environments) if e in self.ws.environments]
        self.model(a, ("spec", "model"), s.model, envs)
        if self.file(a, ("spec", "source"), s.source, "source directory", directory=True):
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

    def run_common(
        self,
        spec: Spec[Document],
        agent: str,
        env: str,
        evaluators: Sequence[EvaluatorRef] = (),
        at: tuple[str, ...] = ("spec", "evaluators"),
        *,
        remote: bool = True,
    ) -> None:
        self.ref(spec, ("spec", "agent"), "Agent", agent)
        self.ref(spec, ("spec", "environment"), "Environment", env)
        env_spec = self.ws.environments.get(env)
        judge = None if env_spec is None else env_spec.doc.spec.judge is not None
        store = None if env_spec is None else env_spec.doc.spec.store
        for i, ev in enumerate(evaluators):
            if not remote and ev.use.startswith("langfuse:"):
                problem: tuple[str, str | None] | None = (
                    f"'{ev.use}' is a score Langfuse computes after a run is recorded; a "
                    "LoadTest grades its responses locally, under load",
                    "wait for remote scores in a QualityGate, or grade with a local evaluator",
                )
            else:
                problem = check_evaluator(ev, self.ws.root, judge_configured=judge, store=store)
            if problem:
                self.error(spec, (*at, i, "use"), problem[0], problem[1])

    def dataset_in_env(self, spec: Spec[Document], dataset: str, env: str) -> None:
        if self.ref(spec, ("spec", "dataset"), "Dataset", dataset) and (
            env in self.ws.environments and env not in self.ws.dataset_envs(dataset)
        ):
            self.error(
                spec,
                ("spec", "dataset"),
                f"dataset '{dataset}' is not synced to environment '{env}'",
                f"add {env} to dataset.{dataset}'s environments",
            )

    def callees_in_env(self, spec: Spec[Document], agent: str, env: str) -> None:
        a = self.ws.agents.get(agent)
        if a is None or env not in self.ws.environments:
            return
        for callee in a.doc.spec.calls:
            if callee in self.ws.agents and env not in self.ws.agent_envs(callee):
                self.error(
                    spec,
                    ("spec", "environment"),
                    f"agent '{agent}' calls '{callee}', which does not run in '{env}'",
                    f"add {env} to agent.{callee}'s environments",
                )

    def check_experiment(self, ex: Spec[Experiment]) -> None:
        s = ex.doc.spec
        e: Spec[Document] = ex
        self.run_common(e, s.agent, s.environment, s.evaluators)
        self.dataset_in_env(e, s.dataset, s.environment)
        self.callees_in_env(e, s.agent, s.environment)
        base = self.ws.agents.get(s.agent)
        if base is None:
            return
        fields = {f.alias or n for n, f in AgentSpec.model_fields.items()}
        base_data = base.raw.data["spec"]  # type: ignore[index]
        for key, values in s.matrix.items():
            if key.startswith("env."):
                continue
            if key not in fields:
                self.error(
                    e,
                    ("spec", "matrix", key),
                    f"matrix key '{key}' is not an agent field",
                    did_you_mean(key, fields) or "use an agent field or env.NAME",
                )
                continue
            for i, value in enumerate(values):
                data = {**base_data, key: value.value}
                # A matrix prompt replaces the base prompt, whichever way it was given.
                for a, b in (
                    ("systemPrompt", "systemPromptFile"),
                    ("systemPromptFile", "systemPrompt"),
                ):
                    if key == a:
                        data.pop(b, None)
                try:
                    AgentSpec.model_validate(data)
                except ValidationError as exc:
                    for problem in explain(exc, data, AgentSpec)[:1]:
                        self.error(
                            e,
                            ("spec", "matrix", key, i),
                            f"matrix value: {problem.message}",
                            problem.hint,
                        )
                if key == "model" and isinstance(value.value, str):
                    self.model(e, ("spec", "matrix", key, i), value.value, [s.environment])

    def check_gate(self, gate: Spec[QualityGate]) -> None:
        s = gate.doc.spec
        g: Spec[Document] = gate
        self.run_common(g, s.agent, s.environment, s.evaluators)
        self.dataset_in_env(g, s.dataset, s.environment)
        self.callees_in_env(g, s.agent, s.environment)
        self.envs(g, ("spec", "promotes"), s.promotes)
        if s.agent in self.ws.agents:
            runs_in = self.ws.agent_envs(s.agent)
            for i, env in enumerate(s.promotes):
                if env in self.ws.environments and env not in runs_in:
                    self.error(
                        g,
                        ("spec", "promotes", i),
                        f"agent '{s.agent}' does not run in '{env}'",
                        f"add {env} to agent.{s.agent}'s environments",
                    )
        if s.environment in s.promotes:
            self.error(
                g,
                ("spec", "environment"),
                "the test environment cannot also be promoted by the gate",
            )

    def check_loadtest(self, lt: Spec[LoadTest]) -> None:
        s = lt.doc.spec
        t: Spec[Document] = lt
        self.run_common(
            t,
            s.agent,
            s.environment,
            s.grading.evaluators,
            ("spec", "grading", "evaluators"),
            remote=False,
        )
        if (
            s.agent in self.ws.agents
            and s.environment in self.ws.environments
            and s.environment not in self.ws.agent_envs(s.agent)
        ):
            self.error(
                t,
                ("spec", "environment"),
                f"agent '{s.agent}' does not run in '{s.environment}'",
                f"add {s.environment} to agent.{s.agent}'s environments",
            )
        if s.prompts is not None:
            self.ws.prompts[lt.name] = list(s.prompts)
        elif s.prompts_file and self.file(
            t, ("spec", "promptsFile"), s.prompts_file, "prompts file"
        ):
            prompts = self.load_prompts(t, s.prompts_file)
            if prompts is not None:
                self.ws.prompts[lt.name] = prompts

    def load_prompts(self, spec: Spec[Document], rel: str) -> list[LoadPrompt] | None:
        def problem(where: SourceLocation, msg: str, hint: str | None = None) -> None:
            self.ws.diagnostics.append(Diagnostic(where, msg, spec.base_address, hint))

        text, unreadable = read_text(self.ws.root / rel, rel)
        if text is None:
            if unreadable is not None:
                problem(unreadable.location, unreadable.message, unreadable.hint)
            return None
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            problem(SourceLocation(rel, exc.lineno, exc.colno), f"invalid JSON: {exc.msg}")
            return None
        # Parse again with the YAML composer (JSON is YAML 1.2) to get positions.
        docs, diags = load_text(text, rel)
        for d in diags:
            problem(d.location, d.message, d.hint)
        data = docs[0].data if docs and not diags else None
        if not isinstance(data, dict) or not isinstance(data.get("prompts"), list):
            problem(
                docs[0].start if docs else SourceLocation(rel, 1, 1),
                'a prompts file must be {"prompts": [{"name", "prompt"}, ...]}',
                "see load_config.json in the example workspace",
            )
            return None
        out: list[LoadPrompt] = []
        ok = True
        for i, entry in enumerate(data["prompts"]):
            try:
                out.append(LoadPrompt.model_validate(entry))
            except ValidationError as exc:
                ok = False
                for p in explain(exc, entry, LoadPrompt):
                    where = docs[0].locate(("prompts", i, *p.path), prefer_value=not p.at_key)
                    problem(where, f"prompt {i}: {p.message}", p.hint)
        return out if ok else None


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

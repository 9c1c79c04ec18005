"""Spec and Workspace: the validated documents of one directory, in a table per kind.

Pipeline role: the value `load -> validate -> resolve` produces (see `workspace.py`) and every
later stage reads: the graph, the digests, the providers and the run engines. Kept apart from
the loading so the cross-document checks (`resolve.py`) can use it without importing the
loader that calls them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from engine.spec.addresses import KIND_PREFIX
from engine.spec.datasets import LoadedItem
from engine.spec.diagnostics import Diagnostic, SourceLocation
from engine.spec.loader import RawDocument
from engine.spec.schema import (
    Agent,
    Dataset,
    Document,
    Environment,
    Experiment,
    LoadPrompt,
    LoadTest,
    Monitor,
    QualityGate,
)
from engine.spec.schema.base import MODEL_RE

#: the kinds of documents (addresses also name resources derived from them)
DOCUMENT_KINDS = (
    "Environment", "Agent", "Dataset", "Experiment", "QualityGate", "LoadTest", "Monitor",
)  # fmt: skip

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
    monitors: dict[str, Spec[Monitor]] = field(default_factory=dict)
    items: dict[str, list[LoadedItem]] = field(default_factory=dict)
    prompts: dict[str, list[LoadPrompt]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    #: every path a spec names must resolve inside `root` (see engine/spec/paths.py)
    confined: bool = True
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
            "Monitor": self.monitors,  # type: ignore[dict-item]
        }
        return table[kind]

    def all_specs(self) -> Iterable[Spec[Document]]:
        for kind in DOCUMENT_KINDS:
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

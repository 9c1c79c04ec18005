"""Addresses: the one name of a resource in CLI, state, plans, tags and logs.

`kind.name` plus `[env]` where the resource lives in an environment:
`agent.docs-assistant[prd]`, `dataset.golden[dev]`, `environment.prd`,
`evaluationrule.prd-quality[prd]` (a Monitor's Langfuse evaluation rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ADDRESS_RE = re.compile(r"^([a-z]+)\.([a-z0-9-]+)(?:\[([a-z0-9-]+)\])?$")

#: `kind:` value -> the lowercase prefix used in addresses
KIND_PREFIX = {
    "Environment": "environment",
    "Agent": "agent",
    "Dataset": "dataset",
    "Experiment": "experiment",
    "QualityGate": "qualitygate",
    "LoadTest": "loadtest",
    "Monitor": "monitor",
    # not a document kind: the Langfuse evaluation rule a Monitor with `langfuse:<score>`
    # evaluators stands up in a `store: langfuse` environment (engine.spec.graph)
    "EvaluationRule": "evaluationrule",
}
PREFIX_KIND = {v: k for k, v in KIND_PREFIX.items()}


@dataclass(frozen=True, order=True)
class Address:
    kind: str  # the spec kind, e.g. "Agent"
    name: str
    env: str | None = None

    def __str__(self) -> str:
        base = f"{KIND_PREFIX[self.kind]}.{self.name}"
        return f"{base}[{self.env}]" if self.env else base

    @property
    def base(self) -> str:
        """The address without its environment (`agent.docs-assistant`)."""
        return f"{KIND_PREFIX[self.kind]}.{self.name}"

    @classmethod
    def parse(cls, text: str) -> Address:
        m = _ADDRESS_RE.match(text.strip())
        if not m or m.group(1) not in PREFIX_KIND:
            kinds = ", ".join(sorted(PREFIX_KIND))
            raise ValueError(
                f"invalid address '{text}': use kind.name[env], e.g. agent.docs-assistant[prd] "
                f"(kinds: {kinds})"
            )
        return cls(PREFIX_KIND[m.group(1)], m.group(2), m.group(3))

    def matches(self, pattern: Address) -> bool:
        """A target pattern without `[env]` matches the resource in every environment."""
        return (self.kind, self.name) == (pattern.kind, pattern.name) and (
            pattern.env is None or pattern.env == self.env
        )

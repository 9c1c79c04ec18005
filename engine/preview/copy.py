"""The preview workspace: the main workspace with each triggered environment copied.

A copy is the same Environment document under the preview's name (`pr-123`, or
`pr-123-<env>` when the change triggers gates in several environments); every agent and
dataset deployed in the original is deployed in the copy too, and the triggered gates and
experiments run there. Nothing else is kept: the copy never promotes (`promotes: []`), and
load tests and monitors do not run in a preview. The documents are copied in memory, so
the agent digests, dataset digests and evaluator digests are exactly those of the change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from engine.errors import UsageError
from engine.spec.schema import Document
from engine.spec.workspace import Spec, Workspace

D = TypeVar("D", bound=Document)

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$")


def copy_names(name: str, envs: Sequence[str]) -> dict[str, str]:
    """original environment -> its preview copy's name."""
    if len(envs) == 1:
        return {envs[0]: name}
    return {e: f"{name}-{e}" for e in sorted(envs)}


def check_name(ws: Workspace, name: str, envs: Sequence[str]) -> dict[str, str]:
    """The copies' names, or a UsageError when one is invalid or a standing environment."""
    if not NAME_RE.match(name):
        raise UsageError(
            f"invalid preview name '{name}'",
            hint="use lowercase letters, digits and '-', e.g. pr-123",
        )
    names = copy_names(name, envs)
    taken = sorted({n for n in [name, *names.values()] if n in ws.environments})
    if taken:
        raise UsageError(
            f"preview '{name}' would be named like the standing environment "
            f"'{taken[0]}'; a preview never touches a declared environment",
            hint="pick another --name, e.g. pr-<number>",
        )
    return names


def _renamed(spec: Spec[D], name: str) -> Spec[D]:
    meta = spec.doc.metadata.model_copy(update={"name": name})
    return Spec(spec.doc.model_copy(update={"metadata": meta}), spec.raw)


def _with_envs(spec: Spec[D], names: Mapping[str, str]) -> Spec[D]:
    body: Any = spec.doc.spec
    envs = getattr(body, "environments", None)
    if envs is None:
        return spec
    extra = [names[e] for e in envs if e in names]
    body = body.model_copy(update={"environments": [*envs, *extra]})
    return Spec(spec.doc.model_copy(update={"spec": body}), spec.raw)


def _moved(spec: Spec[D], names: Mapping[str, str]) -> Spec[D]:
    body: Any = spec.doc.spec
    update: dict[str, object] = {"environment": names[body.environment]}
    if hasattr(body, "promotes"):
        update["promotes"] = []
    return Spec(spec.doc.model_copy(update={"spec": body.model_copy(update=update)}), spec.raw)


def preview_workspace(
    ws: Workspace, names: Mapping[str, str], gates: Sequence[str], experiments: Sequence[str]
) -> Workspace:
    """`ws` with the environments in `names` copied and only `gates` / `experiments` kept."""
    envs = dict(ws.environments)
    for original, copy in names.items():
        envs[copy] = _renamed(ws.environments[original], copy)
    return dataclasses.replace(
        ws,
        environments=envs,
        agents={n: _with_envs(s, names) for n, s in ws.agents.items()},
        datasets={n: _with_envs(s, names) for n, s in ws.datasets.items()},
        gates={n: _moved(ws.gates[n], names) for n in gates},
        experiments={n: _moved(ws.experiments[n], names) for n in experiments},
        loadtests={},
        monitors={},
        diagnostics=[],
    )

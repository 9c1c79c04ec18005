"""The preview workspace: the main workspace with each triggered environment copied.

A copy is the same Environment document under the preview's name (`pr-123`, or
`pr-123-<env>` when the change triggers gates in several environments), and the triggered
gates and experiments run there. Only what those runs use is deployed in the copy: their
datasets, and the agents their agent calls (transitively) or a gate vouches for (`covers:`)
- the evaluated agent itself runs as each run's own ephemeral agent, so a standing copy of
it would only cost a deploy and a teardown. Nothing else is kept: the copy never promotes
(`promotes: []`), and load tests and monitors do not run in a preview. The documents are
copied in memory, so the agent digests, dataset digests and evaluator digests (and the
callee digests a verdict binds) are exactly those of the change.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from engine.errors import UsageError
from engine.spec.coverage import call_closure, vouched
from engine.spec.schema import Document, QualityGateSpec
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


def _with_envs(spec: Spec[D], names: Mapping[str, str], all_envs: Sequence[str]) -> Spec[D]:
    """`spec` deployed in the copies of `names` too (the originals it runs in only)."""
    body: Any = spec.doc.spec
    if not hasattr(body, "environments"):
        return spec
    # no `environments:` means every environment, which would now include the copies
    envs = list(body.environments) if body.environments is not None else list(all_envs)
    extra = [names[e] for e in envs if e in names]
    if not extra and body.environments is not None:
        return spec
    body = body.model_copy(update={"environments": [*envs, *extra]})
    return Spec(spec.doc.model_copy(update={"spec": body}), spec.raw)


def _needed(
    ws: Workspace, gates: Sequence[str], experiments: Sequence[str]
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """original environment -> (agents, datasets) the runs there use."""
    calls = {n: a.doc.spec.calls for n, a in ws.agents.items()}
    agents: dict[str, set[str]] = {}
    datasets: dict[str, set[str]] = {}
    runs = [ws.gates[n].doc.spec for n in gates] + [ws.experiments[n].doc.spec for n in experiments]
    for run in runs:
        used = set(call_closure(calls, run.agent))
        if isinstance(run, QualityGateSpec):
            used |= set(vouched(calls, run))
        for name in list(used):  # what a deployed agent calls is deployed with it
            used |= set(call_closure(calls, name))
        agents.setdefault(run.environment, set()).update(used)
        datasets.setdefault(run.environment, set()).add(run.dataset)
    return agents, datasets


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
    agents, datasets = _needed(ws, gates, experiments)
    originals = sorted(ws.environments)

    def only(table: Mapping[str, set[str]], name: str) -> dict[str, str]:
        return {o: c for o, c in names.items() if name in table.get(o, set())}

    return dataclasses.replace(
        ws,
        environments=envs,
        agents={n: _with_envs(s, only(agents, n), originals) for n, s in ws.agents.items()},
        datasets={n: _with_envs(s, only(datasets, n), originals) for n, s in ws.datasets.items()},
        gates={n: _moved(ws.gates[n], names) for n in gates},
        experiments={n: _moved(ws.experiments[n], names) for n in experiments},
        loadtests={},
        monitors={},
        diagnostics=[],
    )

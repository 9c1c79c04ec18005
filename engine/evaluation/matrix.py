"""Matrix expansion: an Experiment's `matrix:` x its base agent -> the variants to evaluate.

Pipeline role: first step of an Experiment run. Every combination of the matrix values
(in the order the spec lists keys and values) becomes one `Variant`: the base agent's spec
with those fields replaced. Keys are agent fields as written in YAML (`model`,
`systemPrompt`, `lifecycle`, ...) or `env.NAME` for one environment variable. A matrix
`systemPrompt` replaces the base `systemPromptFile` and vice versa, the same rule the
workspace validator checks (`engine.spec.run_checks` check_experiment), so what validated is
exactly what runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from engine.errors import PermanentError
from engine.spec.digests import agent_attrs, digest_of
from engine.spec.schema import AgentSpec, ExperimentSpec, MatrixValue
from engine.spec.workspace import Workspace

#: the other way of giving the same field: setting one removes the other
_PROMPT_TWINS = {"systemPrompt": "systemPromptFile", "systemPromptFile": "systemPrompt"}


@dataclass(frozen=True)
class Variant:
    """One agent configuration of a run, deployed as its own ephemeral agent."""

    #: short id, unique within the run: `v1`, `v2`... (`candidate` for a gate)
    name: str
    #: `model=fast, systemPrompt=concise` (`base` when the matrix is empty)
    label: str
    #: matrix key -> {"name": value name, "value": the value}
    values: Mapping[str, Mapping[str, Any]]
    spec: AgentSpec
    #: the variant's agent digest in the run's environment
    digest: str
    #: the resolved `provider:id` model it runs with
    model: str


def expand_matrix(ws: Workspace, spec: ExperimentSpec) -> list[Variant]:
    """The variants of an Experiment, in matrix order; a bad value is a PermanentError."""
    base = ws.agents[spec.agent]
    base_data: dict[str, Any] = dict(base.raw.data["spec"])  # type: ignore[index]
    keys = list(spec.matrix)
    if not keys:
        return [_variant(ws, spec.agent, spec.environment, "base", {}, base_data)]
    out: list[Variant] = []
    combos = itertools.product(*(spec.matrix[k] for k in keys))
    for n, combo in enumerate(combos, start=1):
        chosen = dict(zip(keys, combo, strict=True))
        data = apply_values(base_data, chosen)
        out.append(_variant(ws, spec.agent, spec.environment, f"v{n}", chosen, data))
    return out


def apply_values(base: Mapping[str, Any], chosen: Mapping[str, MatrixValue]) -> dict[str, Any]:
    """The raw agent spec with the chosen matrix values set (YAML field names)."""
    data = dict(base)
    for key, mv in chosen.items():
        if key.startswith("env."):
            env = dict(data.get("env") or {})
            env[key[4:]] = mv.value
            data["env"] = env
            continue
        data[key] = mv.value
        twin = _PROMPT_TWINS.get(key)
        if twin is not None:
            data.pop(twin, None)
    return data


def _variant(
    ws: Workspace,
    agent: str,
    env: str,
    name: str,
    chosen: Mapping[str, MatrixValue],
    data: Mapping[str, Any],
) -> Variant:
    label = ", ".join(f"{k}={v.name}" for k, v in chosen.items()) or "base"
    try:
        agent_spec = AgentSpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PermanentError(
            f"variant {name} ({label}) of agent {agent} is not a valid agent: "
            f"{where}: {first['msg']}",
            hint="fix the matrix values in the Experiment spec",
        ) from None
    model = ws.resolve_model(agent_spec.model, env)
    if model is None:
        raise PermanentError(
            f"variant {name} ({label}): model '{agent_spec.model}' is not defined in "
            f"environment '{env}'",
            hint=f"define it under spec.models of environment.{env}, or use provider:id",
        )
    values = {k: {"name": v.name, "value": v.value} for k, v in chosen.items()}
    return Variant(
        name=name,
        label=label,
        values=values,
        spec=agent_spec,
        digest=digest_of(agent_attrs(ws, agent_spec, env)),
        model=model,
    )


def agent_variant(ws: Workspace, agent: str, env: str, name: str = "candidate") -> Variant:
    """The agent exactly as declared, in `env`: what a QualityGate evaluates."""
    spec = ws.agents[agent].doc.spec
    model = ws.resolve_model(spec.model, env)
    if model is None:
        raise PermanentError(
            f"agent {agent}: model '{spec.model}' is not defined in environment '{env}'",
            hint=f"define it under spec.models of environment.{env}",
        )
    digest = digest_of(agent_attrs(ws, spec, env))
    return Variant(
        name=name, label=f"{agent}@{digest}", values={}, spec=spec, digest=digest, model=model
    )

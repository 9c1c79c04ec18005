"""Declared parameters of the evaluators a spec can reference, and their validation.

Pipeline role: part of the spec language (`params:` under `evaluators:`). Lets the registry
(`engine.evaluators.registry`) turn a spec's free-form ``params:`` mapping into checked,
defaulted values, and lets the spec validator describe/check params statically (no evaluator
code imported). Param names are snake_case; because spec fields are camelCase in YAML, the
camelCase spelling of a name (``targetMs``) is accepted as the same param.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from engine.errors import EvaluatorConfigError
from engine.spec.diagnostics import did_you_mean
from engine.spec.schema.base import InvalidValue, parse_duration

ParamKind = Literal[
    "string",
    "number",
    "integer",
    "boolean",
    "choice",
    "string-list",
    "choice-scores",
    "json",
    "duration",
]


@dataclass(frozen=True)
class ParamSpec:
    """One parameter an evaluator accepts."""

    name: str
    kind: ParamKind
    description: str
    required: bool = False
    default: object = None
    #: allowed values when kind is "choice"
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    #: the minimum itself is not allowed (e.g. target_ms > 0)
    exclusive_minimum: bool = False


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """``targetMs`` -> ``target_ms`` (snake_case names are returned unchanged)."""
    return _CAMEL.sub(r"_\1", name).lower()


def validate_params(
    where: str, specs: Sequence[ParamSpec], params: Mapping[str, object]
) -> dict[str, object]:
    """Checked params with defaults filled in; raises EvaluatorConfigError naming the param.

    Every problem is collected before raising, so a spec with three typos is fixed in one go.
    """
    by_name = {spec.name: spec for spec in specs}
    problems: list[str] = []
    hints: list[str] = []
    values: dict[str, object] = {}
    for raw_name, value in params.items():
        name = snake(str(raw_name))
        spec = by_name.get(name)
        if spec is None:
            problems.append(f"unknown param '{raw_name}'")
            hint = did_you_mean(name, by_name)
            hints.append(hint or _accepted(by_name))
            continue
        if name in values:
            problems.append(f"param '{name}' is given twice (as '{raw_name}' too)")
            continue
        problem = _check(spec, value)
        if problem is not None:
            problems.append(f"param '{name}' {problem}")
            continue
        values[name] = _coerce(spec, value)
    for spec in specs:
        if spec.name in values:
            continue
        if spec.required:
            problems.append(f"missing required param '{spec.name}' ({spec.description})")
        else:
            values[spec.name] = spec.default
    if problems:
        hint = "; ".join(dict.fromkeys(h for h in hints if h)) or None
        raise EvaluatorConfigError(f"{where}: " + "; ".join(problems), hint=hint)
    return values


def _accepted(by_name: Mapping[str, ParamSpec]) -> str:
    if not by_name:
        return "this evaluator takes no params"
    return "accepted params: " + ", ".join(sorted(by_name))


def _check(spec: ParamSpec, value: object) -> str | None:
    kind = spec.kind
    if kind == "json":
        return None
    if kind == "duration":
        try:
            seconds = parse_duration(value)
        except InvalidValue as exc:
            return f"{exc} ({exc.hint})" if exc.hint else str(exc)
        return _check_range(spec, seconds)
    if kind in ("string", "choice"):
        if not isinstance(value, str) or not value:
            return f"must be a non-empty string, got {value!r}"
        if kind == "choice" and value not in spec.choices:
            hint = did_you_mean(value, spec.choices)
            tail = f"; {hint}" if hint else ""
            return f"must be one of {', '.join(spec.choices)}, got '{value}'{tail}"
        return None
    if kind == "boolean":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if kind in ("number", "integer"):
        # bool is an int subclass: `threshold: true` is a mistake, not 1.
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, got {value!r}"
        if kind == "integer" and not float(value).is_integer():
            return f"must be a whole number, got {value!r}"
        return _check_range(spec, float(value))
    if kind == "string-list":
        if isinstance(value, str) or not isinstance(value, Sequence):
            return f"must be a list of strings, got {value!r}"
        if not all(isinstance(v, str) and v for v in value):
            return "must be a list of non-empty strings"
        return None
    if kind == "choice-scores":
        if not isinstance(value, Mapping) or not value:
            return f"must map choices to scores, e.g. {{A: 0.4, B: 1.0}}, got {value!r}"
        for choice, score in value.items():
            if spec.choices and str(choice) not in spec.choices:
                hint = did_you_mean(str(choice), spec.choices)
                tail = f" ({hint})" if hint else ""
                return (
                    f"has unknown choice '{choice}'{tail}: the choices are "
                    f"{', '.join(spec.choices)}"
                )
            if isinstance(score, bool) or not isinstance(score, int | float):
                return f"score for '{choice}' must be a number, got {score!r}"
            if not (math.isfinite(score) and 0.0 <= score <= 1.0):
                return f"score for '{choice}' must be in [0, 1], got {score!r}"
        return None
    raise AssertionError(f"unhandled param kind {kind}")  # pragma: no cover


def _check_range(spec: ParamSpec, value: float) -> str | None:
    if not math.isfinite(value):
        return f"must be a finite number, got {value!r}"
    if spec.minimum is not None:
        if spec.exclusive_minimum and value <= spec.minimum:
            return f"must be greater than {spec.minimum:g}, got {value:g}"
        if value < spec.minimum:
            return f"must be at least {spec.minimum:g}, got {value:g}"
    if spec.maximum is not None and value > spec.maximum:
        return f"must be at most {spec.maximum:g}, got {value:g}"
    return None


def _coerce(spec: ParamSpec, value: object) -> object:
    if spec.kind == "duration":
        return parse_duration(value)
    if spec.kind == "number" and isinstance(value, int | float):
        return float(value)
    if spec.kind == "integer" and isinstance(value, int | float):
        return int(value)
    if spec.kind == "string-list" and isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    if spec.kind == "choice-scores" and isinstance(value, Mapping):
        return {str(k): float(v) for k, v in value.items()}
    return value

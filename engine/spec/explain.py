"""Explain: pydantic's validation errors in the user's words, at the user's YAML paths.

Part of `validate` (and of reading dataset and prompt files): pydantic reports locations
with union tags and validator names, and messages such as "Input should be a valid list".
This turns each error into a `Problem`: the path as written in YAML, a message that says
what is wrong without echoing the value (it may be a pasted secret), and a hint that says
what to do or "did you mean ...".
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from engine.spec.diagnostics import did_you_mean, nearest


@dataclass(frozen=True)
class Problem:
    """One pydantic error, explained: the YAML path, the message and what to do."""

    path: tuple[str | int, ...]
    message: str
    hint: str | None
    #: point at the key rather than the value (unknown/missing fields, whole-mapping checks)
    at_key: bool


def explain(exc: ValidationError, data: object, model: type[BaseModel]) -> list[Problem]:
    """Pydantic's errors as `Problem`s, without the noise unions and typos add.

    - one message per path for the alternatives of a union (`expected a mapping or a string`),
      and none for an alternative when another one got further into the value;
    - no "missing required field 'model'" next to "unknown field 'modle' (did you mean 'model'?)".
    """
    errors = exc.errors(include_url=False)
    cleaned = [(clean_path(err["loc"], data), err) for err in errors]
    deeper = {path[:i] for path, _ in cleaned for i in range(len(path))}
    typos: set[tuple[str | int, ...]] = set()
    for path, err in cleaned:
        if err["type"] == "extra_forbidden" and path:
            near = nearest(str(path[-1]), fields_at(model, path[:-1]))
            if near is not None:
                typos.add((*path[:-1], near))
    expected: dict[tuple[str | int, ...], list[str]] = {}
    got: dict[tuple[str | int, ...], object] = {}
    problems: list[Problem] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for path, err in cleaned:
        kind = err["type"]
        if kind in TYPE_NAMES:
            if path in deeper:  # another alternative of the union got further: report that
                continue
            names = expected.setdefault(path, [])
            if TYPE_NAMES[kind] not in names:
                names.append(TYPE_NAMES[kind])
            got[path] = err.get("input")
            continue
        if (kind == "missing" and path in typos) or (path, kind) in seen:
            continue
        seen.add((path, kind))
        message, hint = describe_error(err, path, model)
        at_key = kind in ("extra_forbidden", "missing") or "[key]" in err["loc"]
        at_key = at_key or (kind in ("value_error", "assertion_error") and _is_mapping(data, path))
        problems.append(Problem(path, message, hint, at_key))
    for path, names in expected.items():
        message, hint = describe_type(path, names, got[path])
        problems.append(Problem(path, message, hint, False))
    return problems


def _is_mapping(data: object, path: Sequence[str | int]) -> bool:
    node = data
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    return isinstance(node, dict)


def clean_path(loc: Sequence[str | int], data: object) -> tuple[str | int, ...]:
    """Drop pydantic's union/validator tags so the path follows the YAML data."""
    path: list[str | int] = []
    node: object = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict) and isinstance(part, str):
            if part in node:
                path.append(part)
                node = node[part]
            elif last and not _looks_like_tag(part):
                path.append(part)
            # else: a tag such as 'ExpectedOutput' or 'function-after[...]'
        elif isinstance(node, list) and isinstance(part, int):
            path.append(part)
            node = node[part] if 0 <= part < len(node) else None
        elif last and isinstance(part, str) and not _looks_like_tag(part):
            path.append(part)
    return tuple(path)


def _looks_like_tag(part: str) -> bool:
    return "[" in part or part[:1].isupper() or part in ("str", "int", "float", "bool")


def dotted(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "document"


#: pydantic's type errors -> what was expected, in the user's words
TYPE_NAMES = {
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}

_TYPE_HINTS = {
    "a list": "write a YAML list: [a, b] or one '- item' per line",
    "a mapping": "write 'key: value' lines indented under it",
    "a whole number": "write a number without quotes or decimals",
    "a number": "write a number without quotes",
    "true or false": "write true or false without quotes",
}


def type_name(value: object) -> str:
    """What the user wrote, by type only: the value itself may be a pasted secret."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def describe_type(
    path: tuple[str | int, ...], names: Sequence[str], value: object
) -> tuple[str, str | None]:
    got = type_name(value)
    message = f"{dotted(path)}: expected {' or '.join(names)}, got {got}"
    if names[0] == "a string":
        hint = (
            "put the value in quotes"
            if got in ("a number", "true/false", "nothing (null)")
            else "write a single text value"
        )
        return message, hint
    return message, _TYPE_HINTS.get(names[0])


def describe_error(
    err: ErrorDetails, path: tuple[str | int, ...], model: type[BaseModel]
) -> tuple[str, str | None]:
    """(message, hint) for one pydantic error at the YAML `path`."""
    kind = err["type"]
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    where = dotted(path)
    if kind == "extra_forbidden":
        field = str(path[-1]) if path else "?"
        valid = fields_at(model, path[:-1])
        hint = did_you_mean(field, valid) if valid else None
        if hint is None and valid:
            hint = f"valid fields here: {', '.join(sorted(valid))}"
        return f"unknown field '{dotted(path)}'", hint or "remove it"
    if kind == "missing":
        field = str(path[-1]) if path else "?"
        under = f" under '{dotted(path[:-1])}'" if len(path) > 1 else ""
        return f"missing required field '{where}'", f"add '{field}:'{under}"
    if kind in TYPE_NAMES:
        return describe_type(path, [TYPE_NAMES[kind]], err.get("input"))
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        text = str(error) if error is not None else err["msg"]
        hint = getattr(error, "hint", None)
        return (f"{where}: {text}" if path else text), hint if isinstance(hint, str) else None
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        value = err.get("input")
        near = did_you_mean(value, options) if isinstance(value, str) else None
        return f"{where}: must be {expected}", near
    if kind == "finite_number":
        return f"{where}: must be a finite number, not NaN or infinity", "write a number"
    bound = _BOUNDS.get(kind)
    if bound is not None:
        word, key = bound
        return f"{where}: must be {word} {ctx.get(key)}", None
    if kind in ("string_too_short", "string_too_long"):
        word = "at least" if kind == "string_too_short" else "at most"
        n = ctx.get("min_length" if kind == "string_too_short" else "max_length")
        if n == 1 and kind == "string_too_short":
            return f"{where}: must not be empty", "write some text or remove the field"
        return f"{where}: must have {word} {n} character{'s' if n != 1 else ''}", None
    if kind in ("too_short", "too_long"):
        word = "at least" if kind == "too_short" else "at most"
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return f"{where}: needs {word} {n} item{'s' if n != 1 else ''}", None
    if kind == "string_pattern_mismatch":
        return f"{where}: does not match the pattern {ctx.get('pattern')}", (
            "use only the characters the pattern allows"
        )
    text = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return (f"{where}: {text}" if path else text), None


_BOUNDS = {
    "greater_than": ("greater than", "gt"),
    "greater_than_equal": ("at least", "ge"),
    "less_than": ("less than", "lt"),
    "less_than_equal": ("at most", "le"),
}


def fields_at(model: type[BaseModel], path: Sequence[str | int]) -> set[str]:
    """Valid YAML field names of the model reached by following `path` (best effort)."""
    current: Any = model
    for part in path:
        current = _descend(current, part)
        if current is None:
            return set()
    target = _model_in(current)
    if target is None:
        return set()
    return {f.alias or n for n, f in target.model_fields.items()}


def _descend(tp: Any, part: str | int) -> Any:
    model = _model_in(tp)
    if isinstance(part, str) and model is not None:
        for name, f in model.model_fields.items():
            if part in (name, f.alias):
                return f.annotation
        return None
    for arg in _args(tp):
        origin = get_origin(arg)
        if isinstance(part, int) and origin in (list, tuple):
            return get_args(arg)[0]
        if isinstance(part, str) and origin is dict:
            return get_args(arg)[1]
    return None


def _args(tp: Any) -> Iterator[Any]:
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        for a in get_args(tp):
            yield from _args(a)
    elif origin is typing.Annotated:
        yield from _args(get_args(tp)[0])
    else:
        yield tp


def _model_in(tp: Any) -> type[BaseModel] | None:
    for arg in _args(tp):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None

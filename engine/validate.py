"""Validate: raw YAML documents -> typed spec documents, pydantic errors -> diagnostics.

Pipeline role: second stage (`load -> validate -> resolve`). The envelope is checked by hand
(apiVersion, kind with "did you mean", metadata.name) so those errors read well; the rest is
pydantic with `extra="forbid"`, whose error locations are walked back through the YAML
position index to a precise `file:line:col`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from engine.addresses import KIND_PREFIX
from engine.diagnostics import Diagnostic, did_you_mean
from engine.loader import RawDocument
from engine.schema import API_VERSION, KINDS, Document

ENVELOPE_FIELDS = ("apiVersion", "kind", "metadata", "spec")


def doc_address(data: dict[str, object]) -> str | None:
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(kind, str) and kind in KIND_PREFIX and isinstance(name, str):
        return f"{KIND_PREFIX[kind]}.{name}"
    return None


def validate_document(raw: RawDocument) -> tuple[Document | None, list[Diagnostic]]:
    """Typed document or the list of everything wrong with it."""
    data = raw.data
    if not isinstance(data, dict):
        what = "a list" if isinstance(data, list) else f"a {type(data).__name__}"
        return None, [
            Diagnostic(
                raw.start,
                f"a spec document must be a mapping, got {what}",
                hint="start with 'apiVersion: agentops/v1' and 'kind:'",
            )
        ]
    diags: list[Diagnostic] = []
    address = doc_address(data)
    api = data.get("apiVersion")
    if api is None:
        diags.append(
            Diagnostic(raw.start, "missing 'apiVersion'", address, f"add apiVersion: {API_VERSION}")
        )
    elif api != API_VERSION:
        diags.append(
            Diagnostic(
                raw.locate(("apiVersion",), prefer_value=True),
                f"unknown apiVersion '{api}'",
                address,
                f"use {API_VERSION}",
            )
        )
    kind = data.get("kind")
    if kind is None:
        diags.append(Diagnostic(raw.start, "missing 'kind'", None, f"one of {', '.join(KINDS)}"))
        return None, diags
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(str(kind), KINDS) or f"one of {', '.join(KINDS)}"
        diags.append(
            Diagnostic(
                raw.locate(("kind",), prefer_value=True), f"unknown kind '{kind}'", None, hint
            )
        )
        return None, diags
    if diags:
        return None, diags
    model = KINDS[kind]
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, errors_to_diagnostics(exc, raw, model, address, data)


def errors_to_diagnostics(
    exc: ValidationError,
    raw: RawDocument,
    model: type[BaseModel],
    address: str | None,
    data: object,
    prefix: Sequence[str | int] = (),
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    seen: set[tuple[tuple[str | int, ...], str]] = set()
    for err in exc.errors(include_url=False, include_input=False):
        path = clean_path(err["loc"], data)
        kind = err["type"]
        key = (path, kind)
        if key in seen:  # union variants repeat the same complaint
            continue
        seen.add(key)
        full = (*prefix, *path)
        message, hint = describe_error(kind, err["msg"], path, model)
        prefer_value = kind not in ("extra_forbidden", "missing")
        out.append(Diagnostic(raw.locate(full, prefer_value=prefer_value), message, address, hint))
    return out


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
            elif last:
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


def describe_error(
    kind: str, msg: str, path: tuple[str | int, ...], model: type[BaseModel]
) -> tuple[str, str | None]:
    where = dotted(path)
    if kind == "extra_forbidden":
        field = str(path[-1]) if path else "?"
        valid = fields_at(model, path[:-1])
        hint = did_you_mean(field, valid) if valid else None
        if hint is None and valid:
            hint = f"valid fields here: {', '.join(sorted(valid))}"
        return f"unknown field '{dotted(path)}'", hint
    if kind == "missing":
        return f"missing required field '{where}'", None
    text = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch" and path and path[-1] == "name":
        return f"{where}: invalid name", "use lowercase letters, digits and '-', at most 48"
    return (f"{where}: {text}" if path else text), None


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

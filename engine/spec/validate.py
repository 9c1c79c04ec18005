"""Validate: raw YAML documents -> typed spec documents, pydantic errors -> diagnostics.

Pipeline role: second stage (`load -> validate -> resolve`). The envelope is checked by hand
(apiVersion, kind with "did you mean", metadata.name) so those errors read well; the rest is
pydantic with `extra="forbid"`, whose errors `engine.spec.explain` puts in the user's words and
whose paths are walked back through the YAML position index to a precise `file:line:col`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from engine.spec.addresses import KIND_PREFIX
from engine.spec.diagnostics import Diagnostic, did_you_mean
from engine.spec.explain import explain, type_name
from engine.spec.loader import RawDocument
from engine.spec.schema import API_VERSION, KINDS, Document

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
        what = type_name(data)
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
                f"set apiVersion: {API_VERSION}",
            )
        )
    kind = data.get("kind")
    if kind is None:
        diags.append(
            Diagnostic(raw.start, "missing 'kind'", None, f"add kind: one of {', '.join(KINDS)}")
        )
        return None, diags
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(str(kind), KINDS) or f"use one of {', '.join(KINDS)}"
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
    for problem in explain(exc, data, model):
        where = raw.locate((*prefix, *problem.path), prefer_value=not problem.at_key)
        out.append(Diagnostic(where, problem.message, address, problem.hint))
    return out

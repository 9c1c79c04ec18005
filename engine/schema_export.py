"""JSON Schema per kind, for editors (`# yaml-language-server: $schema=...`) and docs."""

from __future__ import annotations

from typing import Any

from engine.schema import KINDS


def kind_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://agentops.dev/schemas/v1/{kind}.json"
        schema["title"] = f"agentops/v1 {kind}"
        out[kind] = schema
    return out

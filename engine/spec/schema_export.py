"""JSON Schema per kind, for editors (`# yaml-language-server: $schema=...`) and docs."""

from __future__ import annotations

from typing import Any

from engine.spec.schema import KINDS


def kind_schemas() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://agentops.dev/schemas/v1/{kind}.json"
        schema["title"] = f"agentops/v1 {kind}"
        out[kind] = schema
    return out


def _type_name(schema: dict[str, Any] | bool, defs: dict[str, Any]) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        names = [_type_name(s, defs) for s in schema["anyOf"]]
        return " | ".join(n for n in names if n != "null") or "null"
    if "enum" in schema:
        return " | ".join(json_dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json_dumps(schema["const"])
    t = schema.get("type", "any")
    if t == "array":
        return f"list[{_type_name(schema.get('items', {}), defs)}]"
    if t == "object" and "additionalProperties" in schema:
        return f"map[string, {_type_name(schema['additionalProperties'], defs)}]"
    return str(t)


def _cell(text: str) -> str:
    """Text for one markdown table cell: no line breaks, `|` escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def json_dumps(value: object) -> str:
    import json

    return json.dumps(value)


def reference_markdown() -> str:
    """The spec reference: every kind and nested object, every field, from the models."""
    lines: list[str] = []
    seen: set[str] = set()
    for kind, schema in kind_schemas().items():
        defs = schema.get("$defs", {})
        lines.append(f"### {kind}")
        lines.append("")
        spec_ref = schema["properties"]["spec"]
        root = _type_name(spec_ref, defs)
        queue = [root]
        while queue:
            name = queue.pop(0)
            if name in seen or name not in defs:
                continue
            seen.add(name)
            # a model that also takes a shorthand (`- facts`) is `anyOf: [plain, the object]`
            forms = [f for f in defs[name].get("anyOf", []) if "properties" in f]
            d = forms[0] if forms else defs[name]
            about = " ".join(str(d.get("description", "")).split())
            if forms:
                about += " Also written as a plain value (the shorthand)."
            lines.append(f"**{name}**" + (f" — {about.strip()}" if about.strip() else ""))
            lines.append("")
            lines.append("| field | type | required | default | description |")
            lines.append("|---|---|---|---|---|")
            required = set(d.get("required", []))
            for field, fs in d.get("properties", {}).items():
                tname = _type_name(fs, defs)
                default = json_dumps(fs["default"]) if "default" in fs else ""
                req = "yes" if field in required else ""
                shown = tname.replace("|", "\\|")
                about = _cell(str(fs.get("description", "")))
                lines.append(f"| `{field}` | {shown} | {req} | {default} | {about} |")
                for part in (
                    tname.replace("list[", " ")
                    .replace("map[string, ", " ")
                    .replace("]", " ")
                    .replace("|", " ")
                    .split()
                ):
                    if part in defs and part not in seen:
                        queue.append(part)
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"

"""JSON Schemas for editors: one per kind, accepted by the example workspace, never stale."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.cli import main
from engine.spec.loader import discover, load_files
from engine.spec.schema import KINDS

REPO = Path(__file__).resolve().parents[3]
COMMITTED = REPO / "schemas"
MODELINE = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("schemas")
    assert main(["-C", str(REPO), "schema", "--out", str(out)]) == 0
    return out


def test_one_valid_json_schema_per_kind(fresh: Path) -> None:
    assert sorted(p.name for p in fresh.iterdir()) == sorted(f"{k}.json" for k in KINDS)
    for kind in KINDS:
        schema = json.loads((fresh / f"{kind}.json").read_text())
        Draft202012Validator.check_schema(schema)
        assert schema["properties"]["kind"]["const"] == kind


def test_every_example_document_validates_against_its_kind(fresh: Path) -> None:
    docs, problems = load_files(REPO, discover(REPO))
    assert problems == []
    assert {d.data["kind"] for d in docs if isinstance(d.data, dict)} == set(KINDS)
    for doc in docs:
        assert isinstance(doc.data, dict)
        schema = json.loads((fresh / f"{doc.data['kind']}.json").read_text())
        errors = [
            f"{doc.file}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in Draft202012Validator(schema).iter_errors(doc.data)
        ]
        assert errors == []


def test_the_schema_rejects_what_validate_rejects(fresh: Path) -> None:
    schema = json.loads((fresh / "Agent.json").read_text())
    doc = {
        "apiVersion": "agentops/v1",
        "kind": "Agent",
        "metadata": {"name": "bot"},
        "spec": {"source": "a", "entrypoint": "b", "model": "fast", "modle": "x"},
    }
    assert not Draft202012Validator(schema).is_valid(doc)  # unknown fields are errors
    del doc["spec"]["modle"]  # type: ignore[attr-defined]
    assert Draft202012Validator(schema).is_valid(doc)


def test_committed_schemas_are_a_fresh_generation(fresh: Path) -> None:
    stale = "schemas/ is stale: run `agentops schema --out schemas` and commit the result"
    committed = sorted(p.name for p in COMMITTED.glob("*.json"))
    assert committed == sorted(p.name for p in fresh.iterdir()), stale
    for name in committed:
        assert (COMMITTED / name).read_text() == (fresh / name).read_text(), f"{name}: {stale}"


def test_editor_modelines_point_at_the_schema_of_their_kind() -> None:
    for path in discover(REPO):
        text = path.read_text("utf-8")
        kinds = re.findall(r"^kind:\s*(\w+)", text, re.M)
        match = MODELINE.search(text.split("\n", 1)[0])
        if match is None:
            continue
        target = (path.parent / match.group(1)).resolve()
        assert target.is_file(), f"{path}: $schema points at a missing file {match.group(1)}"
        assert {f"{k}.json" for k in kinds} == {target.name}, path


def _undescribed(schema: object, path: str) -> Iterator[str]:
    """Paths of properties (anywhere: $defs, anyOf forms, items) that have no description."""
    if isinstance(schema, list):
        for i, part in enumerate(schema):
            yield from _undescribed(part, f"{path}/{i}")
        return
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, prop in properties.items():
            if not (isinstance(prop, dict) and str(prop.get("description", "")).strip()):
                yield f"{path}/properties/{name}"
    for key, value in schema.items():
        yield from _undescribed(value, f"{path}/{key}")


def test_every_property_and_object_has_a_description_for_hover_help(fresh: Path) -> None:
    missing: list[str] = []
    for kind in KINDS:
        schema = json.loads((fresh / f"{kind}.json").read_text())
        missing += _undescribed(schema, kind)
        if not schema.get("description"):
            missing.append(f"{kind} (the document)")
        for name, definition in schema.get("$defs", {}).items():
            forms = [definition, *definition.get("anyOf", [])]
            if not any(f.get("description") for f in forms if "properties" in f):
                missing.append(f"{kind}/$defs/{name} (a docstring on the model)")
    assert missing == [], "add Field(description=...) to: " + ", ".join(missing)


def test_the_walk_finds_a_missing_description_at_any_depth() -> None:
    nested = {"$defs": {"A": {"anyOf": [{"type": "string"}, {"properties": {"x": {}}}]}}}
    assert list(_undescribed(nested, "K")) == ["K/$defs/A/anyOf/1/properties/x"]
    assert list(_undescribed({"properties": {"y": {"description": "ok"}}}, "K")) == []


def _with_examples(schema: object, path: str) -> Iterator[tuple[str, dict[str, object]]]:
    if isinstance(schema, list):
        for i, part in enumerate(schema):
            yield from _with_examples(part, f"{path}/{i}")
    elif isinstance(schema, dict):
        if "examples" in schema:
            yield path, schema
        for key, value in schema.items():
            yield from _with_examples(value, f"{path}/{key}")


def test_every_example_is_a_valid_value_of_its_field(fresh: Path) -> None:
    wrong: list[str] = []
    for kind in KINDS:
        root = json.loads((fresh / f"{kind}.json").read_text())
        for path, prop in _with_examples(root, kind):
            check = Draft202012Validator({**prop, "$defs": root.get("$defs", {})})
            wrong += [f"{path}: {ex!r}" for ex in prop["examples"] if not check.is_valid(ex)]
    assert wrong == []

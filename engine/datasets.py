"""Dataset files: parse `dataset.json` / JSONL / inline items into identified items.

Pipeline role: part of `resolve`. Items get deterministic ids (explicit `id`, else a hash of
the canonical JSON of `input`, so reordering or editing `expected_output` keeps the id), and
the dataset gets a digest that runs pin. A malformed item is a diagnostic naming the file,
the item index and the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.diagnostics import Diagnostic, SourceLocation
from engine.loader import RawDocument, load_text
from engine.schema import DatasetItem, ExpectedOutput
from engine.validate import clean_path, describe_error, dotted


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class LoadedItem:
    id: str
    index: int
    input: Any
    expected_output: Any
    metadata: dict[str, Any]

    def content(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "input": self.input,
            "expected_output": self.expected_output,
            "metadata": self.metadata,
        }

    @property
    def digest(self) -> str:
        return sha256_hex(canonical_json(self.content()))[:16]


def item_id(item: DatasetItem) -> str:
    if item.id:
        return item.id
    return "i-" + sha256_hex(canonical_json(item.input))[:16]


def dataset_digest(items: Sequence[LoadedItem]) -> str:
    """Order-independent digest of the item contents."""
    return sha256_hex("\n".join(sorted(i.digest + i.id for i in items)))[:16]


def parse_items(
    raw_items: list[object],
    *,
    where: RawDocument | None,
    file: str,
    address: str,
    prefix: tuple[str | int, ...] = (),
    line_of: list[int] | None = None,
) -> tuple[list[LoadedItem], list[Diagnostic]]:
    """Validate raw item dicts; `where` maps paths to positions when known."""
    items: list[LoadedItem] = []
    diags: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items):

        def loc(path: tuple[str | int, ...], index: int = index) -> SourceLocation:
            if where is not None:
                return where.locate((*prefix, index, *path), prefer_value=True)
            line = line_of[index] if line_of else 0
            return SourceLocation(file, line, 1 if line else 0)

        try:
            item = DatasetItem.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False, include_input=False):
                path = clean_path(err["loc"], raw)
                msg, hint = describe_error(err["type"], err["msg"], path, DatasetItem)
                diags.append(Diagnostic(loc(path), f"item {index}: {msg}", address, hint))
            continue
        iid = item_id(item)
        if iid in seen:
            what = "id" if item.id else "input"
            diags.append(
                Diagnostic(
                    loc(()),
                    f"item {index}: same {what} as item {seen[iid]}",
                    address,
                    "give the items distinct 'id's or remove the duplicate",
                )
            )
            continue
        seen[iid] = index
        expected: object = item.expected_output
        if isinstance(expected, ExpectedOutput):
            expected = expected.model_dump(exclude_none=True)
        items.append(LoadedItem(iid, index, item.input, expected, dict(item.metadata)))
    return items, diags


def load_dataset_file(
    path: Path, shown: str, address: str, fmt: str | None
) -> tuple[list[LoadedItem], list[Diagnostic]]:
    """Items of a JSON array or JSONL file; every problem as a diagnostic."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [Diagnostic(SourceLocation(shown), f"cannot read: {exc.strerror}", address)]
    except UnicodeDecodeError:
        return [], [Diagnostic(SourceLocation(shown), "not UTF-8 text", address)]
    fmt = fmt or ("jsonl" if path.suffix == ".jsonl" else "json")
    if fmt == "jsonl":
        raws: list[object] = []
        lines: list[int] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raws.append(json.loads(line))
            except json.JSONDecodeError as exc:
                return [], [
                    Diagnostic(
                        SourceLocation(shown, n, exc.colno), f"invalid JSON: {exc.msg}", address
                    )
                ]
            lines.append(n)
        return parse_items(raws, where=None, file=shown, address=address, line_of=lines)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        where = SourceLocation(shown, exc.lineno, exc.colno)
        return [], [Diagnostic(where, f"invalid JSON: {exc.msg}", address)]
    # Parse again with the YAML composer (JSON is YAML 1.2) to get item positions.
    docs, diags = load_text(text, shown)
    if diags or not docs:
        return [], [Diagnostic(d.location, d.message, address, d.hint) for d in diags] or [
            Diagnostic(SourceLocation(shown), "empty dataset file", address)
        ]
    data = docs[0].data
    if not isinstance(data, list):
        return [], [
            Diagnostic(
                docs[0].start,
                "a dataset file must be a JSON list of {input, expected_output} objects",
                address,
            )
        ]
    return parse_items(data, where=docs[0], file=shown, address=address)


def describe_path(path: Sequence[str | int]) -> str:
    return dotted(path)

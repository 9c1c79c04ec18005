"""Dataset files: parse `dataset.json` / JSONL / inline items into identified items.

Pipeline role: part of `resolve`. Items get deterministic ids (explicit `id`, else a hash of
the canonical JSON of `input`, so reordering or editing `expected_output` keeps the id), and
the dataset gets a digest that runs pin. A malformed item is a diagnostic naming the file,
the item index and the field.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.spec.diagnostics import Diagnostic, SourceLocation
from engine.spec.explain import dotted, explain
from engine.spec.loader import RawDocument, load_text, read_text
from engine.spec.schema import DatasetItem, ExpectedOutput


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
    line_text: list[str] | None = None,
) -> tuple[list[LoadedItem], list[Diagnostic]]:
    """Validate raw item dicts; `where` (or, for JSONL, each item's line) gives positions."""
    items: list[LoadedItem] = []
    diags: list[Diagnostic] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items):

        def loc(
            path: tuple[str | int, ...], index: int = index, value: bool = True
        ) -> SourceLocation:
            if where is not None:
                return where.locate((*prefix, index, *path), prefer_value=value)
            line = line_of[index] if line_of else 0
            col = 1 if line else 0
            if line_text:  # JSONL: only a bad item's line is parsed again, for its column
                docs, _ = load_text(line_text[index], file)
                col = docs[0].locate(path, prefer_value=value).col if docs else col
            return SourceLocation(file, line, col)

        bad = non_finite(raw)
        if bad is not None:
            path, value = bad
            diags.append(
                Diagnostic(
                    loc(path),
                    f"item {index}: {dotted(path)}: {value} is not a finite number",
                    address,
                    "NaN and Infinity are not data: write a number, a string or null",
                )
            )
            continue
        try:
            item = DatasetItem.model_validate(raw)
        except ValidationError as exc:
            for p in explain(exc, raw, DatasetItem):
                where_ = loc(p.path, value=not p.at_key)
                diags.append(Diagnostic(where_, f"item {index}: {p.message}", address, p.hint))
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


def non_finite(value: object) -> tuple[tuple[str | int, ...], str] | None:
    """(path, 'NaN' | 'Infinity' | '-Infinity') of the first non-finite number, or None."""
    stack: list[tuple[tuple[str | int, ...], object]] = [((), value)]
    while stack:  # iterative: data from json.loads can nest deeper than the stack
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return path, "NaN" if node != node else ("Infinity" if node > 0 else "-Infinity")
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(node))))
    return None


def _json(text: str, **kwargs: Any) -> object:
    """json.loads, with absurd nesting as a JSONDecodeError (the C decoder recurses)."""
    try:
        return json.loads(text, **kwargs)
    except RecursionError:
        raise json.JSONDecodeError("nesting is too deep", text, 0) from None


def load_dataset_file(
    path: Path, shown: str, address: str, fmt: str | None
) -> tuple[list[LoadedItem], list[Diagnostic]]:
    """Items of a JSON array or JSONL file; every problem as a diagnostic."""
    text, unreadable = read_text(path, shown)
    if text is None:
        problems = [unreadable] if unreadable else []
        return [], [Diagnostic(d.location, d.message, address, d.hint) for d in problems]
    fmt = fmt or ("jsonl" if path.suffix == ".jsonl" else "json")
    if fmt == "jsonl":
        raws: list[object] = []
        lines: list[int] = []
        texts: list[str] = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                raws.append(_json(line))
            except json.JSONDecodeError as exc:
                return [], [
                    Diagnostic(
                        SourceLocation(shown, n, exc.colno), f"invalid JSON: {exc.msg}", address
                    )
                ]
            lines.append(n)
            texts.append(line)
        return parse_items(
            raws, where=None, file=shown, address=address, line_of=lines, line_text=texts
        )
    duplicates: list[str] = []
    try:
        data = _json(text, object_pairs_hook=_no_duplicates(duplicates))
    except json.JSONDecodeError as exc:
        where = SourceLocation(shown, exc.lineno, exc.colno)
        return [], [Diagnostic(where, f"invalid JSON: {exc.msg}", address)]
    if not isinstance(data, list):
        return [], [
            Diagnostic(
                SourceLocation(shown, 1, 1),
                "a dataset file must be a JSON list of {input, expected_output} objects",
                address,
                'write [{"input": ..., "expected_output": ...}, ...]',
            )
        ]
    items, diags = parse_items(data, where=None, file=shown, address=address)
    if not diags and not duplicates:
        return items, diags
    # Something is wrong: parse again with the YAML composer (JSON is YAML 1.2), which is
    # slower but knows where every item and field is, and reports duplicate keys.
    docs, problems = load_text(text, shown)
    if problems or len(docs) != 1 or not isinstance(docs[0].data, list):
        return [], [Diagnostic(d.location, d.message, address, d.hint) for d in problems] or diags
    # The JSON data (where NaN is a number, not YAML's string 'NaN'), at YAML's positions:
    # without duplicate keys both have the same paths.
    return parse_items(data, where=docs[0], file=shown, address=address)


def _no_duplicates(found: list[str]) -> Callable[[list[tuple[str, object]]], dict[str, object]]:
    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        out = dict(pairs)
        if len(out) != len(pairs):
            found.append(next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i])))
        return out

    return hook


def describe_path(path: Sequence[str | int]) -> str:
    return dotted(path)

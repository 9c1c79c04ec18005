"""Loader: YAML files -> `RawDocument`s that remember where every key and value came from.

Pipeline role: the first stage (`files -> load -> validate -> resolve -> graph`). It reads
every `*.yaml|*.yml` under the given roots, splits multi-document files, and turns YAML
nodes into plain Python data plus a position index (`path tuple -> line/col`), so that later
stages can point at `file:line:col` for any field. Problems (unreadable file, invalid YAML,
duplicate keys, a document that is not a mapping) become diagnostics; nothing raises.

Parsing uses ruamel.yaml's composer (YAML 1.2: `yes`/`no` stay strings). When ruamel's C
extension is installed the composer is libyaml-based and about 20x faster; the pure-Python
composer gives identical nodes and positions.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.diagnostics import Diagnostic, SourceLocation

YAML_SUFFIXES = (".yaml", ".yml")
DEFAULT_ROOTS = ("specs", "environments")

PathKey = tuple[str | int, ...]


def _loader_class() -> type:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from ruamel.yaml.cyaml import CSafeLoader

            return CSafeLoader
        except ImportError:  # pragma: no cover - depends on the optional C extension
            from ruamel.yaml.loader import SafeLoader

            return SafeLoader


@dataclass
class RawDocument:
    """One YAML document: its data, where it starts, and where each of its paths is."""

    file: str
    index: int  # 0-based document number within the file
    data: object
    start: SourceLocation
    keys: dict[PathKey, SourceLocation] = field(default_factory=dict)
    values: dict[PathKey, SourceLocation] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int], *, prefer_value: bool = False) -> SourceLocation:
        """The most precise known location for `path` (falls back to the nearest ancestor)."""
        p = tuple(path)
        while True:
            first, second = (self.values, self.keys) if prefer_value else (self.keys, self.values)
            if p in first:
                return first[p]
            if p in second:
                return second[p]
            if not p:
                return self.start
            p = p[:-1]


class _DuplicateKey(Exception):
    def __init__(self, key: str, first: SourceLocation, again: SourceLocation) -> None:
        super().__init__(key)
        self.key, self.first, self.again = key, first, again


def _loc(file: str, node: Node) -> SourceLocation:
    mark = node.start_mark
    return SourceLocation(file, mark.line + 1, mark.column + 1)


class _Converter:
    """Turns a composed node tree into Python data and fills the position index."""

    def __init__(self, loader: object, doc: RawDocument) -> None:
        self.loader = loader
        self.doc = doc

    def convert(self, node: Node, path: PathKey) -> object:
        self.doc.values[path] = _loc(self.doc.file, node)
        if isinstance(node, MappingNode):
            out: dict[str, object] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node) if isinstance(key_node, ScalarNode) else None
                key_s = str(key) if key is not None else "<complex key>"
                here = _loc(self.doc.file, key_node)
                if key_s in out:
                    raise _DuplicateKey(key_s, self.doc.keys[(*path, key_s)], here)
                self.doc.keys[(*path, key_s)] = here
                out[key_s] = self.convert(value_node, (*path, key_s))
            return out
        if isinstance(node, SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: Node) -> object:
        construct = self.loader.construct_object  # type: ignore[attr-defined]
        try:
            return construct(node, deep=True)
        except YAMLError:
            return node.value


def _iter_documents(text: str, file: str) -> Iterator[RawDocument | Diagnostic]:
    loader = _loader_class()(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # an empty document ("---" with nothing after it)
                index += 1
                continue
            doc = RawDocument(file=file, index=index, data=None, start=_loc(file, node))
            try:
                doc.data = _Converter(loader, doc).convert(node, ())
            except _DuplicateKey as dup:
                yield Diagnostic(
                    dup.again,
                    f"duplicate key '{dup.key}' (first defined at line {dup.first.line})",
                    hint="remove one of them; YAML keeps neither reliably",
                )
                index += 1
                continue
            yield doc
            index += 1
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (
            SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file)
        )
        problem = exc.problem or exc.context or "invalid YAML"
        yield Diagnostic(where, f"invalid YAML: {problem}", hint="fix the syntax at this position")
    except YAMLError as exc:
        yield Diagnostic(SourceLocation(file), f"invalid YAML: {exc}")
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def load_text(text: str, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Parse one file's text; documents and diagnostics, never an exception."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    try:
        for item in _iter_documents(text, file):
            (docs if isinstance(item, RawDocument) else diags).append(item)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - a parser bug must still become a diagnostic
        diags.append(Diagnostic(SourceLocation(file), f"cannot parse YAML: {exc}"))
    return docs, diags


def discover(workspace: Path, paths: Sequence[Path] = ()) -> list[Path]:
    """Spec files to load: the given files/dirs, or `specs/` and `environments/`."""
    roots = list(paths) if paths else [workspace / r for r in DEFAULT_ROOTS]
    files: list[Path] = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(p for p in root.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file())
    return sorted(set(files))


def relative(path: Path, workspace: Path) -> str:
    try:
        return str(path.resolve().relative_to(workspace.resolve()))
    except ValueError:
        return str(path)


def load_files(
    workspace: Path, files: Sequence[Path]
) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Load every file; unreadable files and bad YAML become diagnostics."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    for path in files:
        name = relative(path, workspace)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            diags.append(Diagnostic(SourceLocation(name), f"not UTF-8 text: {exc.reason}"))
            continue
        except OSError as exc:
            diags.append(Diagnostic(SourceLocation(name), f"cannot read file: {exc.strerror}"))
            continue
        d, g = load_text(text, name)
        docs.extend(d)
        diags.extend(g)
    return docs, diags

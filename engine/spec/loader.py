"""Loader: YAML files -> `RawDocument`s that remember where every key and value came from.

Why one file (~420 lines): reading, the composer choice (C or pure), position tracking and
the loader's own diagnostics are one pass over the document; the depth and size guard that
must run before the composer lives next door (`yaml_guard.py`).

Pipeline role: the first stage (`files -> load -> validate -> resolve -> graph`). It reads
every `*.yaml|*.yml` under the given roots, splits multi-document files, and turns YAML
nodes into plain Python data plus a position index (`path tuple -> line/col`), so that later
stages can point at `file:line:col` for any field. Problems (unreadable or non-UTF-8 file,
invalid YAML, duplicate keys, recursive aliases, alias bombs, absurd nesting) become
diagnostics; nothing raises. Scalars become JSON-like data only: a date or `!!binary` value
stays the text it was written as, so later stages (digests, JSON state) never see them.

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
from ruamel.yaml.reader import ReaderError

from engine.spec.diagnostics import Diagnostic, SourceLocation
from engine.spec.paths import special_kind
from engine.spec.yaml_guard import (
    TooDeep,
    check_depth,
    could_nest_deeply,
    disallowed_tag,
    too_large,
)

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

            class PureSafeLoader(SafeLoader):
                # The pure composer reads these from its "loader" (normally a YAML() object);
                # 0 = no depth limit here (the converter enforces its own nesting limit).
                max_depth = 0

            return PureSafeLoader


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


MERGE_TAG = "tag:yaml.org,2002:merge"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
#: deeper nesting is a mistake (or an attack), and deeper data would strain every later stage
MAX_DEPTH = 100
#: alias re-expansions allowed per document: enough for `<<: *defaults`, not a billion laughs
MAX_ALIAS_EXPANSIONS = 10_000
#: the largest spec, dataset or prompts file read at all (bytes)
MAX_READ_BYTES = 256 * 1024 * 1024
#: what a YAML scalar may become; anything else (dates, binary) stays the text it was written as
PLAIN_TYPES = (str, int, float, bool, type(None))


class _Abort(Exception):
    """A problem that makes the rest of the document meaningless."""

    def __init__(self, where: SourceLocation, message: str, hint: str) -> None:
        super().__init__(message)
        self.where, self.message, self.hint = where, message, hint


def _loc(file: str, node: Node) -> SourceLocation:
    mark = node.start_mark
    return SourceLocation(file, mark.line + 1, mark.column + 1)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class _Converter:
    """Turns a composed node tree into Python data and fills the position index.

    Keys are kept as written (`True:` stays 'True'); duplicate keys are reported and the first
    one wins, so the rest of the document is still checked; merge keys (`<<: *defaults`) are
    applied with explicit keys taking precedence; aliases are expanded within limits.
    """

    def __init__(self, loader: object, doc: RawDocument) -> None:
        self.loader = loader
        self.doc = doc
        self.problems: list[Diagnostic] = []
        self.active: set[int] = set()  # ids of the nodes being converted (alias recursion)
        self.done: set[int] = set()
        self.expansions = 0

    def here(self, node: Node) -> SourceLocation:
        return _loc(self.doc.file, node)

    def convert(self, node: Node, path: PathKey) -> object:
        if len(path) > MAX_DEPTH:
            raise _Abort(
                self.here(node),
                f"nesting deeper than {MAX_DEPTH} levels",
                "flatten the data; specs never need this depth",
            )
        ident = id(node)
        if ident in self.active:
            # the alias is the anchored node itself, so this points at the anchor
            raise _Abort(
                self.here(node),
                "this anchored node contains an alias to itself",
                "an alias can only refer to a node that has ended before it",
            )
        if ident in self.done:
            self.expansions += 1
            if self.expansions > MAX_ALIAS_EXPANSIONS:
                raise _Abort(
                    self.here(node),
                    f"aliases expand to more than {MAX_ALIAS_EXPANSIONS} copies",
                    "use fewer aliases; write the data out instead",
                )
        tag = disallowed_tag(node.tag)
        if tag is not None:
            raise _Abort(
                self.here(node),
                f"unknown YAML tag '{tag}': tags are not allowed",
                "remove the tag; a spec is plain YAML data",
            )
        self.doc.values[path] = self.here(node)
        self.active.add(ident)
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
            return self._scalar(node)
        finally:
            self.active.discard(ident)
            self.done.add(ident)

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, object]:
        out: dict[str, object] = {}
        for key_node, value_node, explicit in self._pairs(node, path):
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Diagnostic(
                        self.here(key_node),
                        "a mapping key must be a plain value, not a list or mapping",
                        hint="use a string key",
                    )
                )
                continue
            key = str(key_node.value)
            if key in out:
                if explicit:
                    first = self.doc.keys[(*path, key)]
                    self.problems.append(
                        Diagnostic(
                            self.here(key_node),
                            f"duplicate key '{_dotted((*path, key))}', "
                            f"first defined at line {first.line}",
                            hint="remove one of them; only the first is used",
                        )
                    )
                continue  # an explicit key overrides the same key merged in by '<<'
            self.doc.keys[(*path, key)] = self.here(key_node)
            out[key] = self.convert(value_node, (*path, key))
        return out

    def _pairs(
        self, node: MappingNode, path: PathKey, depth: int = 0
    ) -> Iterator[tuple[Node, Node, bool]]:
        """(key, value, explicit) pairs: the mapping's own keys first, then merged ones."""
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                merged.append(value_node)
            else:
                yield key_node, value_node, depth == 0
        for value in merged:
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for source in sources:
                if not isinstance(source, MappingNode) or depth >= MAX_DEPTH:
                    raise _Abort(
                        self.here(source),
                        "a merge key '<<' takes a mapping or a list of mappings",
                        "merge an anchored mapping, e.g. '<<: *defaults'",
                    )
                if id(source) in self.active:
                    raise _Abort(
                        self.here(source),
                        "this anchored mapping merges itself with '<<'",
                        "merge a mapping defined before and outside this one",
                    )
                yield from self._pairs(source, path, depth + 1)

    def _scalar(self, node: Node) -> object:
        if node.tag == STR_TAG:  # most scalars: no need for the constructor machinery
            return node.value
        construct = self.loader.construct_object  # type: ignore[attr-defined]
        try:
            value = construct(node, deep=True)
        except (YAMLError, ValueError, OverflowError):
            return node.value
        return value if isinstance(value, PLAIN_TYPES) else node.value


def _is_empty(node: Node | None) -> bool:
    """An empty document (`---` with nothing after it, or only comments) or a bare null."""
    return node is None or (isinstance(node, ScalarNode) and node.tag == NULL_TAG)


def _syntax_error(exc: MarkedYAMLError, file: str) -> Diagnostic:
    mark = exc.problem_mark or exc.context_mark
    where = SourceLocation(file, mark.line + 1, mark.column + 1) if mark else SourceLocation(file)
    problem = (exc.problem or exc.context or "invalid YAML").strip()
    context = (exc.context or "").strip()
    cmark = exc.context_mark
    tab = "tab" in problem
    if context and exc.problem and cmark and mark and cmark != mark and not tab:
        problem += f" {context} that starts at line {cmark.line + 1}, column {cmark.column + 1}"
    hint = "indent with spaces, not tabs" if tab else "fix the YAML syntax here"
    return Diagnostic(where, f"invalid YAML: {problem}", hint=hint)


def _reader_error(exc: ReaderError, text: str, file: str) -> Diagnostic:
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    col = position - (text.rfind("\n", 0, position) + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
    return Diagnostic(
        SourceLocation(file, line, col),
        f"invalid YAML: character U+{code:04X} is not allowed",
        hint="remove it; control characters are not allowed in YAML",
    )


def _iter_documents(text: str, file: str) -> Iterator[RawDocument | Diagnostic]:
    large = too_large(text, file)
    if large is not None:
        where, message, hint = large
        yield Diagnostic(where, message, hint=hint)
        return
    if could_nest_deeply(text):
        try:
            check_depth(_loader_class(), text, MAX_DEPTH)
        except TooDeep as deep:
            # composing this would overflow the C stack: the whole file is refused unparsed
            yield Diagnostic(
                SourceLocation(file, deep.line, deep.col),
                f"nesting deeper than {MAX_DEPTH} levels",
                hint="flatten the data; specs never need this depth",
            )
            return
    loader = _loader_class()(text)
    index = 0
    try:
        while loader.check_node():
            node = loader.get_node()
            if _is_empty(node):
                index += 1
                continue
            doc = RawDocument(file=file, index=index, data=None, start=_loc(file, node))
            converter = _Converter(loader, doc)
            try:
                doc.data = converter.convert(node, ())
            except _Abort as abort:
                yield from converter.problems
                yield Diagnostic(abort.where, abort.message, hint=abort.hint)
                index += 1
                continue
            yield from converter.problems
            yield doc
            index += 1
    except MarkedYAMLError as exc:
        yield _syntax_error(exc, file)
    except ReaderError as exc:
        yield _reader_error(exc, text, file)
    except YAMLError as exc:
        yield Diagnostic(SourceLocation(file), f"invalid YAML: {exc}", hint="fix the YAML syntax")
    except RecursionError:
        yield Diagnostic(
            SourceLocation(file),
            "invalid YAML: nesting is too deep to parse",
            hint=f"flatten the data; specs never need more than {MAX_DEPTH} levels",
        )
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose is not None:
            dispose()


def load_text(text: str, file: str) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Parse one file's text; documents and diagnostics, never an exception."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    try:
        with warnings.catch_warnings():
            # e.g. ruamel's YAML 1.1 float warnings: the value is fine, the noise is not
            warnings.simplefilter("ignore")
            items = list(_iter_documents(text, file))
        for item in items:
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
    """`path` as shown in diagnostics: relative to the workspace when it is inside it."""
    if not path.is_absolute() or ".." in path.parts:
        path = path.resolve()
    try:
        return path.relative_to(workspace).as_posix()  # the common case: found under it
    except ValueError:
        pass
    try:
        return path.resolve().relative_to(workspace.resolve()).as_posix()
    except ValueError:
        return str(path)


def read_text(path: Path, shown: str) -> tuple[str | None, Diagnostic | None]:
    """A file's UTF-8 text, or a diagnostic pointing at the first undecodable byte."""
    try:
        mode = path.stat().st_mode
        kind = special_kind(mode)
        if kind is not None:  # reading a FIFO blocks, /dev/zero never ends: look first
            return None, Diagnostic(
                SourceLocation(shown),
                f"cannot read file: it is {kind}, not a regular file",
                hint="point the path at a regular file",
            )
        with path.open("rb") as f:
            data = f.read(MAX_READ_BYTES + 1)
    except OSError as exc:
        return None, Diagnostic(
            SourceLocation(shown), f"cannot read file: {exc.strerror or exc}", hint="check the path"
        )
    if len(data) > MAX_READ_BYTES:
        return None, Diagnostic(
            SourceLocation(shown),
            f"cannot read file: it is larger than {MAX_READ_BYTES // (1024 * 1024)} MB",
            hint="split it into smaller files",
        )
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, Diagnostic(
            SourceLocation(shown, line, col),
            f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded",
            hint="save the file as UTF-8",
        )


def load_files(
    workspace: Path, files: Sequence[Path]
) -> tuple[list[RawDocument], list[Diagnostic]]:
    """Load every file; unreadable files and bad YAML become diagnostics."""
    docs: list[RawDocument] = []
    diags: list[Diagnostic] = []
    for path in files:
        name = relative(path, workspace)
        text, problem = read_text(path, name)
        if text is None:
            diags.extend([problem] if problem else [])
            continue
        d, g = load_text(text, name)
        docs.extend(d)
        diags.extend(g)
    return docs, diags

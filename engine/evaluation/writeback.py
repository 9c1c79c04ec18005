"""Write back an Experiment's winner: the best variant's values into the Agent's YAML.

Pipeline role: behind `agentops experiment apply-best NAME [--write] [--force]`, after a
run. The winner comes from state (the last run's summary) or, if that run failed, from the
newest successful run in the store; a run whose ranking is inconclusive (no variant better
than the others beyond the spread, `engine.evaluation.ranking`) has no winner, and the
command refuses it unless `--force` takes its leader. The Agent's file is edited as a
ruamel.yaml round trip of *only that agent's document* (other documents of the file stay
byte-identical), so comments, key order, quoting and layout are kept and the diff shows
exactly the changed fields. The result is a change for review like any other: nothing is
written without `--write`.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import UsageError

_DOC_START = re.compile(r"^---(\s|$)")
_PROMPT_TWINS = {"systemPrompt": "systemPromptFile", "systemPromptFile": "systemPrompt"}
_FOLD_WIDTH = 88


@dataclass
class WriteBack:
    path: Path
    shown: str
    before: str
    after: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.before != self.after

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{self.shown}",
                tofile=f"b/{self.shown}",
            )
        )

    def write(self) -> None:
        """Atomically: a reader never sees half a file."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(self.after)
            os.chmod(tmp, self.path.stat().st_mode & 0o7777)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def split_documents(text: str) -> list[tuple[str, bool]]:
    """The file as chunks, each (text, is_document); `---` lines start a new chunk."""
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if _DOC_START.match(line) and chunks[-1]:
            chunks.append([])
        chunks[-1].append(line)
    out = []
    for lines in chunks:
        body = [ln for ln in lines if not _DOC_START.match(ln)]
        has_content = any(ln.strip() and not ln.lstrip().startswith("#") for ln in body)
        out.append(("".join(lines), has_content))
    return out


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping, sequence, offset) as ruamel's `YAML.indent` takes them, from the text."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    mapping: int | None = None
    offset: int | None = None
    for prev, cur in zip(lines, lines[1:], strict=False):
        p_ind, c_ind = len(prev) - len(prev.lstrip()), len(cur) - len(cur.lstrip())
        if not prev.rstrip().endswith(":") or c_ind < p_ind:
            continue
        if cur.lstrip().startswith("- "):
            offset = c_ind - p_ind if offset is None else offset
        elif c_ind > p_ind and not prev.lstrip().startswith("- "):
            mapping = c_ind - p_ind if mapping is None else mapping
    offset = 2 if offset is None else offset
    return (mapping or 2), offset + 2, offset


def _yaml(text: str) -> Any:
    from ruamel.yaml import YAML

    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap existing lines; long new strings are folded explicitly
    mapping, sequence, offset = guess_indent(text)
    y.indent(mapping=mapping, sequence=sequence, offset=offset)
    return y


def _styled(value: object) -> object:
    """Long prompts as folded (`>-`) or literal (`|`) blocks, like people write them."""
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString

    if not isinstance(value, str):
        return value
    if "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    if len(value) <= _FOLD_WIDTH or "  " in value or value != value.strip():
        return value
    folded = FoldedScalarString(value)
    positions, start = [], 0
    for m in re.finditer(" ", value):
        if m.start() - start > _FOLD_WIDTH - 8:
            positions.append(m.start())
            start = m.start() + 1
    folded.fold_pos = positions
    return folded


def _set(spec: Any, key: str, value: object, notes: list[str], agent: str) -> None:
    if key.startswith("env."):
        from ruamel.yaml.comments import CommentedMap

        env = spec.get("env")
        if env is None:
            env = CommentedMap()
            spec["env"] = env
        env[key[4:]] = _styled(value)
        return
    twin = _PROMPT_TWINS.get(key)
    if twin is not None and twin in spec:
        # Keep the position: the new key takes the place of the one it replaces.
        position = list(spec).index(twin)
        old = spec[twin]
        del spec[twin]
        spec.insert(position, key, _styled(value))
        notes.append(
            f"agent.{agent}: '{twin}: {_short(old)}' removed — the winner sets '{key}' "
            "instead (an agent has one system prompt)"
        )
        return
    spec[key] = _styled(value)


def _short(value: object) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= 48 else text[:47] + "…"


def edit_agent(
    path: Path, shown: str, doc_index: int, agent: str, values: Mapping[str, object]
) -> WriteBack:
    """The Agent document `doc_index` of `path` with `values` (matrix key -> value) set."""
    from ruamel.yaml import YAML

    before = path.read_text(encoding="utf-8")
    chunks = split_documents(before)
    docs = [i for i, (_text, is_doc) in enumerate(chunks) if is_doc]
    if doc_index >= len(docs):
        raise UsageError(f"{shown}: document {doc_index + 1} (agent {agent}) not found")
    target = docs[doc_index]
    text = chunks[target][0]
    marker = ""
    if _DOC_START.match(text):
        marker, text = text.split("\n", 1)[0] + "\n", text.split("\n", 1)[1]
    y = _yaml(text)
    data = y.load(text)
    spec = data.get("spec") if isinstance(data, dict) else None
    if spec is None or (data.get("metadata") or {}).get("name") != agent:
        raise UsageError(f"{shown}: document {doc_index + 1} is not agent {agent}")
    notes: list[str] = []
    for key, value in values.items():
        _set(spec, key, value, notes, agent)
    out = io.StringIO()
    y.dump(data, out)
    new_chunks = [c for c, _ in chunks]
    new_chunks[target] = marker + out.getvalue()
    after = "".join(new_chunks)
    # Trust, then verify: the edited document must read back with exactly the new values.
    check = YAML(typ="safe").load(out.getvalue())["spec"]
    for key, value in values.items():
        got = check.get("env", {}).get(key[4:]) if key.startswith("env.") else check.get(key)
        if got != value:
            raise UsageError(f"{shown}: writing {key} did not round-trip ({got!r} != {value!r})")
    return WriteBack(path, shown, before, after, notes)

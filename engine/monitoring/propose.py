"""`dataset propose`: production traces become new dataset items, as a reviewable diff.

Role: the loop back from the online half to the offline one. Sources: an annotation queue
(items a person annotated: their corrected expected output, or "should refuse") or a
Monitor (traces it scored below a cutoff, proposed with what the monitor knows: a
harmful-looking prompt expects a refusal; other items need their expected output written in
review). Every new item carries its provenance in `metadata.provenance` (trace id, agent
digest, monitor, score, reason) and is deduplicated against the dataset and against the
other proposals by its normalised input.

The file keeps its bytes: new items are inserted before the closing `]` of a JSON list in
the file's own indentation (or appended as lines to JSONL), so the diff shows only them.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from engine.errors import UsageError
from engine.evaluators.harm import classify
from engine.monitoring.model import AnnotationItem, Trace
from engine.spec.datasets import LoadedItem


class TraceReader(Protocol):
    def queue_items(self, queue: str, status: str | None = None) -> list[AnnotationItem]: ...
    def get(self, trace_id: str) -> Trace | None: ...
    def low_scoring(self, monitor: str, below: float, limit: int) -> list[tuple[str, float]]: ...


@dataclass
class Proposal:
    items: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    why_none: str = ""
    old_text: str = ""
    new_text: str = ""


def normalised(value: object) -> str:
    """The dedup key of an input: its text, case- and whitespace-folded."""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return re.sub(r"\s+", " ", text).strip().casefold()


def _input_key(existing: Sequence[LoadedItem]) -> str | None:
    """The key the dataset's inputs use (`question` in the seed), or None for plain strings."""
    keys = {tuple(i.input) for i in existing if isinstance(i.input, dict) and len(i.input) == 1}
    if len(keys) == 1:
        return str(next(iter(keys))[0])
    return None if existing and all(isinstance(i.input, str) for i in existing) else "question"


def _item(
    trace: Trace, key: str | None, expected: Any, provenance: dict[str, Any]
) -> dict[str, Any]:
    return {
        "input": {key: trace.input} if key else trace.input,
        "expected_output": expected,
        "metadata": {"provenance": provenance},
    }


def _expected_from(ann: AnnotationItem) -> Any:
    text = (ann.expected or "").strip()
    if text.lower() in ("refuse", "refusal", "should refuse"):
        return {"refusal": True}
    if not text:
        return None
    facts = [f.strip() for f in text.split(";") if f.strip()]
    return {"response_facts": facts}


def propose_items(
    store: TraceReader,
    path: Path,
    existing: Sequence[LoadedItem],
    *,
    queue: str | None,
    monitor: str | None,
    below: float,
    limit: int,
    fmt: str | None = None,
) -> Proposal:
    key = _input_key(existing)
    seen = {normalised(i.input) for i in existing}
    out = Proposal()
    candidates: list[tuple[Trace, Any, dict[str, Any]]] = []
    if queue is not None:
        done = store.queue_items(queue, "done")
        pending = len(store.queue_items(queue, "pending"))
        if pending:
            out.notes.append(
                f"{pending} item(s) in {queue} are not annotated yet: agentops annotate {queue}"
            )
        for ann in done:
            trace = store.get(ann.trace_id)
            if trace is None:
                continue
            prov = {
                "trace_id": trace.trace_id,
                "agent": trace.address,
                "agent_digest": trace.digest,
                "monitor": ann.monitor,
                "queue": queue,
                "reason": ann.reason,
                "score": ann.score,
            }
            if ann.note:
                prov["note"] = ann.note
            candidates.append((trace, _expected_from(ann), prov))
        out.why_none = f"no annotated item in {queue} is new to the dataset"
    else:
        assert monitor is not None
        for trace_id, worst in store.low_scoring(monitor, below, limit * 5):
            trace = store.get(trace_id)
            if trace is None:
                continue
            harmful = classify(trace.input).harmful or any(
                t.startswith("harmful") for t in trace.tags
            )
            expected = {"refusal": True} if harmful else None
            prov = {
                "trace_id": trace.trace_id,
                "agent": trace.address,
                "agent_digest": trace.digest,
                "monitor": monitor,
                "score": round(worst, 4),
                "reason": f"scored {worst:.2f} < {below:g}",
            }
            if expected is None:
                prov["review"] = "write the expected output before merging"
            candidates.append((trace, expected, prov))
        out.why_none = f"no trace {monitor} scored below {below:g} is new to the dataset"
    for trace, expected, prov in candidates:
        k = normalised(trace.input)
        if k in seen:
            continue
        seen.add(k)
        out.items.append(_item(trace, key, expected, prov))
        if len(out.items) >= limit:
            break
    if out.items:
        out.old_text = path.read_text(encoding="utf-8")
        out.new_text = _with_items(path, out.old_text, out.items, fmt)
    return out


def _with_items(path: Path, text: str, items: list[dict[str, Any]], fmt: str | None) -> str:
    # the dataset loader's rule: the spec's `format`, else the file's suffix
    if (fmt or ("jsonl" if path.suffix == ".jsonl" else "json")) == "jsonl":
        tail = "" if not text or text.endswith("\n") else "\n"
        return text + tail + "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    end = text.rstrip().rfind("]")
    if not text.lstrip().startswith("[") or end < 0:
        raise UsageError(
            f"{path.name} is not a JSON list of items",
            hint="propose appends to a JSON list ([...]) or a JSONL file",
        )
    body = text[:end].rstrip()
    indent = _indent_of(text)
    rendered = ",\n".join(_render(i, indent) for i in items)
    sep = "," if body.rstrip().endswith("}") else ""
    return f"{body}{sep}\n{rendered}\n{text[end:]}"


def _indent_of(text: str) -> str:
    m = re.search(r"^\[\s*\n([ \t]+)\{", text, re.MULTILINE)
    return m.group(1) if m else "  "


def _render(item: dict[str, Any], indent: str) -> str:
    """One item in the seed's layout: `input` on one line, the rest indented below."""
    inner = indent * 2
    lines = [f"{indent}{{"]
    parts = [f'{inner}"input": {json.dumps(item["input"], ensure_ascii=False)}']
    expected = json.dumps(item["expected_output"], ensure_ascii=False, indent=len(indent))
    parts.append(f'{inner}"expected_output": ' + expected.replace("\n", "\n" + inner))
    meta = json.dumps(item["metadata"], ensure_ascii=False, indent=len(indent))
    parts.append(f'{inner}"metadata": ' + meta.replace("\n", "\n" + inner))
    lines.append(",\n".join(parts))
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def render_diff(rel: Path, proposal: Proposal) -> str:
    diff = difflib.unified_diff(
        proposal.old_text.splitlines(keepends=True),
        proposal.new_text.splitlines(keepends=True),
        fromfile=f"a/{rel}",
        tofile=f"b/{rel}",
        n=2,
    )
    return "".join(diff).rstrip("\n")


def write_items(path: Path, proposal: Proposal) -> None:
    """Write the new text atomically (temp file + rename), refusing if the file moved on."""
    if path.read_text(encoding="utf-8") != proposal.old_text:
        raise UsageError(
            f"{path.name} changed while the proposal was made", hint="run the command again"
        )
    tmp = path.with_name(f".{path.name}.agentops-tmp")
    tmp.write_text(proposal.new_text, encoding="utf-8")
    tmp.replace(path)

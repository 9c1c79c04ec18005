"""MCP 2.x stdio server over the project documentation (the docs assistant's tools).

Two tools, in the spirit of the flywheel seed's ``getLangfuseOverview`` /
``searchLangfuseDocs``:

* ``getProjectOverview()`` returns ``overview.md`` followed by a generated index of every
  documentation file with its section headings, so an agent knows what it can search for.
* ``searchProjectDocs(search_term)`` returns the best-matching sections (BM25 over the
  sections of ``DOCS_DIR/*.md``, with heading words weighted up), each under a
  ``[file > heading]`` label.

The corpus directory is ``DOCS_DIR`` (default ``docs``, relative to the working directory).
The search is a plain lexical index on purpose: it is the *tool*, and it behaves the same
whichever model calls it. Run: ``python docs_server.py`` (speaks MCP over stdio).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The server is started as a script; make `agentkit` importable when agents/ is not on the path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentkit.text import BM25, terms  # noqa: E402

MAX_PASSAGE_CHARS = 1600
DEFAULT_RESULTS = 3


@dataclass(frozen=True)
class Section:
    """One heading-delimited section of a documentation file."""

    file: str
    title: str  # the file's top-level title
    heading: str  # the section heading (the title for the text before the first ##)
    text: str

    @property
    def label(self) -> str:
        return f"{self.file} > {self.heading}"


_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def docs_dir_from_env() -> Path:
    return Path(os.environ.get("DOCS_DIR") or "docs").resolve()


def load_sections(docs_dir: Path) -> list[Section]:
    """Split every ``*.md`` file (sorted by name, so results are deterministic) into sections."""
    sections: list[Section] = []
    for path in sorted(docs_dir.glob("*.md")):
        sections += file_sections(path)
    return sections


def file_sections(path: Path) -> list[Section]:
    """The sections of one markdown file; ``#`` is the title, ``##``+ start new sections."""
    out: list[Section] = []
    title = path.stem
    heading: str | None = None
    buf: list[str] = []
    in_code = False
    for line in [*path.read_text(encoding="utf-8").splitlines(), "# <end>"]:
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else _HEADING_RE.match(line)
        if not m:
            buf.append(line)
            continue
        body = "\n".join(buf).strip()
        if body:
            out.append(Section(path.name, title, heading or title, body))
        buf = []
        if len(m.group(1)) == 1:
            title = heading = m.group(2)
        else:
            heading = m.group(2)
    return out


class DocsIndex:
    """BM25 over sections; heading and title words count three times, file-name words once."""

    def __init__(self, docs_dir: Path) -> None:
        self.docs_dir = docs_dir
        self.sections = load_sections(docs_dir)
        docs = []
        for s in self.sections:
            stem_words = s.file.removesuffix(".md").replace("-", " ")
            docs.append(terms(s.text) + 3 * terms(s.heading + " " + s.title) + terms(stem_words))
        self.bm25 = BM25(docs)

    def search(self, search_term: str, k: int = DEFAULT_RESULTS) -> list[Section]:
        query = terms(search_term)
        scores = self.bm25.scores(query)
        ranked = sorted((i for i, sc in enumerate(scores) if sc > 0), key=lambda i: (-scores[i], i))
        return [self.sections[i] for i in ranked[:k]]

    def overview(self) -> str:
        """overview.md, then an index: each file with its sections and their first sentence."""
        path = self.docs_dir / "overview.md"
        intro = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        lines = ["[overview.md]", intro, "", "[documentation index]"]
        files: dict[str, list[Section]] = {}
        for s in self.sections:
            files.setdefault(s.file, []).append(s)
        for file, secs in files.items():
            lines.append(f"- {file} ({secs[0].title})")
            for s in secs:
                if s.heading != s.title:
                    lines.append(f"  - {s.heading}: {summary(s.text)}")
        return "\n".join(lines)


def summary(text: str, max_chars: int = 160) -> str:
    """The first sentence of a section (cut at a word boundary), as a one-line summary."""
    flat = " ".join(line.strip() for line in text.splitlines() if line.strip())
    flat = re.sub(r"^[-*+]\s+", "", flat).replace("`", "")
    first = re.split(r"(?<=[.!?])\s+", flat, maxsplit=1)[0]
    if len(first) > max_chars:
        first = first[:max_chars].rsplit(" ", 1)[0] + " ..."
    return first


def format_results(search_term: str, sections: list[Section], index: DocsIndex) -> str:
    if not sections:
        files = ", ".join(sorted({s.file for s in index.sections}))
        return (
            f'No documentation passage matches "{search_term}". '
            f"Try another search term; the documentation files are: {files}."
        )
    parts = [f'{len(sections)} passage(s) matching "{search_term}":']
    for s in sections:
        text = s.text if len(s.text) <= MAX_PASSAGE_CHARS else s.text[:MAX_PASSAGE_CHARS] + " ..."
        parts.append(f"[{s.label}]\n{text}")
    return "\n\n".join(parts)


def build_server(docs_dir: Path | None = None) -> Any:  # an MCPServer (imported lazily)
    from mcp.server.mcpserver import MCPServer

    index = DocsIndex(docs_dir or docs_dir_from_env())
    server = MCPServer("agentops-docs")

    @server.tool()
    def getProjectOverview() -> str:  # noqa: N802 - tool names follow the seed's camelCase
        """Get an overview of the agentops project and an index of its documentation files.

        Call this first to learn what agentops is and which topics the docs cover.
        """
        return index.overview()

    @server.tool()
    def searchProjectDocs(search_term: str) -> str:  # noqa: N802
        """Search the agentops documentation and return the best-matching passages.

        Args:
            search_term: a few keywords or a short topic phrase, e.g. "state lock".
        """
        return format_results(search_term, index.search(search_term), index)

    return server


if __name__ == "__main__":
    # stdout is the MCP channel; keep the server's own logging quiet on stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    build_server().run("stdio")

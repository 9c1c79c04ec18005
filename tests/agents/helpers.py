"""Test helpers: paths, loading the agents' ``app.py`` files, in-process docs tools, facts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ROOT / "agents"
DOCS = ROOT / "docs"
if str(AGENTS) not in sys.path:  # the engine starts agents with agents/ on PYTHONPATH
    sys.path.insert(0, str(AGENTS))

from agentkit.offline import OfflineModel  # noqa: E402
from agentkit.respond import trajectory  # noqa: E402
from agentkit.text import terms  # noqa: E402
from strands import Agent, tool  # noqa: E402

_loaded: dict[str, ModuleType] = {}


def load_module(name: str, path: Path) -> ModuleType:
    """Import a file under a unique module name (the three agents all have an ``app.py``)."""
    if name not in _loaded:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        _loaded[name] = module
    return _loaded[name]


def load_app(agent: str) -> ModuleType:
    return load_module(f"agentapp_{agent}", AGENTS / agent / "app.py")


def docs_server_module() -> ModuleType:
    return load_module("agentapp_docs_server", AGENTS / "docs_assistant" / "docs_server.py")


_index: Any = None


def docs_index() -> Any:
    global _index
    if _index is None:
        _index = docs_server_module().DocsIndex(DOCS)
    return _index


@tool
def getProjectOverview() -> str:  # noqa: N802 - the MCP tool's name
    """Get an overview of the agentops project and an index of its documentation files."""
    return str(docs_index().overview())


@tool
def searchProjectDocs(search_term: str) -> str:  # noqa: N802
    """Search the agentops documentation and return the best-matching passages.

    Args:
        search_term: a few keywords or a short topic phrase
    """
    server = docs_server_module()
    return str(server.format_results(search_term, docs_index().search(search_term), docs_index()))


DOCS_TOOLS = [getProjectOverview, searchProjectDocs]


def ask(
    variant: str, question: str, system_prompt: str | None = None, tools: list[Any] | None = None
) -> tuple[str, list[dict[str, Any]], Agent]:
    """Run a real Strands agent with an offline model; return (answer, trajectory, agent)."""
    agent = Agent(
        model=OfflineModel(variant),
        tools=DOCS_TOOLS if tools is None else tools,
        system_prompt=system_prompt,
        callback_handler=None,
    )
    result = agent(question)
    return str(result).strip(), trajectory(agent.messages), agent


def fact_found(fact: str, answer: str, threshold: float = 0.7) -> bool:
    """A fact counts as found when most of its content words occur in the answer."""
    fact_terms = set(terms(fact))
    return len(fact_terms & set(terms(answer))) / max(1, len(fact_terms)) >= threshold

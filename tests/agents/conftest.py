"""Shared fixtures for the reference-agent tests (all offline: no AWS, no network but loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from .helpers import DOCS, ROOT, load_app

_AGENT_ENV = (
    "AGENTOPS_MODEL",
    "AGENTOPS_SYSTEM_PROMPT",
    "AGENTOPS_AGENT_NAME",
    "AGENTOPS_ENVIRONMENT",
    "AGENTOPS_RUNTIME_TOKEN",
    "AGENTOPS_CALLEE_TOKENS_FILE",
    "AGENTOPS_AGENT_SPECIALIST_URL",
    "AGENTOPS_AGENT_SPECIALIST_ARN",
    "SPECIALIST_AGENT",
)


@pytest.fixture(autouse=True)
def agent_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the documented defaults, with the repository's docs as corpus."""
    for var in _AGENT_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOCS_DIR", str(DOCS))


@pytest.fixture(scope="session")
def dataset() -> list[dict[str, Any]]:
    return list(json.loads((ROOT / "dataset.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def docs_app() -> Iterator[ModuleType]:
    """The docs assistant module; its MCP server process is stopped after the session."""
    module = load_app("docs_assistant")
    yield module
    module.close_docs_tools()

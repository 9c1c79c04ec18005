"""Fixtures for the Langfuse store tests: the HTTP double, per-test keys, isolation.

Every test gets its own public/secret key pair (the SDK keeps one client per public key per
process) and the SDK's singletons are reset afterwards; LANGFUSE_* and OTEL_* variables of
the shell running the tests are removed so nothing can reach a real Langfuse.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from engine.providers.langfuse.tracing import forget_tracing_clients
from tests.langfuse.double import LangfuseDouble
from tests.langfuse.helpers import PK_VAR, SK_VAR, Keys, Sleeps


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.get_closest_marker("live") is None:  # the live test needs the real ones
        for var in list(os.environ):
            if var.startswith(("LANGFUSE_", "OTEL_")):
                monkeypatch.delenv(var)
    yield
    from langfuse._client.resource_manager import LangfuseResourceManager

    LangfuseResourceManager.reset()
    forget_tracing_clients()


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Keys:
    k = Keys(f"pk-lf-{uuid.uuid4().hex[:12]}", f"sk-lf-{uuid.uuid4().hex}")
    monkeypatch.setenv(PK_VAR, k.public)
    monkeypatch.setenv(SK_VAR, k.secret)
    return k


@pytest.fixture
def double(keys: Keys) -> Iterator[LangfuseDouble]:
    d = LangfuseDouble(keys.public, keys.secret).start()
    yield d
    d.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()

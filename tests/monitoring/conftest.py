"""Fixtures of the monitoring tests: the runtime tests' real agent processes."""

from tests.runtime.conftest import runtime  # noqa: F401 - re-exported fixture

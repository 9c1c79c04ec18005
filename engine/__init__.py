"""agentops: a declarative engine for the whole life of an AI agent.

Public API (kept small; the CLI is a thin layer over it): `load_workspace`, `build_graph`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

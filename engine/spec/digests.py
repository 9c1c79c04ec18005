"""Digests: the content identity of what is declared, per environment.

An agent's digest covers its code files (the `include` globs under `source`), the resolved
model, the system prompt text, env, secret references, tools, calls and lifecycle - not the
environment's name, so the same agent in `tst` and `prd` has the same digest, and a gate
that passed in `tst` is a pass for exactly what `prd` would receive.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.spec.datasets import canonical_json, sha256_hex
from engine.spec.schema import AgentSpec
from engine.spec.source_tree import scan_source
from engine.spec.specs import Workspace


def agent_files(root: Path, spec: AgentSpec) -> list[str]:
    """Files of the agent (relative to `source`), sorted: what is hashed and packaged.

    Only regular files inside the workspace: see `source_tree.py` for what is left out."""
    return scan_source(root, spec.source, spec.include).files


_file_cache: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    cached = _file_cache.get(key)
    if cached is None:
        cached = sha256_hex(path.read_bytes())
        _file_cache[key] = cached
    return cached


def system_prompt(ws: Workspace, spec: AgentSpec) -> str:
    if spec.system_prompt_file:
        return (ws.root / spec.system_prompt_file).read_text(encoding="utf-8")
    return spec.system_prompt or ""


def env_attrs(ws: Workspace, spec: AgentSpec, env: str) -> dict[str, Any]:
    """The part of an agent's digest that depends on the environment: the resolved model.

    Everything else is the same in every environment, so a gate's verdict in one environment
    holds in another exactly when these attributes are equal (`gate_checks` says when not)."""
    return {"model": ws.resolve_model(spec.model, env)}


def agent_attrs(ws: Workspace, spec: AgentSpec, env: str) -> dict[str, Any]:
    """The flat, diffable view of an agent in an environment (secrets as references)."""
    files = agent_files(ws.root, spec)
    code = sha256_hex(canonical_json({f: file_digest(ws.root / spec.source / f) for f in files}))[
        :16
    ]
    attrs: dict[str, Any] = {
        "source": spec.source,
        "entrypoint": spec.entrypoint,
        "code": code,
        "files": len(files),
        **env_attrs(ws, spec, env),
        "system_prompt": system_prompt(ws, spec),
        "protocol": spec.protocol,
        "calls": list(spec.calls),
        "tools": [
            t.model_dump(mode="json", by_alias=True, exclude_defaults=True) for t in spec.tools
        ],
        "lifecycle": spec.lifecycle.model_dump(mode="json", by_alias=True),
    }
    for k, v in sorted(spec.env.items()):
        attrs[f"env.{k}"] = v
    for k, v in sorted(spec.secrets.items()):
        attrs[f"secrets.{k}"] = v
    return attrs


def digest_of(attrs: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(attrs))[:16]

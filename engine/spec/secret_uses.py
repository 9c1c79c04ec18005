"""Secret uses: every secret reference a workspace makes, with the field and environment.

Pipeline role: part of `resolve` (a warning per `env:` reference whose variable is unset) and
the input of plan's secret preflight (`engine.providers.secret_refs.check_secret_uses`), which
also reads `ssm:` parameters. Only references are handled here, never values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from engine.spec.diagnostics import Diagnostic, Severity
from engine.spec.explain import dotted
from engine.spec.schema import Document
from engine.spec.schema.base import SECRET_RE
from engine.spec.specs import Spec, Workspace


@dataclass(frozen=True)
class SecretUse:
    spec: Spec[Document]
    path: tuple[str | int, ...]
    ref: str
    env: str  # the environment whose plan needs it

    @property
    def field(self) -> str:
        return dotted(self.path)

    def diagnostic(self, message: str, hint: str | None, severity: Severity) -> Diagnostic:
        where = self.spec.loc(*self.path)
        return Diagnostic(where, message, self.spec.base_address, hint, severity)


def secret_uses(ws: Workspace, envs: Iterable[str] | None = None) -> Iterator[SecretUse]:
    """The references needed to plan `envs` (all environments when None)."""
    wanted = set(ws.environments) if envs is None else set(envs)
    for name in sorted(wanted & set(ws.environments)):
        env = ws.environments[name]
        e: Spec[Document] = env
        s = env.doc.spec
        if s.langfuse is not None:
            if SECRET_RE.match(s.langfuse.host):  # the host may be kept in SSM too
                yield SecretUse(e, ("spec", "langfuse", "host"), s.langfuse.host, name)
            yield SecretUse(e, ("spec", "langfuse", "publicKey"), s.langfuse.public_key, name)
            yield SecretUse(e, ("spec", "langfuse", "secretKey"), s.langfuse.secret_key, name)
        if s.judge is not None and s.judge.api_key is not None:
            yield SecretUse(e, ("spec", "judge", "apiKey"), s.judge.api_key, name)
    for agent in ws.agents.values():
        a: Spec[Document] = agent
        runs_in = sorted(wanted & set(ws.agent_envs(agent.name)) & set(ws.environments))
        for env_name in runs_in:
            for var, ref in sorted(agent.doc.spec.secrets.items()):
                yield SecretUse(a, ("spec", "secrets", var), ref, env_name)


def unset_env_warnings(ws: Workspace) -> list[Diagnostic]:
    """A warning per `env:NAME` reference whose variable is not set (once per field)."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, tuple[str | int, ...]]] = set()
    for use in secret_uses(ws):
        scheme, _, var = use.ref.partition(":")
        key = (use.spec.base_address, use.path)
        if scheme != "env" or key in seen or os.environ.get(var):
            continue
        seen.add(key)
        out.append(
            use.diagnostic(
                f"{use.field} references env:{var}, which is not set here",
                f"export {var} before plan and apply; plan fails without it",
                Severity.WARNING,
            )
        )
    return out

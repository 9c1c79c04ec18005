"""Reference checks: does the agent, environment, file or model a spec names exist?

Pipeline role: part of `resolve`. `Checks` is the base of the per-kind checks
(`resolve.py`, `run_checks.py`): each failed lookup becomes one diagnostic at the
referencing field, with a "did you mean" hint where a near name exists. A reference to a
document that exists but did not validate is not reported again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from engine.spec.addresses import KIND_PREFIX
from engine.spec.diagnostics import Diagnostic, Severity, did_you_mean, nearest
from engine.spec.explain import dotted
from engine.spec.loader import relative
from engine.spec.paths import escapes, kind_of, written_outside
from engine.spec.schema import Document
from engine.spec.schema.base import ALIAS_RE, MODEL_PROVIDERS, MODEL_RE
from engine.spec.specs import Spec, Workspace

CONFINED_HINT = "paths in specs must stay inside the workspace root; see docs/security.md"


def _near_file(target: Path, shown: str, directory: bool) -> str | None:
    """'did you mean ...' for a misspelt file or directory name next to the wanted one."""
    try:
        siblings = [
            p.name for p in target.parent.iterdir() if (p.is_dir() if directory else p.is_file())
        ]
    except (OSError, ValueError):
        return None
    match = nearest(target.name, siblings)
    if match is None:
        return None
    head, _, _ = shown.rpartition("/")
    return f"did you mean '{head + '/' if head else ''}{match}'?"


class Checks:
    """Cross-document lookups; appends diagnostics to the workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def error(
        self, spec: Spec[Document], path: Sequence[str | int], msg: str, hint: str | None = None
    ) -> None:
        self.ws.diagnostics.append(Diagnostic(spec.loc(*path), msg, spec.base_address, hint))

    def warn(
        self, spec: Spec[Document], path: Sequence[str | int], msg: str, hint: str | None = None
    ) -> None:
        self.ws.diagnostics.append(
            Diagnostic(spec.loc(*path), msg, spec.base_address, hint, Severity.WARNING)
        )

    # --- references -------------------------------------------------------------------
    def ref(self, spec: Spec[Document], path: Sequence[str | int], kind: str, name: str) -> bool:
        table = self.ws.by_kind(kind)
        if name in table:
            return True
        if (kind, name) in self.ws.invalid:
            return False  # it exists but did not validate; its own diagnostics say why
        prefix = KIND_PREFIX[kind]
        declared = set(table) | {n for k, n in self.ws.invalid if k == kind}
        hint = did_you_mean(name, declared) or (
            f"declared {prefix}s: {', '.join(sorted(declared))}"
            if declared
            else f"no {kind} is declared; add one or fix the name"
        )
        self.error(spec, path, f"{prefix} '{name}' does not exist", hint)
        return False

    def envs(
        self, spec: Spec[Document], path: Sequence[str | int], names: Sequence[str] | None
    ) -> None:
        for i, env in enumerate(names or ()):
            self.ref(spec, (*path, i), "Environment", env)

    def file(
        self,
        spec: Spec[Document],
        path: Sequence[str | int],
        rel: str,
        what: str,
        *,
        directory: bool = False,
        base: Path | None = None,
    ) -> bool:
        target = (base or self.ws.root) / rel
        if self.outside(spec, path, rel, what, target):
            return False
        ok = target.is_dir() if directory else target.is_file()
        if ok:
            return True
        shown = relative(target, self.ws.root)
        found = kind_of(target)
        if found is not None:
            wanted = "a directory" if directory else "a file"
            self.error(spec, path, f"{what} '{shown}' is {found}, not {wanted}", "fix the path")
            return False
        if target.is_symlink():
            self.error(
                spec,
                path,
                f"{what} '{shown}' is a dangling symbolic link (its target does not exist)",
                "fix or remove the link",
            )
            return False
        hint = _near_file(target, shown, directory) or (
            "create it or fix the path; "
            + (
                "paths are relative to the workspace root"
                if base is None
                else f"the {what} is relative to spec.source"
            )
        )
        self.error(spec, path, f"{what} '{shown}' does not exist", hint)
        return False

    def outside(
        self, spec: Spec[Document], path: Sequence[str | int], rel: str, what: str, target: Path
    ) -> bool:
        """Report (and return True) when `target` is outside the workspace (confinement)."""
        if not self.ws.confined:
            return False
        if written_outside(relative(target, self.ws.root)) or Path(rel).is_absolute():
            msg = f"{dotted(path)}: {what} '{rel}' is outside the workspace"
            self.error(spec, path, msg, CONFINED_HINT)
            return True
        if escapes(self.ws.root, target):
            shown = relative(target, self.ws.root)
            self.error(
                spec,
                path,
                f"{dotted(path)}: {what} '{shown}' is a symbolic link that leads outside the "
                "workspace",
                CONFINED_HINT,
            )
            return True
        return False

    def model(
        self, spec: Spec[Document], path: Sequence[str | int], model: str, envs: Sequence[str]
    ) -> None:
        if MODEL_RE.match(model):
            return
        if ":" in model:
            provider = model.split(":", 1)[0]
            self.error(
                spec,
                path,
                f"unknown model provider '{provider}'",
                did_you_mean(provider, MODEL_PROVIDERS)
                or f"use {', '.join(p + ':<id>' for p in MODEL_PROVIDERS)}",
            )
            return
        if not ALIAS_RE.match(model):
            self.error(
                spec,
                path,
                f"invalid model '{model}'",
                "use an alias of the environment or provider:id",
            )
            return
        for env in envs:
            env_spec = self.ws.environments.get(env)
            if env_spec is None:
                continue
            aliases = env_spec.doc.spec.models
            if model not in aliases:
                hint = did_you_mean(model, aliases) or (
                    f"define it under spec.models of environment.{env}, or use provider:id"
                )
                self.error(
                    spec, path, f"model alias '{model}' is not defined in environment '{env}'", hint
                )

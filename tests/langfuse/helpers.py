"""Helpers of the Langfuse store tests: keys, an injected sleep, tiny workspaces, reconcile."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.planner.plan import Plan
from engine.planner.planner import PlanOptions
from engine.providers.langfuse.http import RetryPolicy
from engine.providers.langfuse.store import LangfuseStoreProvider
from engine.providers.registry import Registry
from engine.reconcile import apply, make_plan, open_session, prepare
from engine.spec.workspace import load_workspace

PK_VAR, SK_VAR = "LANGFUSE_TEST_PK", "LANGFUSE_TEST_SK"


@dataclass
class Keys:
    public: str
    secret: str


class Sleeps(list[float]):
    """An injected `sleep`: records the delays instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def items(n: int, prefix: str = "q") -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "input": {"question": f"{prefix} {i}?"}, "expected_output": {
            "response_facts": [f"fact {i}"], "trajectory": ["search"]}}
        for i in range(n)
    ]  # fmt: skip


def lf_workspace(
    root: Path,
    url: str,
    data: list[dict[str, Any]],
    *,
    project: str | None = "agentops",
    public_key: str = f"env:{PK_VAR}",
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    env = f"""\
        apiVersion: agentops/v1
        kind: Environment
        metadata: {{name: tst}}
        spec:
          store: langfuse
          langfuse:
            host: {url}
            publicKey: {public_key}
            secretKey: env:{SK_VAR}
            {f"project: {project}" if project else ""}
        """
    (root / "environments").mkdir(exist_ok=True)
    (root / "environments" / "tst.yaml").write_text(textwrap.dedent(env))
    (root / "specs").mkdir(exist_ok=True)
    (root / "specs" / "golden.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: agentops/v1
            kind: Dataset
            metadata: {name: golden}
            spec:
              file: dataset.json
            """
        )
    )
    write_items(root, data)
    return root


def write_items(root: Path, data: list[dict[str, Any]]) -> None:
    (root / "dataset.json").write_text(json.dumps(data, indent=1))


def provider(page_size: int = 100, sleep: Sleeps | None = None) -> LangfuseStoreProvider:
    retry = RetryPolicy(sleep=sleep) if sleep is not None else RetryPolicy(sleep=lambda _s: None)
    return LangfuseStoreProvider(page_size=page_size, retry=retry)


def reconcile(
    root: Path, store: LangfuseStoreProvider, *, do_apply: bool = True
) -> tuple[Plan, Any]:
    """One plan (and apply when it has changes) with `store` as the Dataset provider."""
    ws = load_workspace(root)
    assert ws.ok, [str(d) for d in ws.diagnostics]
    with open_session(ws, "apply", registry=Registry([store], [])) as s:
        observed = prepare(s)
        plan = make_plan(s, PlanOptions(), observed)
        result = apply(s, plan) if do_apply and plan.has_changes else None
    return plan, result

"""Registry: which provider handles a node, from its kind and its environment's settings."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from engine.errors import UsageError
from engine.providers.base import JobProvider, ResourceProvider
from engine.spec.graph import GraphNode
from engine.spec.workspace import Workspace

Route = Callable[[GraphNode, Workspace], str]


def default_route(node: GraphNode, ws: Workspace) -> str:
    env_name = node.address.env or ""
    env = ws.environments[env_name].doc.spec
    if node.kind == "Agent":
        return "local-runtime" if env.runtime == "local" else "agentcore"
    if node.kind == "Dataset":
        return "local-store" if env.store == "local" else "langfuse-store"
    if node.kind in ("Experiment", "QualityGate"):
        return "local-eval"
    if node.kind == "LoadTest":
        return "locust"
    if node.kind == "Monitor":
        return "monitor"
    if node.kind == "EvaluationRule":
        return "langfuse-rules"
    raise UsageError(f"no provider for kind {node.kind}")


class Registry:
    def __init__(
        self,
        resources: Sequence[ResourceProvider],
        jobs: Sequence[JobProvider],
        route: Route = default_route,
    ) -> None:
        self.resources = {p.name: p for p in resources}
        self.jobs = {j.name: j for j in jobs}
        self.route = route

    @classmethod
    def default(cls, state_dir: Path) -> Registry:
        # agentcore imports boto3 only when it first talks to AWS (agentcore_aws.Aws), the
        # Langfuse store the SDK only when it first talks to Langfuse (langfuse_http).
        from engine.providers.agentcore.provider import AgentCoreProvider
        from engine.providers.langfuse.rules import LangfuseRuleProvider
        from engine.providers.langfuse.store import LangfuseStoreProvider
        from engine.providers.local.runtime import LocalRuntimeProvider
        from engine.providers.local.store import LocalStore, LocalStoreProvider

        store = LocalStore(state_dir / "store.sqlite")
        from engine.providers.runs.evaluation import LocalEvalProvider

        jobs: list[JobProvider] = [LocalEvalProvider(state_dir, store)]
        from engine.providers.runs.loadtest import LocustProvider

        jobs.append(LocustProvider(state_dir, store))
        from engine.providers.runs.monitor import MonitorProvider

        jobs.append(MonitorProvider(state_dir))
        resources: list[ResourceProvider] = [
            LocalRuntimeProvider(state_dir),
            AgentCoreProvider(state_dir),
            LocalStoreProvider(store),
            # imports the langfuse SDK only when a Langfuse dataset is touched
            LangfuseStoreProvider(state_dir),
            LangfuseRuleProvider(),
        ]
        return cls(resources, jobs)

    def resource_for(self, node: GraphNode, ws: Workspace) -> ResourceProvider:
        return self.resource_by_name(self.route(node, ws))

    def job_for(self, node: GraphNode, ws: Workspace) -> JobProvider:
        return self.job_by_name(self.route(node, ws))

    def resource_by_name(self, name: str) -> ResourceProvider:
        try:
            return self.resources[name]
        except KeyError:
            raise UsageError(f"provider '{name}' is not available") from None

    def job_by_name(self, name: str) -> JobProvider:
        try:
            return self.jobs[name]
        except KeyError:
            raise UsageError(
                f"run provider '{name}' is not available in this build",
                hint="narrow the plan with --target, or see the issue tracker",
            ) from None

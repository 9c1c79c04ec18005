"""Run inputs: the digest that decides whether an Experiment, QualityGate or LoadTest runs.

A run is up to date when its last successful result has the current inputs digest, which
covers the run's own spec, the digest of the agent it evaluates *as resolved in the run's
environment*, the dataset digest, the evaluators' code, and the digests of the agents the
evaluated agent calls (transitively) - for a QualityGate also those of the agents it
`covers:`, so its verdict is bound to every digest it covers (`engine.spec.coverage`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from engine.providers.base import Context, RunInputs
from engine.providers.local.traces import trace_store
from engine.providers.runs.monitor_source import langfuse_head, reads_langfuse
from engine.spec.addresses import Address
from engine.spec.coverage import CALLEE_KEY, COVERS_KEY, call_closure, vouched
from engine.spec.datasets import canonical_json, dataset_digest, sha256_hex
from engine.spec.digests import agent_attrs, digest_of, file_digest
from engine.spec.graph import GraphNode
from engine.spec.schema import EvaluatorRef
from engine.spec.schema.monitor import MonitorSpec
from engine.spec.workspace import Workspace

if TYPE_CHECKING:
    from engine.providers.langfuse.runs import LangfuseRunRecorder

ENGINE_EVALUATORS_VERSION = "1"


def evaluator_digest(ref: EvaluatorRef, ws: Workspace) -> str:
    if ".py:" in ref.use:
        rel = ref.use.rsplit(":", 1)[0]
        path = ws.root / rel
        return file_digest(path)[:16] if path.is_file() else "missing"
    return f"builtin-{ENGINE_EVALUATORS_VERSION}"


def run_inputs(node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
    if node.kind == "Monitor":  # its inputs include the trace store's head (its cursor)
        return monitor_inputs(node, ctx)
    ws = ctx.workspace
    spec = node.spec.doc.spec
    env = spec.environment
    agent = ws.agents[spec.agent].doc.spec
    # `maxRegression` and `baseline` judge a result against a baseline outside the run, and a
    # `budget` only decides whether it may start; none changes what the run measures (and
    # every existing run keeps its digest)
    dumped = spec.model_dump(
        mode="json", by_alias=True, exclude={"max_regression", "baseline", "budget"}
    )
    if dumped.get("covers") == []:  # a gate without `covers:` keeps the digest it had before
        del dumped["covers"]
    attrs: dict[str, Any] = {
        "spec": sha256_hex(canonical_json(dumped))[:16],
        "agent_digest": digest_of(agent_attrs(ws, agent, env)),
    }
    dataset = getattr(spec, "dataset", None)
    if dataset:
        attrs["dataset_digest"] = dataset_digest(ws.items.get(dataset, []))
    evaluators = list(getattr(spec, "evaluators", []) or [])
    grading = getattr(spec, "grading", None)
    if grading is not None:
        evaluators += list(grading.evaluators)
    for ev in evaluators:
        attrs[f"evaluator.{ev.label}"] = evaluator_digest(ev, ws)
    calls = {n: a.doc.spec.calls for n, a in ws.agents.items()}
    # Callees, transitively: a change anywhere in the calls graph changes what is evaluated.
    for callee in call_closure(calls, spec.agent):
        attrs[f"{CALLEE_KEY}{callee}"] = digests.get(Address("Agent", callee, env))
    if node.kind == "QualityGate":  # agents the gate vouches for: bound into its verdict
        for name in vouched(calls, spec):
            attrs[f"{COVERS_KEY}{name}"] = digests.get(Address("Agent", name, env))
    if node.kind == "LoadTest":
        attrs["prompts"] = sha256_hex(
            canonical_json(
                [p.model_dump(mode="json") for p in ws.prompts.get(node.address.name, [])]
            )
        )[:16]
    return RunInputs(digest=digest_of(attrs), attrs=attrs)


def monitor_inputs(node: GraphNode, ctx: Context, head: int | str | None = None) -> RunInputs:
    """Spec, evaluators, the agent's digest there, and the newest trace of the agent: new
    traffic makes the monitor due; no new trace, no run. The head is the local store's
    newest `seq`, or for agents whose traces are in Langfuse `<start time>/<trace id>` of
    the newest one there (one request: `monitor_source.langfuse_head`)."""
    spec: MonitorSpec = node.spec.doc.spec
    agent = ctx.workspace.agents[spec.agent].doc.spec
    if head is None:
        if reads_langfuse(ctx, spec.environment):
            head = langfuse_head(ctx, spec, str(node.address))
        else:
            head = trace_store(ctx.state_dir).head(spec.environment, spec.agent)
    attrs: dict[str, Any] = {
        "spec": sha256_hex(canonical_json(spec.model_dump(mode="json", by_alias=True)))[:16],
        "agent_digest": digest_of(agent_attrs(ctx.workspace, agent, spec.environment)),
        "traces_head": head,
    }
    for ev in spec.evaluators:
        attrs[f"evaluator.{ev.label}"] = evaluator_digest(ev, ctx.workspace)
    return RunInputs(digest=digest_of(attrs), attrs=attrs)


def langfuse_recorder(ctx: Context, env: str) -> LangfuseRunRecorder | None:
    """The run recorder of an environment with `store: langfuse` (its keys resolved and
    checked now, before any work), or None for the local store. The Langfuse SDK is
    imported only here, for environments that use it."""
    if ctx.workspace.environments[env].doc.spec.store != "langfuse":
        return None
    from engine.providers.langfuse.runs import LangfuseRunRecorder

    return LangfuseRunRecorder.for_environment(ctx, env)

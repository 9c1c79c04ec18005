"""Provider interfaces: standing resources and runs, behind one small vocabulary.

Shaped for the cloud as much as for the local machine: creation may be asynchronous
(CREATING -> READY, `wait_ready`), resources have provider ids and carry ownership tags
(workspace id, address, digest), every mutating call gets a deterministic idempotency token
that is recorded in state before the call, and SDK errors are translated at this boundary
into `TemporaryError(delay=...)` or `PermanentError` (see engine.errors).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from engine.evaluation.baseline_store import BaselineRef
from engine.spec.addresses import Address
from engine.spec.graph import GraphNode
from engine.spec.workspace import Workspace
from engine.state.model import PendingOp, ResourceState, RunRecord
from engine.state.sidecar import Sidecar
from engine.terminal import Terminal

#: the ownership tags a preview session adds to everything it creates (`Context.tags`), so a
#: sweeper finds what a killed preview left by tags alone, even where no state of it is left
TAG_PREVIEW = "agentops:preview"
#: the workspace id of the main state the preview was made from (the only one that sweeps it)
TAG_PREVIEW_OF = "agentops:preview-of"
#: when the preview started (seconds since the epoch): the sweeper's age
TAG_PREVIEW_STARTED = "agentops:preview-started"


@dataclass(frozen=True)
class Desired:
    """What a node should be: its digest, and the flat attributes diffs are computed on."""

    digest: str
    attrs: Mapping[str, Any]
    #: attribute names whose values are secret: rendered as (sensitive), changes still shown
    sensitive: frozenset[str] = frozenset()
    #: attributes whose change cannot be done in place (replace instead of update)
    replace_on: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Observed:
    """What really exists, normalised (no server timestamps, no per-version ARNs)."""

    exists: bool
    digest: str | None = None
    healthy: bool = True
    status: str = "ready"
    #: field -> (recorded, actual) for anything changed behind the engine's back
    drift: Mapping[str, tuple[Any, Any]] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Everything a provider call may use; passed explicitly, no globals."""

    workspace: Workspace
    state_dir: Path
    workspace_id: str
    #: outputs of resources already applied in this run or recorded in state, by address
    outputs: Callable[[str], Mapping[str, Any] | None] = lambda _address: None
    log: Callable[[str], None] = lambda _msg: None
    #: applies and plans may pass the invocation token etc. here
    extras: dict[str, Any] = field(default_factory=dict)
    #: set when the apply is interrupted (Ctrl-C): long runs stop early and tear down what
    #: they started (the applier's worker threads cannot receive KeyboardInterrupt)
    cancel: threading.Event = field(default_factory=threading.Event)
    #: where progress, tables and messages for a person go (live, plain or JSON lines)
    terminal: Terminal = field(default_factory=Terminal)
    #: run address -> the plan's cost estimate of it (`RunCost.to_json()`), set by apply:
    #: a run records it next to its actual usage (`summary["cost"]`)
    cost_estimates: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: the write-once objects beside the (main) state: verdicts and baselines; None: none
    sidecar: Sidecar | None = None
    #: a gate node -> the baseline its result is compared with (engine.evaluation.baseline_store)
    baseline_of: Callable[[GraphNode], BaselineRef | None] = lambda _node: None
    #: extra ownership tags on everything created (a preview's name, its parent workspace)
    tags: Mapping[str, str] = field(default_factory=dict)


class ResourceProvider(Protocol):
    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def desired(self, node: GraphNode, ctx: Context) -> Desired: ...

    def observe(self, prior: ResourceState, ctx: Context) -> Observed: ...

    def create(
        self, node: GraphNode, desired: Desired, token: str, ctx: Context
    ) -> ResourceState: ...

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState: ...

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None: ...

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        """Resolve an operation a crash interrupted: adopt, finish or roll back.

        Returns the resource as it now really is (adopted), or None when nothing of it
        exists (a create that never happened, a delete that finished).
        """
        ...


@dataclass(frozen=True)
class RunInputs:
    digest: str
    attrs: Mapping[str, Any]


@dataclass
class RunResult:
    status: str  # "succeeded" | "failed"
    summary: dict[str, Any]
    message: str | None = None
    #: the inputs the run really consumed, when they moved on after the plan (a Monitor
    #: reads the traces that arrived while earlier actions ran): recorded instead of the
    #: planned ones, so the next plan compares with what was judged
    consumed: RunInputs | None = None
    #: a failed run that ran to a verdict (a gate's checks, an SLO, a Monitor's window): the
    #: tool worked and the agent did not meet its bar; False for a run that broke
    verdict: bool = False


class JobProvider(Protocol):
    """Experiments, gates, load tests: started, waited for, cancelled.

    Whether a run is due is decided from its inputs digest (`engine.providers.runs.inputs`), which
    is the same whatever provider runs it.
    """

    name: ClassVar[str]
    kinds: ClassVar[frozenset[str]]

    def inputs(
        self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]
    ) -> RunInputs: ...

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        """Start, wait for and return the result; cancel everything on interruption."""
        ...

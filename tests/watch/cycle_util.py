"""A watch `Cycle` on the fake provider, a fake clock and a recording log."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from engine.providers.base import Context, RunInputs, RunResult
from engine.providers.fake import FakeCall, FakeProvider
from engine.providers.registry import Registry
from engine.spec.addresses import Address
from engine.spec.digests import digest_of
from engine.spec.graph import GraphNode
from engine.state.model import RunRecord
from engine.watcher.backoff import BackoffPolicy, BackoffTable
from engine.watcher.cycle import Cycle, WatchOptions
from engine.watcher.report import WatchReport
from tests.watch.fakes import FakeClock

GATE = """\
apiVersion: agentops/v1
kind: QualityGate
metadata: {name: release}
spec:
  agent: a-0
  dataset: d-0
  environment: dev
  evaluators:
    - use: refusal
      threshold: {passRate: 1.0}
"""


@dataclass
class ListLog:
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def _add(self, level: str, event: str, kw: dict[str, Any]) -> None:
        self.events.append((level, event, kw))

    def debug(self, event: str, **kw: Any) -> None:
        self._add("debug", event, kw)

    def info(self, event: str, **kw: Any) -> None:
        self._add("info", event, kw)

    def warning(self, event: str, **kw: Any) -> None:
        self._add("warning", event, kw)

    def error(self, event: str, **kw: Any) -> None:
        self._add("error", event, kw)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kw for _lvl, ev, kw in self.events if ev == name]


class FakeGate:
    """A QualityGate run provider whose verdict the test sets."""

    name: ClassVar[str] = "fake-jobs"
    kinds: ClassVar[frozenset[str]] = frozenset({"QualityGate"})

    def __init__(self) -> None:
        self.runs = 0
        self.status = "failed"

    def inputs(self, node: GraphNode, ctx: Context, digests: Mapping[Address, str]) -> RunInputs:
        spec = node.spec.doc.spec
        attrs = {
            "agent_digest": digests.get(Address("Agent", spec.agent, spec.environment)),
            "dataset": digests.get(Address("Dataset", spec.dataset, spec.environment)),
        }
        return RunInputs(digest=digest_of(attrs), attrs=attrs)

    def run(
        self, node: GraphNode, inputs: RunInputs, ctx: Context, prior: RunRecord | None
    ) -> RunResult:
        self.runs += 1
        message = None if self.status == "succeeded" else "pass rate 0.2 < 1.0"
        return RunResult(self.status, {"agent_digest": inputs.attrs["agent_digest"]}, message)


@dataclass
class Rig:
    root: Path
    cycle: Cycle
    clock: FakeClock
    log: ListLog
    fake: FakeProvider
    gate: FakeGate
    stop: list[bool]

    def run(self, trigger: str = "change") -> dict[str, Any]:
        self.cycle.reconcile(trigger, [])
        return self.log.named("reconcile")[-1]

    def ops(self, *ops: str) -> list[tuple[str, str]]:
        return [(c.op, c.address) for c in self.fake.calls if c.op in ops]


def rig(
    root: Path,
    *,
    prune: bool = False,
    prune_grace: float = 30.0,
    handler: Callable[[FakeCall], None] | None = None,
    policy: BackoffPolicy | None = None,
) -> Rig:
    fake = FakeProvider(root / "world.json", handler)
    gate = FakeGate()
    registry = Registry(
        [fake], [gate], route=lambda n, _w: "fake-jobs" if n.kind == "QualityGate" else "fake"
    )
    clock, log, stop = FakeClock(), ListLog(), [False]
    report = WatchReport(root / ".agentops" / "watch.json", "t0", str(root), {})
    cycle = Cycle(
        root,
        WatchOptions(prune=prune, prune_grace=prune_grace, parallelism=1),
        registry=registry,
        clock=clock,
        log=log,
        report=report,
        backoff=BackoffTable(policy or BackoffPolicy(base=1.0, cap=60.0, jitter=0.0), lambda: 0.0),
        stop=lambda: stop[0],
    )
    return Rig(root, cycle, clock, log, fake, gate, stop)

"""Which changes a watch cycle may run: per-resource observation, back-off and healing filters.

Pipeline role: between `reconcile.prepare` and `reconcile.apply` in watch mode. The planner
stays pure and unaware of the watcher; the watcher narrows the plan it made:

- `observe_each` observes resource by resource, so one provider that cannot be reached
  puts its resources in back-off instead of failing the whole cycle.
- `defer` takes resources in back-off out of the plan, with everything that depends on
  them (they would only fail as "upstream failed"). Why a filter and not `--target`:
  targets select a closure to *include*; back-off needs the complement, and deferring
  dependents keeps their state untouched until their upstream can be retried.
- `healing_only` keeps just what restores recorded state (drifted or tainted resources),
  for a resync while the workspace does not validate: nothing is created, replaced by a
  new version, run or deleted because of a broken save.
- `PruneGrace` holds back the deletions of `--prune` until a resource has been undeclared
  for a grace period: a spec file that vanishes for a moment (a `git checkout`, an editor
  that deletes and rewrites) must not delete and re-create agents. Only cycles of a
  workspace that validated see these deletions at all, so a deletion happens only when
  the workspace parsed completely at that moment, as well as `grace` seconds before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Set

from engine.errors import ProviderError, TemporaryError, UsageError
from engine.planner.plan import Action, Plan, Reason
from engine.planner.planner import RESOURCE_KINDS
from engine.providers.base import Observed
from engine.reconcile import Session

_HEALING = frozenset({Reason.DRIFTED, Reason.TAINTED})


class PruneGrace:
    """When each address was first seen undeclared, and which of their deletions are due."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        #: address -> monotonic time a validated cycle first found it undeclared
        self.since: dict[str, float] = {}

    def hold(self, plan: Plan, now: float) -> tuple[Plan, dict[str, float]]:
        """The plan without deletions still in their grace period (and what depends on
        them); and those addresses with the monotonic time their grace ends.

        Call with the plan of every cycle that prunes: an address no longer among its
        deletions (declared again, or gone from state) starts from zero next time.
        """
        pruned = {
            c.address
            for c in plan.changes
            if c.action is Action.DELETE and any(r.code is Reason.ORPHANED for r in c.reasons)
        }
        self.since = {a: t for a, t in self.since.items() if a in pruned}
        for address in pruned:
            self.since.setdefault(address, now)
        waiting = {a: t + self.grace for a, t in self.since.items() if now < t + self.grace}
        held, _ = defer(plan, set(waiting))
        return held, waiting


@dataclasses.dataclass(frozen=True)
class ObserveFailure:
    message: str
    retry_after: float | None = None


def observe_each(
    s: Session, skip: Set[str]
) -> tuple[dict[str, Observed], dict[str, ObserveFailure]]:
    """Observations of recorded resources (except `skip`), and the ones that failed."""
    observed: dict[str, Observed] = {}
    failed: dict[str, ObserveFailure] = {}
    for address, res in s.state.resources.items():
        if address in skip:
            continue
        try:
            observed[address] = s.registry.resource_by_name(res.provider).observe(res, s.ctx)
        except UsageError:
            continue  # a provider this build lacks: as `prepare` does, plan without observing
        except ProviderError as exc:
            delay = exc.delay if isinstance(exc, TemporaryError) else None
            failed[address] = ObserveFailure(f"observe failed: {exc}", delay)
        except Exception as exc:  # noqa: BLE001 - one broken observation must not stop the rest
            failed[address] = ObserveFailure(f"observe failed: {type(exc).__name__}: {exc}")
    return observed, failed


def defer(plan: Plan, waiting: Set[str]) -> tuple[Plan, list[str]]:
    """The plan without changes of `waiting` addresses and their dependents."""
    out: set[str] = set()
    grew = True
    while grew:  # to a fixpoint: the order of `changes` need not be topological
        grew = False
        for c in plan.changes:
            if c.address in out or c.action is Action.NOOP:
                continue
            deps = {*c.depends_on, *([c.blocked_by] if c.blocked_by else [])}
            if c.address in waiting or deps & out:
                out.add(c.address)
                grew = True
    return _without(plan, out)


def healing_only(plan: Plan) -> tuple[Plan, list[str]]:
    """The plan with only the changes that restore drifted or tainted resources."""
    held = {
        c.address
        for c in plan.changes
        if c.action is not Action.NOOP
        and not (
            c.kind in RESOURCE_KINDS
            and c.action in (Action.CREATE, Action.UPDATE, Action.REPLACE)
            and c.reasons
            and all(r.code in _HEALING for r in c.reasons)
        )
    }
    return _without(plan, held)


def _without(plan: Plan, drop: Set[str]) -> tuple[Plan, list[str]]:
    kept = [c for c in plan.changes if c.address not in drop]
    dropped = [c.address for c in plan.changes if c.address in drop]
    return dataclasses.replace(plan, changes=kept), dropped

"""The Plan: ordered changes with verbs, reasons, field diffs and dependencies.

The same structure feeds every renderer (text, markdown, JSON) and is what `plan --out`
saves and `apply PLANFILE` executes. JSON format version: `PLAN_FORMAT` (the cost
estimates, `cost` on a run and on the plan, were added without a new version: old plan files
have none, and readers ignore keys they do not know; docs/plan-format.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from engine.planner.cost_model import EnvBudget, RunCost

PLAN_FORMAT = 1
SENSITIVE = "(sensitive)"


class Action(StrEnum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    RUN = "run"
    BLOCKED = "blocked"


class Reason(StrEnum):
    NEW = "new"
    SPEC_CHANGED = "spec changed"
    DRIFTED = "drifted"
    ORPHANED = "orphaned"
    INPUTS_CHANGED = "inputs changed"
    NEVER_RUN = "never run"
    LAST_RUN_FAILED = "last run failed"
    TAINTED = "tainted"
    FORCED = "forced"
    GATE = "waits for gate"
    #: an agent in an environment a gate promotes that no gate covers
    UNGATED = "no gate covers it"
    DESTROY = "destroy requested"


@dataclass(frozen=True)
class FieldDiff:
    path: str
    old: Any
    new: Any
    sensitive: bool = False

    def shown(self) -> tuple[Any, Any]:
        if self.sensitive:
            return (
                SENSITIVE if self.old is not None else None,
                SENSITIVE if self.new is not None else None,
            )
        return self.old, self.new


@dataclass(frozen=True)
class ReasonEntry:
    code: Reason
    detail: str = ""

    def text(self) -> str:
        return f"{self.code.value}: {self.detail}" if self.detail else self.code.value


@dataclass
class Change:
    address: str
    kind: str
    action: Action
    provider: str
    reasons: list[ReasonEntry] = field(default_factory=list)
    field_diffs: list[FieldDiff] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    #: desired digest (resources) or inputs digest (runs)
    digest: str | None = None
    prior_digest: str | None = None
    #: for BLOCKED: the gate this waits for, and whether that gate runs in this plan
    blocked_by: str | None = None
    unblocks_if_gate_passes: bool = False
    #: for BLOCKED: the verb it becomes once the gate passed (create or update)
    then: Action | None = None
    #: for RUN: the estimate of what it costs (and whether apply refuses to start it)
    cost: RunCost | None = None

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["cost"] = self.cost.to_json() if self.cost is not None else None
        d["action"] = self.action.value
        d["then"] = self.then.value if self.then else None
        d["reasons"] = [{"code": r.code.value, "detail": r.detail} for r in self.reasons]
        d["field_diffs"] = [
            {"path": f.path, "old": f.shown()[0], "new": f.shown()[1], "sensitive": f.sensitive}
            for f in self.field_diffs
        ]
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Change:
        return cls(
            address=d["address"],
            kind=d["kind"],
            action=Action(d["action"]),
            provider=d["provider"],
            reasons=[ReasonEntry(Reason(r["code"]), r["detail"]) for r in d["reasons"]],
            field_diffs=[
                FieldDiff(f["path"], f["old"], f["new"], f["sensitive"]) for f in d["field_diffs"]
            ],
            depends_on=list(d["depends_on"]),
            digest=d["digest"],
            prior_digest=d["prior_digest"],
            blocked_by=d["blocked_by"],
            unblocks_if_gate_passes=d["unblocks_if_gate_passes"],
            then=Action(d["then"]) if d.get("then") else None,
            cost=RunCost.from_json(d["cost"]) if d.get("cost") else None,
        )


@dataclass
class Plan:
    changes: list[Change]
    lineage: str
    prior_serial: int
    workspace_digest: str
    destroy: bool = False
    prune: bool = False
    #: `plan --refresh-only`: the changes are state edits (accept an observation), not actions
    refresh_only: bool = False
    envs: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: each Environment budget against the sum of the plan's runs there
    budgets: list[EnvBudget] = field(default_factory=list)

    @property
    def actionable(self) -> list[Change]:
        return [c for c in self.changes if c.action is not Action.NOOP]

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        out = {a.value: 0 for a in Action}
        for c in self.changes:
            out[c.action.value] += 1
        return out

    @property
    def costs(self) -> list[tuple[Change, RunCost]]:
        return [(c, c.cost) for c in self.changes if c.cost is not None]

    def cost_json(self) -> dict[str, Any] | None:
        """The plan's totals: None when no run in it is estimated."""
        costs = [r for _c, r in self.costs]
        if not costs:
            return None
        tokens = [r.total_tokens for r in costs]
        amounts: dict[str, float] | None = {}
        for r in costs:
            if amounts is None or r.amount is None:
                amounts = None
                continue
            amounts[r.currency] = amounts.get(r.currency, 0.0) + r.amount
        return {
            "runs": len(costs),
            "invocations": sum(r.invocations for r in costs),
            "judge_calls": sum(r.judge_calls for r in costs),
            "total_tokens": None if None in tokens else sum(t or 0 for t in tokens),
            "amounts": amounts,
            "refused": [c.address for c, r in self.costs if r.refused],
            "budgets": [b.to_json() for b in self.budgets],
        }

    def to_json(self) -> dict[str, Any]:
        out = self._json()
        if self.refresh_only:  # only then: every other plan's JSON is as it always was
            out["refresh_only"] = True
        return out

    def _json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT,
            "lineage": self.lineage,
            "prior_serial": self.prior_serial,
            "workspace_digest": self.workspace_digest,
            "destroy": self.destroy,
            "prune": self.prune,
            "envs": self.envs,
            "targets": self.targets,
            "summary": self.counts(),
            "warnings": self.warnings,
            "cost": self.cost_json(),
            "changes": [c.to_json() for c in self.changes],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Plan:
        if d.get("format_version") != PLAN_FORMAT:
            raise ValueError(f"plan format {d.get('format_version')!r} is not {PLAN_FORMAT}")
        return cls(
            changes=[Change.from_json(c) for c in d["changes"]],
            lineage=d["lineage"],
            prior_serial=d["prior_serial"],
            workspace_digest=d["workspace_digest"],
            destroy=d["destroy"],
            prune=d["prune"],
            refresh_only=bool(d.get("refresh_only", False)),
            envs=d["envs"],
            targets=d["targets"],
            warnings=d["warnings"],
            budgets=[EnvBudget.from_json(b) for b in (d.get("cost") or {}).get("budgets", [])],
        )

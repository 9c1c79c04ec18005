"""Langfuse evaluation rules: a Monitor's hosted judges as a standing resource.

Pipeline role: the `ResourceProvider` for `evaluationrule.<monitor>[env]`, the node the
graph adds for a Monitor with `langfuse:<score>` evaluators in a `store: langfuse`
environment (`engine.spec.graph.rule_of`). The rule makes Langfuse run its evaluators on
the agent's traces as they arrive (the host exports them, `engine.runtime.trace_export`);
the Monitor run then reads those scores on the traces it sampled (`monitor_langfuse`).

* desired: the rule's name (`agentops <address> <workspace id>`: rules have no metadata, so
  the name is the ownership tag; only a rule with our name is updated or deleted), enabled,
  the monitor's sampling, a filter on the environment, the agent (trace name), the sources
  and tags (trace tags), the status (level), root observations only - and the evaluators,
  by the score names they produce (an evaluator is found by its name);
* observe: `GET /api/public/v2/evaluation-rules/{id}`; a rule edited in the UI (sampling,
  enabled, filter, evaluators, name) drifts and `apply` writes the spec's version back;
  a deleted one is re-created;
* create: adopts a rule with our name if a crash left one, else creates it; update: one
  PATCH with every field; delete: `DELETE`, only for a rule named ours.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from engine.errors import PermanentError
from engine.providers.base import Context, Desired, Observed
from engine.providers.langfuse.http import LangfuseConnection, LangfuseTarget
from engine.providers.langfuse.store import target_for
from engine.spec.digests import digest_of
from engine.spec.graph import GraphNode, rule_of
from engine.spec.schema.monitor import MonitorSpec
from engine.state.model import PendingOp, ResourceState

PAGE = 100


def rule_name(address: str, workspace_id: str) -> str:
    return f"agentops {address} {workspace_id}"


def rule_filter(spec: MonitorSpec) -> list[dict[str, Any]]:
    """The rule's filter: what the host's spans carry (`trace_export.span_attributes`)."""
    f = spec.filters
    out: list[dict[str, Any]] = [
        {"type": "stringOptions", "column": "environment", "operator": "any of",
         "value": [spec.environment]},
        {"type": "stringOptions", "column": "traceName", "operator": "any of",
         "value": [spec.agent]},
        {"type": "arrayOptions", "column": "tags", "operator": "any of",
         "value": sorted(f.sources)},
        {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
    ]  # fmt: skip
    if f.tags:
        out.append(
            {"type": "arrayOptions", "column": "tags", "operator": "all of",
             "value": sorted(f.tags)}
        )  # fmt: skip
    if f.status != "any":
        op = "any of" if f.status == "error" else "none of"
        out.append({"type": "stringOptions", "column": "level", "operator": op, "value": ["ERROR"]})
    return out


def _page(method: Any, cursor: str | None, options: Mapping[str, Any]) -> Any:
    return method(limit=PAGE, cursor=cursor, request_options=options)


def _canonical(filters: Sequence[Any]) -> str:
    rows = []
    for item in filters:
        d = item if isinstance(item, Mapping) else item.model_dump(mode="json", by_alias=True)
        rows.append({k: d.get(k) for k in ("type", "column", "key", "operator", "value")})
    return json.dumps(rows, sort_keys=True)


class LangfuseRuleProvider:
    name: ClassVar[str] = "langfuse-rules"
    kinds: ClassVar[frozenset[str]] = frozenset({"EvaluationRule"})

    def __init__(self, *, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._connections: dict[LangfuseTarget, LangfuseConnection] = {}

    def connection(self, target: LangfuseTarget) -> LangfuseConnection:
        conn = self._connections.get(target)
        if conn is None:
            conn = self._connections[target] = LangfuseConnection(target, timeout=self.timeout)
        return conn

    # --- desired / observe ------------------------------------------------------------
    def desired(self, node: GraphNode, ctx: Context) -> Desired:
        spec: MonitorSpec = node.spec.doc.spec
        target = target_for(ctx, spec.environment, str(node.address))
        attrs = {
            "name": rule_name(str(node.address), ctx.workspace_id),
            "enabled": True,
            "sampling": spec.sampling,
            "filter": _canonical(rule_filter(spec)),
            "evaluators": sorted(rule_of(ctx.workspace, spec) or []),
            "langfuse": target.shown_host,
        }
        return Desired(digest=digest_of(attrs), attrs=attrs, replace_on=frozenset({"langfuse"}))

    def observe(self, prior: ResourceState, ctx: Context) -> Observed:
        conn = self.connection(LangfuseTarget.from_json(prior.private["target"]))
        rule = self._get(conn, str(prior.private["rule_id"]))
        if rule is None:
            return Observed(exists=False, healthy=False, status="missing in Langfuse")
        ids: dict[str, str] = dict(prior.private["evaluator_ids"])
        names = {v: k for k, v in ids.items()}
        actual = {
            "name": rule.name,
            "enabled": rule.enabled,
            "sampling": float(rule.sampling),
            "filter": _canonical(rule.filter),
            "evaluators": sorted(
                names.get(a.evaluator_id, f"evaluator {a.evaluator_id}")
                for a in rule.evaluator_assignments
            ),
        }
        drift = {k: (prior.attrs.get(k), v) for k, v in actual.items() if prior.attrs.get(k) != v}
        return Observed(exists=True, digest=prior.digest, drift=drift, outputs=prior.outputs)

    # --- create / update / delete -----------------------------------------------------
    def create(self, node: GraphNode, desired: Desired, token: str, ctx: Context) -> ResourceState:
        return self._write(node, desired, ctx, rule_id=None)

    def update(
        self, node: GraphNode, desired: Desired, prior: ResourceState, token: str, ctx: Context
    ) -> ResourceState:
        return self._write(node, desired, ctx, rule_id=str(prior.private["rule_id"]))

    def _write(
        self, node: GraphNode, desired: Desired, ctx: Context, rule_id: str | None
    ) -> ResourceState:
        from langfuse.api.evaluation_rules import EvaluationRuleEvaluatorAssignmentInput

        address = str(node.address)
        spec: MonitorSpec = node.spec.doc.spec
        target = target_for(ctx, spec.environment, address)
        conn = self.connection(target)
        ids = self._evaluator_ids(conn, list(desired.attrs["evaluators"]), address)
        name = str(desired.attrs["name"])
        fields: dict[str, Any] = {
            "name": name,
            "enabled": True,
            "sampling": spec.sampling,
            "filter": rule_filter(spec),
            "evaluator_assignments": [
                EvaluationRuleEvaluatorAssignmentInput(evaluator_id=ids[s]) for s in sorted(ids)
            ],
        }
        rules = conn.api.evaluation_rules
        existing = self._get(conn, rule_id) if rule_id else self._find(conn, name)
        if existing is None:
            rule = conn.call(
                f"create evaluation rule {name}",
                lambda o: rules.create(**fields, request_options=o),
            )
        else:
            rid = str(existing.id)
            rule = conn.call(
                f"update evaluation rule {name}",
                lambda o: rules.update(rid, **fields, request_options=o),
            )
        ctx.log(f"{address}: Langfuse evaluation rule {rule.id} ({', '.join(sorted(ids))})")
        return ResourceState(
            address=address,
            kind="EvaluationRule",
            provider=self.name,
            provider_id=f"{conn.project.id}/{rule.id}",
            digest=desired.digest,
            attrs=dict(desired.attrs),
            outputs={"rule_id": str(rule.id), "project_id": conn.project.id},
            private={"target": target.to_json(), "rule_id": str(rule.id), "evaluator_ids": ids},
        )

    def delete(self, prior: ResourceState, token: str, ctx: Context) -> None:
        conn = self.connection(LangfuseTarget.from_json(prior.private["target"]))
        rid = str(prior.private["rule_id"])
        rule = self._get(conn, rid)
        if rule is None or rule.name != prior.attrs.get("name"):
            return  # gone already, or renamed in the UI: not ours to delete any more
        conn.find(
            f"delete evaluation rule {rid}",
            lambda o: conn.api.evaluation_rules.delete(rid, request_options=o),
        )

    def recover(
        self, pending: PendingOp, prior: ResourceState | None, ctx: Context
    ) -> ResourceState | None:
        # An interrupted create is adopted by name by the next create; an update or delete
        # is finished by the next plan (observe shows what the crash left).
        return prior

    # --- reads ------------------------------------------------------------------------
    def _get(self, conn: LangfuseConnection, rule_id: str) -> Any:
        return conn.find(
            f"GET evaluation rule {rule_id}",
            lambda o: conn.api.evaluation_rules.get(rule_id, request_options=o),
        )

    def _find(self, conn: LangfuseConnection, name: str) -> Any:
        for rule in self._list(conn, "evaluation rules", conn.api.evaluation_rules.list):
            if rule.name == name:
                return rule
        return None

    def _evaluator_ids(
        self, conn: LangfuseConnection, scores: Sequence[str], address: str
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        for ev in self._list(conn, "evaluators", conn.api.evaluators.list):
            found.setdefault(str(ev.name), str(ev.id))  # newest first: the newest wins
        missing = [s for s in scores if s not in found]
        if missing:
            raise PermanentError(
                f"{address}: Langfuse project {conn.project.name} has no evaluator named "
                + ", ".join(f"'{m}'" for m in missing),
                hint="create it in Langfuse (Evaluators > new, named after the score it "
                "produces), or use a local evaluator",
            )
        return {s: found[s] for s in scores}

    def _list(self, conn: LangfuseConnection, what: str, method: Any) -> list[Any]:
        out: list[Any] = []
        cursor: str | None = None
        while True:
            page = conn.call(f"list {what}", functools.partial(_page, method, cursor))
            out.extend(page.data)
            cursor = page.meta.cursor
            if not cursor or not page.data:
                return out

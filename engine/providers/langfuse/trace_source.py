"""An agent's traces read back from Langfuse, for the Monitors of agents on AgentCore.

Pipeline role: the remote trace source of `engine.providers.runs.monitor`. AgentCore agents
in a `store: langfuse` environment export their OpenTelemetry spans straight to Langfuse
(`agents/agentkit/telemetry.py`); nothing of theirs reaches the local trace store. A trace
here is the agent's *entry observation*: the invocation's first span (Strands'
`invoke_agent`), which agentkit marks with the trace name (the agent), the Langfuse
environment, tags (the source) and metadata (env, agent, address, digest, source), and as
the application root, so a caller's `traceparent` does not hide it.

The read endpoint is `GET /api/public/v2/observations`: with OTLP ingestion (and the
exporter's `x-langfuse-ingestion-version: 4`) it is the real-time read path Langfuse
documents; `/api/public/traces` and v1 observations may lag by ~10 minutes, which would
make a Monitor judge a window that is not there yet. One structured `filter` (it takes
precedence over the query parameters): start time in `[from, to)`, environment, trace name,
root observations only; field groups `core,basic,io,metadata,usage,metrics,trace_context`
(no `model`, `prompt`, `time`); cursor pagination.

Order: the rows of a range are collected (up to a bound) and sorted here by (start time,
trace id), so nothing depends on the order Langfuse pages in. `head` asks for one row and
takes it as the newest: Langfuse lists v2 observations newest first.

Trajectory (`trajectories`): the tool calls are the agent's tool observations - Strands'
`execute_tool <name>` spans, which Langfuse ingests as type TOOL named after
`gen_ai.tool.name`, their input the tool message event (`[{"role": "tool", "content":
"<the arguments as JSON>", "id": ...}]`) or, with Strands' latest GenAI conventions,
`gen_ai.input.messages` parts / `gen_ai.tool.call.arguments`. They are read with the same
paged endpoint in ONE query for the whole range the page of traces covers (not one per
trace: v2 observations filter a trace id by equality only): type TOOL, the environment,
start time within [first trace's start, last trace's end], and observation metadata
`agent` = the agent (agentkit marks every span of the agent with it, so the tool spans of an
agent it called, which join the same trace, are not its). Rows are kept for the traces
read, in start order, as `{"tool": name, "input": {arguments}}` - the agents' own answer
shape, what trajectory-based evaluators and `agentops traces` read.

Mapping (`trace_of`): the trace id is the Langfuse trace id (the agent's OTel trace id);
the input is the user's text of the observation's input (Strands' `gen_ai.user.message`
content, a JSON list of content blocks, or a plain string), the output the assistant's text,
the latency the observation's (`latency`, seconds, else end - start), status `error` for
level ERROR (the status message is the error), usage from `usageDetails`; source, digest
and address from the metadata agentkit sets, falling back to the first known source among
the tags and to `production`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.monitoring.model import Trace
from engine.providers.langfuse.http import LangfuseConnection

PAGE = 500
FIELDS = "core,basic,io,metadata,usage,metrics,trace_context"
TOOL_FIELDS = "core,basic,io"
TOOL_PREFIX = "execute_tool "
SOURCES = ("production", "loadtest", "evaluation", "experiment", "monitor")


@dataclass(frozen=True)
class Read:
    """Traces of a range, oldest first; `truncated` when the bound cut the range short."""

    traces: list[Trace]
    truncated: bool
    requests: int


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


def _epoch(value: object) -> float:
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return when.timestamp()
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


class LangfuseTraces:
    """The traces of one agent in one environment's Langfuse project."""

    def __init__(self, conn: LangfuseConnection, *, env: str, agent: str) -> None:
        self.conn = conn
        self.env = env
        self.agent = agent

    def _filter(self, since: float | None, until: float) -> str:
        conds: list[dict[str, Any]] = [
            {"type": "datetime", "column": "startTime", "operator": "<", "value": _iso(until)},
            {"type": "stringOptions", "column": "environment", "operator": "any of",
             "value": [self.env]},
            {"type": "string", "column": "traceName", "operator": "=", "value": self.agent},
            {"type": "boolean", "column": "isRootObservation", "operator": "=", "value": True},
        ]  # fmt: skip
        if since is not None:
            conds.insert(
                0,
                {"type": "datetime", "column": "startTime", "operator": ">=",
                 "value": _iso(since)},
            )  # fmt: skip
        return json.dumps(conds)

    def _page(self, flt: str, fields: str, limit: int, cursor: str | None) -> Any:
        return self.conn.call(
            f"list the traces of agent {self.agent}",
            lambda o: self.conn.api.observations.get_many(
                fields=fields, limit=limit, cursor=cursor, filter=flt, request_options=o
            ),
        )

    def head(self, until: float) -> tuple[float, str] | None:
        """(start time, trace id) of the newest trace started before `until`: one request."""
        got = self._page(self._filter(None, until), "core", 1, None)
        if not got.data:
            return None
        obs = got.data[0]
        return _epoch(obs.start_time), str(obs.trace_id or obs.id)

    def read(self, after: tuple[float, str] | None, since: float, until: float, bound: int) -> Read:
        """The traces after `after` (by start time, then id) started in `[since, until)`,
        oldest first; at most `bound` rows are collected."""
        start = since if after is None else max(since, after[0])
        flt = self._filter(start, until)
        rows: dict[str, Trace] = {}
        cursor: str | None = None
        requests, truncated = 0, False
        while True:
            got = self._page(flt, FIELDS, PAGE, cursor)
            requests += 1
            for obs in got.data:
                t = trace_of(obs, self.env, self.agent)
                if after is None or (t.started_at, t.trace_id) > after:
                    rows.setdefault(t.trace_id, t)  # one entry per trace
            cursor = got.meta.cursor
            if not cursor:
                break
            if len(rows) >= bound:
                truncated = True
                break
        ordered = sorted(rows.values(), key=lambda t: (t.started_at, t.trace_id))
        if len(ordered) > bound:  # the newest `bound` are kept, as for local traces
            ordered, truncated = ordered[-bound:], True
        calls, more = self.trajectories(ordered)
        traced = [
            dataclasses.replace(t, trajectory=calls[t.trace_id]) if t.trace_id in calls else t
            for t in ordered
        ]
        return Read(traced, truncated, requests + more)

    def trajectories(self, traces: Sequence[Trace]) -> tuple[dict[str, list[Any]], int]:
        """The tool calls of `traces` by trace id, and the requests it took (module doc)."""
        if not traces:
            return {}, 0
        ids = {t.trace_id for t in traces}
        first = min(t.started_at for t in traces)
        last = max(t.started_at + t.latency_ms / 1000.0 for t in traces)
        conds = [
            {"type": "datetime", "column": "startTime", "operator": ">=", "value": _iso(first)},
            # a millisecond over: the end is a rounded latency, and a tool starts before it
            {"type": "datetime", "column": "startTime", "operator": "<=",
             "value": _iso(last + 0.001)},
            {"type": "stringOptions", "column": "environment", "operator": "any of",
             "value": [self.env]},
            {"type": "string", "column": "type", "operator": "=", "value": "TOOL"},
            {"type": "stringObject", "column": "metadata", "key": "agent", "operator": "=",
             "value": self.agent},
        ]  # fmt: skip
        flt = json.dumps(conds)
        #: trace id -> observation id -> (start time, call): one entry per observation
        found: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {}
        cursor: str | None = None
        requests = 0
        while True:
            got = self._page(flt, TOOL_FIELDS, PAGE, cursor)
            requests += 1
            for obs in got.data:
                trace_id = str(obs.trace_id or "")
                if trace_id in ids:
                    at = _epoch(obs.start_time)
                    found.setdefault(trace_id, {})[str(obs.id)] = (at, tool_call(obs))
            cursor = got.meta.cursor
            if not cursor:
                break
        ordered = {
            tid: [call for _oid, (_at, call) in sorted(rows.items(), key=lambda r: (r[1][0], r[0]))]
            for tid, rows in found.items()
        }
        return ordered, requests


def trace_of(obs: Any, env: str, agent: str) -> Trace:
    """A Langfuse v2 observation (the agent's entry) as a Monitor's `Trace`."""
    meta: Mapping[str, Any] = obs.metadata if isinstance(obs.metadata, Mapping) else {}
    tags = [str(t) for t in obs.tags or []]
    source = str(meta.get("source") or next((t for t in tags if t in SOURCES), "production"))
    started = _epoch(obs.start_time)
    if obs.latency is not None:
        latency_ms = float(obs.latency) * 1000.0
    elif obs.end_time is not None:
        latency_ms = max(0.0, (_epoch(obs.end_time) - started) * 1000.0)
    else:
        latency_ms = 0.0
    failed = str(obs.level or "") == "ERROR"
    return Trace(
        seq=0,
        trace_id=str(obs.trace_id or obs.id),
        env=env,
        agent=agent,
        address=str(meta.get("address") or f"agent.{agent}[{env}]"),
        digest=str(meta.get("digest") or ""),
        source=source,
        session_id=obs.session_id,
        started_at=started,
        latency_ms=latency_ms,
        status="error" if failed else "ok",
        http_status=500 if failed else 200,
        input=text_of(obs.input, "user"),
        # Strands' `gen_ai.choice` is `str(AgentResult)`, which ends with a newline
        output=None if failed else text_of(obs.output, "assistant").strip() or None,
        trajectory=[],
        usage=dict(obs.usage_details or {}),
        error=(obs.status_message or "the invocation failed") if failed else None,
        tags=[t for t in tags if t != source],  # the source is a tag only in Langfuse
    )


def tool_call(obs: Any) -> dict[str, Any]:
    """A tool observation as a trajectory entry: `{"tool": name, "input": {arguments}}`."""
    name = str(obs.name or "")
    if name.startswith(TOOL_PREFIX):  # the span's own name, when Langfuse kept it
        name = name[len(TOOL_PREFIX) :]
    return {"tool": name, "input": arguments_of(obs.input)}


def arguments_of(value: object) -> dict[str, Any]:
    """The arguments of a tool observation's input: the tool message's JSON content (Strands'
    `gen_ai.tool.message` event), a `tool_call` part's `arguments` (latest conventions), or
    the arguments object itself (`gen_ai.tool.call.arguments`); {} when there are none."""
    value = _parsed(value)
    if isinstance(value, list):  # the span's messages: the tool's, else any
        messages = [v for v in value if isinstance(v, Mapping)]
        for message in [m for m in messages if m.get("role") == "tool"] or messages:
            found = _message_arguments(message)
            if found is not None:
                return found
        return {}
    if not isinstance(value, Mapping):
        return {}
    if "role" in value and ("content" in value or "parts" in value):
        return _message_arguments(value) or {}
    return dict(value)


def _message_arguments(message: Mapping[str, Any]) -> dict[str, Any] | None:
    parts = message.get("parts")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, Mapping) and part.get("type") == "tool_call":
                args = _parsed(part.get("arguments"))
                return dict(args) if isinstance(args, Mapping) else {}
    if "content" in message:
        content = _parsed(message["content"])
        return dict(content) if isinstance(content, Mapping) else None
    return None


def _parsed(value: object) -> object:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def text_of(value: object, role: str) -> str:
    """The text of an observation's input or output: a plain string, or the `role`'s text
    in a JSON list of messages or content blocks (Strands' span events)."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, str):
            return parsed
        value = parsed
    return _texts(value, role) or (value if isinstance(value, str) else json.dumps(value))


def _texts(value: object, role: str) -> str:
    if isinstance(value, str):
        # Strands' message events hold the content blocks as JSON text (`[{"text": ...}]`)
        if value[:1] in ("[", "{"):
            parsed = _parsed(value)
            if not isinstance(parsed, str):
                return _texts(parsed, role)
        return value
    if isinstance(value, Sequence):
        messages = [v for v in value if isinstance(v, Mapping) and "role" in v]
        if messages:  # the last message of the role (the prompt; the answer)
            mine = [m for m in messages if m.get("role") == role] or messages
            return _texts(mine[-1].get("content", mine[-1].get("parts", "")), role)
        return "\n".join(t for t in (_texts(v, role) for v in value) if t)
    if isinstance(value, Mapping):
        for key in ("text", "content", "message", "prompt", "question", "response"):
            if key in value:
                return _texts(value[key], role)
    return ""

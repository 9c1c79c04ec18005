"""A local HTTP double of the Langfuse public API endpoints the SDK uses, for offline tests.

A threaded `http.server` on 127.0.0.1 that answers schema-valid JSON (the SDK's response
models are strict: DatasetItem needs `mediaReferences`, projects need `organization`, ...)
and records every request, so tests assert what actually went over the wire:

    GET  /api/public/projects                  the auth check (401 on wrong keys)
    GET  /api/public/v2/datasets/{name}        404 when missing
    POST /api/public/v2/datasets
    GET  /api/public/dataset-items             paginated (page, limit)
    POST /api/public/dataset-items             upsert by id
    POST /api/public/scores                    a JSON array (202, or 207 with rejections)
    GET  /api/public/v3/scores                 cursor pagination, filters traceId/name
    POST /api/public/otel/v1/traces            OTLP protobuf, gzip or not: spans decoded
    GET  /api/public/v2/observations           the spans read back as observations (below)
    GET  /api/public/v2/evaluators             cursor pagination (`add_evaluator` makes them)
    GET|POST /api/public/v2/evaluation-rules   and GET|PATCH|DELETE .../{id}
    GET|POST /api/public/score-configs
    GET|POST /api/public/annotation-queues     and GET|POST .../{id}/items

Test hooks: `throttle(path, times, retry_after)` answers the next matching requests with
429, `edit_item`/`add_item` change data behind the engine's back, `add_remote_score` plays a
Langfuse-side LLM judge, and `judge(name, fn, delay)` plays a Langfuse evaluator configured
on experiments: every new experiment trace (its root span `experiment-item-run`, with
`langfuse.experiment.id`, not level ERROR) gets the score `fn(spans of the trace)` `delay`
seconds after it arrived. An enabled evaluation rule plays Langfuse's live evaluators: each
new root span matching its filter (environment, trace name, tags) gets a score named after
each assigned evaluator, `fn(spans)` of that name's judge (0.9 without one); `edit_rule`
changes a rule behind the engine's back, as someone in the UI would.

`GET /v2/observations` maps the spans as Langfuse's OTLP ingestion does, as far as the
engine relies on it: id = span id, `isRootObservation` (no parent, or
`langfuse.internal.as_root`), type (`langfuse.observation.type`, else `gen_ai.operation.name`:
`invoke_agent` AGENT, `execute_tool` TOOL), name (`gen_ai.tool.name` for a tool span, else
the span's), environment (`langfuse.environment`, else the resource's
`deployment.environment.name`, else `default`), input/output as raw strings
(`langfuse.observation.input`/`output`, else Strands' GenAI events: input the
`gen_ai.*.message` events as `[{"role": "user" | "tool" | ..., **attributes}]`, output the
`gen_ai.choice` event's attributes), level (ERROR for an error status), metadata
(`langfuse.observation.metadata.*`), `traceName` and `tags` (the trace's `langfuse.trace.*`,
denormalised), `latency` in seconds and `usageDetails`. Filters: the structured `filter`
(startTime >=/>/</<=, environment, traceName, name, type, isRootObservation, tags, metadata
`key` = value), which takes precedence over `fromStartTime`/`toStartTime`/`environment` as
in Langfuse; newest first, opaque cursor. `hide_spans(n)` plays ingestion lag: the next `n`
spans posted are stored but not listed until `show_spans()`.
"""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

PREFIX = "/api/public"


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}"


@dataclass
class Span:
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    scope: str
    resource: dict[str, Any] = field(default_factory=dict)
    #: (name, attributes) of the span's events
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: str | None = None
    listed: bool = True

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


@dataclass
class Throttle:
    path: str
    times: int
    retry_after: str
    #: matching requests to let through first
    skip: int = 0


@dataclass
class LangfuseDouble:
    public_key: str
    secret_key: str
    project: str = "agentops"
    project_id: str = "proj-1"
    requests: list[Request] = field(default_factory=list)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    throttles: list[Throttle] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: score name -> (fn(spans of one trace) -> value, delay in seconds)
    judges: dict[str, tuple[Callable[[list[Span]], float], float]] = field(default_factory=dict)
    evaluators: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, Any]] = field(default_factory=dict)
    score_configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue_items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    hidden: int = 0

    def start(self) -> LangfuseDouble:
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- hooks ------------------------------------------------------------------------
    def hide_spans(self, n: int) -> None:
        self.hidden = n

    def show_spans(self) -> None:
        with self.lock:
            for sp in self.spans:
                sp.listed = True

    def throttle(self, path: str, times: int = 1, retry_after: str = "0", skip: int = 0) -> None:
        self.throttles.append(Throttle(path, times, retry_after, skip))

    def edit_item(self, item_id: str, **changes: Any) -> None:
        with self.lock:
            self.items[item_id].update(changes, updatedAt=now())

    def add_item(self, dataset: str, input: Any, expected: Any = None) -> str:
        with self.lock:
            ds = self.datasets[dataset]
            iid = str(uuid.uuid4())
            self.items[iid] = _item(iid, ds, {"input": input, "expectedOutput": expected})
            return iid

    def judge(self, name: str, fn: Callable[[list[Span]], float], delay: float = 0.2) -> None:
        self.judges[name] = (fn, delay)

    def add_evaluator(self, name: str) -> str:
        with self.lock:
            eid = "ev-" + uuid.uuid4().hex[:8]
            self.evaluators[eid] = {
                "type": "code", "sourceCode": "def evaluate(): ...",
                "sourceCodeLanguage": "PYTHON", "id": eid, "name": name, "status": "active",
                "evaluationRuleAssignments": [], "createdAt": now(), "updatedAt": now(),
                "versionId": "v-" + eid, "version": 1, "versionCreatedAt": now(),
            }  # fmt: skip
            return eid

    def edit_rule(self, rule_id: str, **changes: Any) -> None:
        with self.lock:
            self.rules[rule_id].update(changes, updatedAt=now())

    def _rule_matches(self, rule: dict[str, Any], root: Span) -> bool:
        a = root.attributes
        seen = {
            "environment": [a.get("langfuse.environment")],
            "traceName": [a.get("langfuse.trace.name")],
            "tags": list(a.get("langfuse.trace.tags") or []),
            "level": [a.get("langfuse.observation.level") or "DEFAULT"],
        }
        for f in rule["filter"]:
            if f["column"] == "isRootObservation":
                continue  # only roots are judged here anyway
            have, want = set(seen.get(f["column"], [])), set(f["value"])
            op = f["operator"]
            ok = (
                bool(have & want) if op == "any of"
                else not (have & want) if op == "none of"
                else want <= have if op == "all of"
                else False
            )  # fmt: skip
            if not ok:
                return False
        return True

    def _judge_by_rules(self, spans: list[Span]) -> None:
        with self.lock:
            rules = [r for r in self.rules.values() if r["enabled"]]
            names = {eid: e["name"] for eid, e in self.evaluators.items()}
        for root in spans:
            if root.parent_id.strip("0") or "langfuse.experiment.id" in root.attributes:
                continue
            for rule in rules:
                if not self._rule_matches(rule, root):
                    continue
                for a in rule["evaluatorAssignments"]:
                    name = names[a["evaluatorId"]]
                    fn, delay = self.judges.get(name, (lambda _s: 0.9, 0.1))

                    def later(trace: str = root.trace_id, name: str = name, fn: Any = fn) -> None:
                        with self.lock:
                            of_trace = [x for x in self.spans if x.trace_id == trace]
                        self.add_remote_score(trace, name, float(fn(of_trace)))

                    timer = threading.Timer(delay, later)
                    timer.daemon = True
                    timer.start()

    def _judge_new(self, spans: list[Span]) -> None:
        for root in spans:
            attrs = root.attributes
            if "langfuse.experiment.id" not in attrs or root.name != "experiment-item-run":
                continue
            if attrs.get("langfuse.observation.level") == "ERROR":
                continue  # Langfuse's evaluators skip failed traces too
            for name, (fn, delay) in self.judges.items():

                def later(trace: str = root.trace_id, name: str = name, fn: Any = fn) -> None:
                    with self.lock:
                        of_trace = [x for x in self.spans if x.trace_id == trace]
                    self.add_remote_score(trace, name, float(fn(of_trace)))

                timer = threading.Timer(delay, later)
                timer.daemon = True
                timer.start()

    def add_remote_score(self, trace_id: str, name: str, value: float) -> None:
        with self.lock:
            self.scores.append(
                {
                    "id": str(uuid.uuid4()),
                    "traceId": trace_id,
                    "name": name,
                    "value": value,
                    "source": "EVAL",
                    "timestamp": now(),
                }
            )

    # --- views for assertions ---------------------------------------------------------
    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method)
                and (path is None or r.path == PREFIX + path or r.path.startswith(PREFIX + path))
            ]

    def item_writes(self) -> list[Request]:
        return self.calls("POST", "/dataset-items")

    def dataset_items(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [i for i in self.items.values() if i["datasetName"] == name]

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()


def _item(iid: str, ds: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": iid,
        "status": body.get("status") or "ACTIVE",
        "input": body.get("input"),
        "expectedOutput": body.get("expectedOutput"),
        "metadata": body.get("metadata"),
        "sourceTraceId": body.get("sourceTraceId"),
        "sourceObservationId": body.get("sourceObservationId"),
        "datasetId": ds["id"],
        "datasetName": ds["name"],
        "createdAt": now(),
        "updatedAt": now(),
        "mediaReferences": [],
    }


def _js_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _js_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_js_numbers(v) for v in value]
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # one buffered write per response, no Nagle: else every request waits ~40 ms for a
    # delayed ACK between the header and the body writes
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    double: LangfuseDouble

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _send(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self._request.status = code

    def _handle(self, method: str) -> None:
        d = self.double
        u = urlparse(self.path)
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        ctype = self.headers.get("Content-Type", "")
        body: Any = raw
        if raw and "json" in ctype:
            body = json.loads(raw)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._request = Request(method, u.path, parse_qs(u.query), headers, body)
        with d.lock:
            d.requests.append(self._request)
        expected = "Basic " + base64.b64encode(f"{d.public_key}:{d.secret_key}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._send(401, {"message": "Invalid credentials. Confirm the keys."})
        with d.lock:
            for t in d.throttles:
                if t.times > 0 and u.path.startswith(PREFIX + t.path):
                    if t.skip > 0:
                        t.skip -= 1
                        continue
                    t.times -= 1
                    return self._send(
                        429, {"message": "rate limit exceeded"}, {"Retry-After": t.retry_after}
                    )
        try:
            self._route(method, u.path[len(PREFIX) :], parse_qs(u.query), body)
        except Exception as exc:  # a bug in the double: make it loud in the test
            self._send(500, {"message": f"double error: {type(exc).__name__}: {exc}"})
            raise

    def _route(self, method: str, path: str, q: dict[str, list[str]], body: Any) -> None:
        d = self.double
        if path == "/projects" and method == "GET":
            org = {"id": "org-1", "name": "org"}
            data = [{"id": d.project_id, "name": d.project, "metadata": {}, "organization": org}]
            return self._send(200, {"data": data})
        if path == "/v2/datasets" and method == "POST":
            with d.lock:
                ds = {
                    "id": "ds-" + uuid.uuid4().hex[:8],
                    "name": body["name"],
                    "description": body.get("description"),
                    "metadata": body.get("metadata"),
                    "projectId": d.project_id,
                    "createdAt": now(),
                    "updatedAt": now(),
                }
                if body["name"] in d.datasets:  # Langfuse upserts by name
                    old = d.datasets[body["name"]]
                    old.update(
                        description=body.get("description"),
                        metadata=body.get("metadata"),
                        updatedAt=now(),
                    )
                d.datasets.setdefault(body["name"], ds)
                return self._send(200, d.datasets[body["name"]])
        if path.startswith("/v2/datasets/") and method == "GET":
            name = unquote(path[len("/v2/datasets/") :])
            with d.lock:
                if name in d.datasets:
                    return self._send(200, d.datasets[name])
            return self._send(404, {"message": "Dataset not found"})
        if path == "/dataset-items" and method == "POST":
            return self._upsert_item(body)
        if path == "/dataset-items" and method == "GET":
            name = q["datasetName"][0]
            page, limit = int(q.get("page", ["1"])[0]), int(q.get("limit", ["50"])[0])
            items = d.dataset_items(name)
            pages = max(1, -(-len(items) // limit))
            meta = {"page": page, "limit": limit, "totalItems": len(items), "totalPages": pages}
            return self._send(200, {"data": items[(page - 1) * limit : page * limit], "meta": meta})
        if path == "/scores" and method == "POST":
            return self._post_scores(body)
        if path == "/v3/scores" and method == "GET":
            return self._get_scores(q)
        if path == "/otel/v1/traces" and method == "POST":
            return self._otlp(body)
        if path == "/v2/observations" and method == "GET":
            return self._observations(q)
        if path.startswith(("/v2/evaluators", "/v2/evaluation-rules")):
            return self._rules(method, path, q, body)
        if path.startswith(("/score-configs", "/annotation-queues")):
            return self._queues(method, path, q, body)
        return self._send(404, {"message": f"not faked: {method} {path}"})

    def _cursor_page(self, rows: list[dict[str, Any]], q: dict[str, list[str]]) -> None:
        limit = int(q.get("limit", ["50"])[0])
        start = int(q.get("cursor", ["0"])[0])
        meta: dict[str, Any] = {}
        if start + limit < len(rows):
            meta["cursor"] = str(start + limit)
        return self._send(200, {"data": rows[start : start + limit], "meta": meta})

    def _page(self, rows: list[dict[str, Any]], q: dict[str, list[str]]) -> None:
        page, limit = int(q.get("page", ["1"])[0]), int(q.get("limit", ["50"])[0])
        meta = {"page": page, "limit": limit, "totalItems": len(rows),
                "totalPages": max(1, -(-len(rows) // limit))}  # fmt: skip
        return self._send(200, {"data": rows[(page - 1) * limit : page * limit], "meta": meta})

    def _rules(self, method: str, path: str, q: dict[str, list[str]], body: Any) -> None:
        d = self.double
        if path == "/v2/evaluators" and method == "GET":
            with d.lock:
                rows = list(reversed(d.evaluators.values()))  # newest first
            return self._cursor_page(rows, q)
        if path == "/v2/evaluation-rules" and method == "GET":
            with d.lock:
                rows = list(reversed(d.rules.values()))
            return self._cursor_page(rows, q)
        if path == "/v2/evaluation-rules" and method == "POST":
            with d.lock:
                rid = "rule-" + uuid.uuid4().hex[:8]
                d.rules[rid] = {
                    "id": rid, "name": body["name"], "enabled": body["enabled"],
                    "sampling": body.get("sampling", 1), "filter": body.get("filter", []),
                    "evaluatorAssignments": [
                        {"evaluatorId": a["evaluatorId"], "variableMapping": None}
                        for a in body["evaluatorAssignments"]
                    ],
                    "createdAt": now(), "updatedAt": now(),
                }  # fmt: skip
                return self._send(200, d.rules[rid])
        rid = unquote(path[len("/v2/evaluation-rules/") :])
        with d.lock:
            rule = d.rules.get(rid)
            if rule is None:
                return self._send(404, {"message": "Evaluation rule not found"})
            if method == "GET":
                return self._send(200, rule)
            if method == "DELETE":
                del d.rules[rid]
                return self._send(200, {"id": rid})
            if method == "PATCH":
                for k in ("name", "enabled", "sampling", "filter"):
                    if k in body:
                        rule[k] = body[k]
                if "evaluatorAssignments" in body:
                    rule["evaluatorAssignments"] = [
                        {"evaluatorId": a["evaluatorId"], "variableMapping": None}
                        for a in body["evaluatorAssignments"]
                    ]
                rule["updatedAt"] = now()
                return self._send(200, rule)
        return self._send(404, {"message": f"not faked: {method} {path}"})

    def _queues(self, method: str, path: str, q: dict[str, list[str]], body: Any) -> None:
        d = self.double
        if path == "/score-configs" and method == "GET":
            with d.lock:
                rows = list(d.score_configs.values())
            return self._page(rows, q)
        if path == "/score-configs" and method == "POST":
            with d.lock:
                cid = "sc-" + uuid.uuid4().hex[:8]
                d.score_configs[cid] = {
                    "id": cid, "name": body["name"], "dataType": body["dataType"],
                    "minValue": body.get("minValue"), "maxValue": body.get("maxValue"),
                    "description": body.get("description"), "isArchived": False,
                    "projectId": d.project_id, "createdAt": now(), "updatedAt": now(),
                }  # fmt: skip
                return self._send(200, d.score_configs[cid])
        if path == "/annotation-queues" and method == "GET":
            with d.lock:
                rows = list(d.queues.values())
            return self._page(rows, q)
        if path == "/annotation-queues" and method == "POST":
            with d.lock:
                qid = "aq-" + uuid.uuid4().hex[:8]
                d.queues[qid] = {
                    "id": qid, "name": body["name"], "description": body.get("description"),
                    "scoreConfigIds": body["scoreConfigIds"], "createdAt": now(),
                    "updatedAt": now(),
                }  # fmt: skip
                d.queue_items[qid] = []
                return self._send(200, d.queues[qid])
        parts = path.split("/")  # ['', 'annotation-queues', id, 'items']
        if len(parts) == 4 and parts[3] == "items":
            qid = unquote(parts[2])
            with d.lock:
                if qid not in d.queues:
                    return self._send(404, {"message": "Annotation queue not found"})
                if method == "GET":
                    rows = list(d.queue_items[qid])
                elif method == "POST":
                    item = {
                        "id": "aqi-" + uuid.uuid4().hex[:8], "queueId": qid,
                        "objectId": body["objectId"], "objectType": body["objectType"],
                        "status": body.get("status") or "PENDING", "completedAt": None,
                        "createdAt": now(), "updatedAt": now(),
                    }  # fmt: skip
                    d.queue_items[qid].append(item)
                    return self._send(200, item)
            if method == "GET":
                return self._page(rows, q)
        return self._send(404, {"message": f"not faked: {method} {path}"})

    def _upsert_item(self, body: dict[str, Any]) -> None:
        d = self.double
        with d.lock:
            ds = d.datasets.get(body["datasetName"])
            if ds is None:
                return self._send(404, {"message": "Dataset not found"})
            iid = body.get("id") or str(uuid.uuid4())
            old = d.items.get(iid)
            if old is not None and old["datasetId"] != ds["id"]:
                return self._send(400, {"message": "item id belongs to another dataset"})
            item = _item(iid, ds, body)
            if old is not None:
                item["createdAt"] = old["createdAt"]
            # as a JavaScript server stores JSON: 1.0 comes back as 1
            d.items[iid] = _js_numbers(item)
            return self._send(200, d.items[iid])

    def _post_scores(self, body: list[dict[str, Any]]) -> None:
        d = self.double
        bad = [s for s in body if not s.get("name") or "value" not in s]
        with d.lock:
            d.scores.extend(s for s in body if s not in bad)
        if bad:
            errors = [{"message": "score needs a name and a value"} for _ in bad]
            accepted = len(body) - len(bad)
            return self._send(207, {"accepted": accepted, "rejected": len(bad), "errors": errors})
        return self._send(202, {"message": "Accepted"})

    def _get_scores(self, q: dict[str, list[str]]) -> None:
        d = self.double
        traces = set(q["traceId"][0].split(",")) if "traceId" in q else None
        names = set(q["name"][0].split(",")) if "name" in q else None
        limit = int(q.get("limit", ["50"])[0])
        start = int(q.get("cursor", ["0"])[0])
        with d.lock:
            found = [
                s
                for s in d.scores
                if (traces is None or s.get("traceId") in traces)
                and (names is None or s["name"] in names)
            ]
        page = found[start : start + limit]
        data = [
            {
                "id": s["id"],
                "projectId": d.project_id,
                "name": s["name"],
                "value": s["value"],
                "dataType": "NUMERIC",
                "source": s.get("source", "API"),
                "timestamp": s.get("timestamp") or now(),
                "environment": s.get("environment") or "default",
                "createdAt": now(),
                "updatedAt": now(),
                "comment": s.get("comment"),
                "subject": {"kind": "trace", "id": s["traceId"]} if s.get("traceId") else None,
            }
            for s in page
        ]
        meta: dict[str, Any] = {"limit": limit}
        if start + limit < len(found):
            meta["cursor"] = str(start + limit)
        return self._send(200, {"data": data, "meta": meta})

    def _otlp(self, raw: bytes) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        req = ExportTraceServiceRequest.FromString(raw)
        spans = []
        for rs in req.resource_spans:
            resource = {a.key: _value(a.value) for a in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    spans.append(
                        Span(
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                            s.name,
                            s.start_time_unix_nano,
                            s.end_time_unix_nano,
                            {a.key: _value(a.value) for a in s.attributes},
                            ss.scope.name,
                            resource,
                            [
                                (e.name, {a.key: _value(a.value) for a in e.attributes})
                                for e in s.events
                            ],
                            s.status.message or "error" if s.status.code == 2 else None,
                        )  # fmt: skip
                    )
        with self.double.lock:
            for sp in spans:
                if self.double.hidden > 0:
                    self.double.hidden -= 1
                    sp.listed = False
            self.double.spans.extend(spans)
        self.double._judge_new(spans)
        self.double._judge_by_rules(spans)
        data = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self._request.status = 200

    def _observations(self, q: dict[str, list[str]]) -> None:
        d = self.double
        with d.lock:
            spans = list(d.spans)
        traces: dict[str, dict[str, Any]] = {}
        for sp in spans:  # trace-level attributes, from any span of the trace (roots win)
            t = traces.setdefault(sp.trace_id, {})
            for key, attr in (
                ("traceName", "langfuse.trace.name"),
                ("tags", "langfuse.trace.tags"),
            ):
                if attr in sp.attributes and (key not in t or not sp.parent_id.strip("0")):
                    t[key] = sp.attributes[attr]
        rows = [_observation(sp, traces[sp.trace_id], d.project_id) for sp in spans if sp.listed]
        wanted = _filters(q)
        rows = [r for r in rows if all(f(r) for f in wanted)]
        rows.sort(key=lambda r: (r["startTime"], r["id"]), reverse=True)  # newest first
        limit = int(q.get("limit", ["50"])[0])
        start = int(base64.b64decode(q["cursor"][0])) if "cursor" in q else 0
        meta: dict[str, Any] = {}
        if start + limit < len(rows):
            meta["cursor"] = base64.b64encode(str(start + limit).encode()).decode()
        return self._send(200, {"data": rows[start : start + limit], "meta": meta})


def _iso(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).isoformat().replace("+00:00", "Z")


def _when(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _event(sp: Span, name: str, key: str) -> Any:
    return next((attrs.get(key) for n, attrs in sp.events if n == name), None)


#: what Langfuse's OTLP ingestion maps `gen_ai.operation.name` to (ObservationTypeMapper)
_GEN_AI_TYPES = {"invoke_agent": "AGENT", "execute_tool": "TOOL", "chat": "GENERATION"}
_INPUT_EVENTS = ("gen_ai.system.message", "gen_ai.user.message", "gen_ai.assistant.message",
                 "gen_ai.tool.message")  # fmt: skip


def _type(a: dict[str, Any]) -> str:
    if a.get("langfuse.observation.type"):
        return str(a["langfuse.observation.type"]).upper()
    if a.get("gen_ai.operation.name") in _GEN_AI_TYPES:
        return _GEN_AI_TYPES[a["gen_ai.operation.name"]]
    return "TOOL" if a.get("gen_ai.tool.name") else "SPAN"


def _io(sp: Span) -> tuple[Any, Any]:
    """Input and output as Langfuse's OTLP ingestion takes them: its own attributes, else the
    GenAI message events (input: `[{"role": <event>, **attributes}]`, output: the
    `gen_ai.choice` event's attributes), else `gen_ai.input.messages` /
    `gen_ai.tool.call.arguments`; the API returns them as raw strings."""
    a = sp.attributes
    got_in, got_out = a.get("langfuse.observation.input"), a.get("langfuse.observation.output")
    if got_in is None and got_out is None:
        inputs = [
            {"role": name.removeprefix("gen_ai.").removesuffix(".message"), **attrs}
            for name, attrs in sp.events
            if name in _INPUT_EVENTS
        ]
        choices = [attrs for name, attrs in sp.events if name == "gen_ai.choice"]
        if inputs or choices:
            got_in = inputs or None
            got_out = (choices[0] if len(choices) == 1 else choices) or None
        else:
            got_in = a.get("gen_ai.input.messages") or a.get("gen_ai.tool.call.arguments")
            got_out = a.get("gen_ai.output.messages") or a.get("gen_ai.tool.call.result")

    def raw(v: Any) -> Any:
        return v if v is None or isinstance(v, str) else json.dumps(v)

    return raw(got_in), raw(got_out)


def _observation(sp: Span, trace: dict[str, Any], project: str) -> dict[str, Any]:
    a = sp.attributes
    meta_prefix = "langfuse.observation.metadata."
    has_parent = bool(sp.parent_id.strip("0"))
    usage = {
        k: int(a[f"gen_ai.usage.{k}_tokens"])
        for k in ("input", "output", "total")
        if f"gen_ai.usage.{k}_tokens" in a
    }
    got_in, got_out = _io(sp)
    return {
        "id": sp.span_id,
        "traceId": sp.trace_id,
        "startTime": _iso(sp.start_ns),
        "endTime": _iso(sp.end_ns),
        "projectId": project,
        "parentObservationId": sp.parent_id if sp.parent_id.strip("0") else None,
        "type": _type(a),
        "isRootObservation": not has_parent or bool(a.get("langfuse.internal.as_root")),
        # Langfuse names a GenAI tool span after the tool (`gen_ai.tool.name`)
        "name": a.get("gen_ai.tool.name") or sp.name,
        "level": a.get("langfuse.observation.level") or ("ERROR" if sp.error else "DEFAULT"),
        "statusMessage": sp.error,
        "environment": a.get("langfuse.environment")
        or sp.resource.get("deployment.environment.name") or "default",
        "input": got_in,
        "output": got_out,
        "metadata": {k[len(meta_prefix):]: v for k, v in a.items() if k.startswith(meta_prefix)},
        "usageDetails": usage,
        "latency": sp.duration_ms / 1000,
        # per observation (Langfuse v4): the span's own trace attributes, else the trace's
        "traceName": a.get("langfuse.trace.name") or trace.get("traceName"),
        "tags": list(a.get("langfuse.trace.tags") or trace.get("tags") or []),
        "sessionId": a.get("session.id"),
    }  # fmt: skip


def _filters(q: dict[str, list[str]]) -> list[Callable[[dict[str, Any]], bool]]:
    """The row predicates of a v2 observations query (`filter` wins over query params)."""
    if "filter" not in q:
        conds = []
        if "fromStartTime" in q:
            conds.append({"column": "startTime", "operator": ">=", "value": q["fromStartTime"][0]})
        if "toStartTime" in q:
            conds.append({"column": "startTime", "operator": "<", "value": q["toStartTime"][0]})
        if "environment" in q:
            conds.append({"column": "environment", "operator": "any of", "value": q["environment"]})
    else:
        conds = json.loads(q["filter"][0])
    out: list[Callable[[dict[str, Any]], bool]] = []
    for c in conds:
        col, op, want = c["column"], c["operator"], c["value"]
        if col == "startTime":
            bound = dt.datetime.fromisoformat(str(want).replace("Z", "+00:00"))
            cmp = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b,
                   "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}[op]  # fmt: skip
            out.append(lambda r, cmp=cmp, bound=bound: cmp(_when(r["startTime"]), bound))
        elif col in ("environment", "traceName", "name", "type") and op == "any of":
            out.append(lambda r, col=col, want=set(want): r[col] in want)
        elif col in ("environment", "traceName", "name", "type") and op == "=":
            out.append(lambda r, col=col, want=want: r[col] == want)
        elif col == "metadata" and c.get("type") == "stringObject" and op == "=":
            out.append(lambda r, key=c["key"], want=want: r["metadata"].get(key) == want)
        elif col == "isRootObservation":
            out.append(lambda r, want=want: r["isRootObservation"] == want)
        elif col in ("tags", "traceTags") and op == "all of":
            out.append(lambda r, want=set(want): want <= set(r["tags"]))
        else:
            raise ValueError(f"filter not faked: {c}")
    return out


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None

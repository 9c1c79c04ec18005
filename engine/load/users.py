"""Locust users that invoke an agent and record one raw sample per request (generator side).

Role: what every simulated user does, in the Locust process only (`engine.load.runner`
imports this after Locust). A user is one client *session*: it keeps one AgentCore session id,
so its first request is the cold one (a new session, a new microVM in AgentCore) and the rest
are warm. Each request is timed here with `time.perf_counter` (float ms, sub-millisecond),
not with Locust's bucketed statistics, and handed to the `Recorder` as a sample: a list in
`engine.load.config.SAMPLE_FIELDS` order (epoch start, latency ms, ok, HTTP status - 0 when no
response came, error, prompt name, cold = first request of the session, session id,
generator process, the answer truncated).

`RuntimeUser` speaks the local runtime contract over `FastHttpUser`. `AgentCoreUser` calls
`invoke_agent_runtime` with boto3; it is written against the botocore model but NOT tested
here yet (it is exercised when the AgentCore provider lands). boto3 may be imported in this
process because Locust was imported (and gevent patched ssl) first.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, User, task
from locust.exception import StopUser

from engine.load.answer import read_answer
from engine.load.config import PromptEntry, RunnerConfig
from engine.load.shape import pacing

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
Sample = list[Any]  # in SAMPLE_FIELDS order


class Recorder:
    """Per process: the prompt rotation, the request budget, and where samples go."""

    def __init__(self, config: RunnerConfig, worker: str, sink: Callable[[Sample], None]) -> None:
        self.config = config
        self.worker = worker
        self.sink = sink
        self.payloads = [(p, json.dumps({"prompt": p.prompt})) for p in config.prompts]
        # A random start per process so that workers do not all begin with the same prompt;
        # the rotation then gives every prompt the same share of the traffic.
        self._next = itertools.count(random.randrange(len(self.payloads)))
        #: requests this process may still start; None = no count limit (time only)
        self.remaining: int | None = config.requests if config.workers == 0 else None
        self.inflight = 0
        self.aborted = 0
        self.dropped = 0  # open model: arrivals that found no free user
        self.started_at = time.monotonic()
        self.text_limit = config.response_chars

    def take(self) -> bool:
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        self.inflight += 1
        return True

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0 and self.inflight == 0

    def next_prompt(self) -> tuple[PromptEntry, str]:
        return self.payloads[next(self._next) % len(self.payloads)]

    def record(self, sample: Sample) -> None:
        self.inflight -= 1
        self.sink(sample)

    def abort(self) -> None:
        self.inflight -= 1
        self.aborted += 1


def _new_session() -> str:
    return f"agentops-load-{uuid.uuid4().hex}"  # 46 chars: AgentCore wants 33-256


class _AgentUser(User):
    """The session, the budget and the sample; subclasses only do the call."""

    abstract = True
    recorder: ClassVar[Recorder]

    def on_start(self) -> None:
        self.session = _new_session()
        self.first = True
        clock = getattr(self, "arrival_clock", None)
        delay = getattr(self, "start_delay", 0.0)
        if clock is not None:
            clock.wait()  # rate steps: the first request waits for an arrival too
        elif delay:
            # Open model: spread the pool's first requests over one period instead of
            # sending them all at once when the users spawn.
            gevent.sleep(random.uniform(0.0, delay))

    @task
    def invoke(self) -> None:
        rec = self.recorder
        if not rec.take():
            raise StopUser()
        prompt, payload = rec.next_prompt()
        started = time.time()
        t0 = time.perf_counter()
        try:
            ok, status, text, err = self.call(prompt, payload, t0)
        except gevent.GreenletExit:
            # Killed by the generator's own stop (a user between two tasks when the run
            # ended): not an answer of the agent, so no sample, only a count.
            rec.abort()
            raise
        except Exception as exc:  # noqa: BLE001 - one failed sample, never a dead user
            ok, status, text, err = False, 0, "", f"generator error: {type(exc).__name__}: {exc}"
        ms = (time.perf_counter() - t0) * 1000.0
        # A list in SAMPLE_FIELDS order, not a dict: this runs for every request, and the
        # generator must cost about what plain Locust costs (see bench/load_bench.py).
        rec.record(
            [started, ms, ok, status, err, prompt.name, self.first, self.session, rec.worker,
             text[: rec.text_limit]]
        )  # fmt: skip
        self.first = False

    def call(
        self, prompt: PromptEntry, payload: str, t0: float
    ) -> tuple[bool, int, str, str | None]:
        raise NotImplementedError


class RuntimeUser(FastHttpUser, _AgentUser):
    """The local runtime contract: POST <url> with the bearer token and the session header."""

    abstract = True
    path: ClassVar[str] = "/invocations"
    token: ClassVar[str] = ""

    def on_start(self) -> None:
        super().on_start()
        # Built once per user (= per session), not per request.
        self.headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            SESSION_HEADER: self.session,
        }

    def call(
        self, prompt: PromptEntry, payload: str, t0: float
    ) -> tuple[bool, int, str, str | None]:
        # No catch_response: Locust's own statistics then judge by HTTP status only (an error
        # inside a 200 answer counts as a success there), but every request is cheaper, and
        # the verdict that counts is ours, in the sample.
        resp = self.client.post(self.path, data=payload, headers=self.headers, name=prompt.name)
        status = int(resp.status_code or 0)
        if status == 0:
            why = _connection_error(getattr(resp, "error", None))
            return False, 0, "", why
        body = resp.content or b""
        # A JSON answer needs no header lookup: `resp.headers` rebuilds the header object on
        # every access, a measurable cost per request at full speed.
        ctype = "application/json" if body[:1] == b"{" else _content_type(resp)
        ok, text, err = read_answer(status, ctype, body)
        return ok, status, text, err


def _content_type(resp: Any) -> str:
    headers = resp.headers
    return str(headers.get("content-type") or "") if headers else ""


def _connection_error(exc: object) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError) or "timed out" in str(exc).lower():
        return "timed out"
    return f"connection failed: {type(exc).__name__}: {exc}" if exc else "no response"


class AgentCoreUser(_AgentUser):
    """Amazon Bedrock AgentCore via boto3 `invoke_agent_runtime` (UNTESTED until that provider).

    One boto3 client per user: botocore clients are not safe to share across greenlets that
    interleave on one connection pool under gevent.
    """

    abstract = True
    arn: ClassVar[str] = ""
    region: ClassVar[str | None] = None
    qualifier: ClassVar[str | None] = None

    def on_start(self) -> None:
        import boto3  # after locust on purpose: gevent patched ssl first
        from botocore.config import Config

        timeout = self.recorder.config.timeout
        self.agentcore = boto3.client(
            "bedrock-agentcore",
            region_name=self.region,
            config=Config(
                read_timeout=timeout,
                connect_timeout=min(timeout, 10.0),
                retries={"max_attempts": 1},
            ),
        )
        super().on_start()

    def call(
        self, prompt: PromptEntry, payload: str, t0: float
    ) -> tuple[bool, int, str, str | None]:
        kwargs: dict[str, Any] = {
            "agentRuntimeArn": self.arn,
            "runtimeSessionId": self.session,
            "payload": payload.encode(),
            "contentType": "application/json",
            "accept": "application/json",
        }
        if self.qualifier:
            kwargs["qualifier"] = self.qualifier
        exc: Exception | None = None
        ok, status, text, err = False, 0, "", None
        try:
            out = self.agentcore.invoke_agent_runtime(**kwargs)
            status = int(out.get("statusCode", 200))
            body = out["response"].read()
            ok, text, err = read_answer(status, str(out.get("contentType", "")), body)
        except Exception as e:  # noqa: BLE001 - botocore errors become failed samples
            exc, err = e, f"{type(e).__name__}: {e}"
        self.environment.events.request.fire(
            request_type="invoke",
            name=prompt.name,
            response_time=(time.perf_counter() - t0) * 1000.0,
            response_length=len(text),
            exception=exc or (None if ok else Exception(err)),
            context={},
        )
        return ok, status, text, err


def user_class(config: RunnerConfig, recorder: Recorder) -> type[User]:
    """The concrete user class for this run: target, pacing and timeouts filled in."""
    attrs: dict[str, Any] = {"abstract": False, "recorder": recorder}
    base: type[User]
    if config.target == "local":
        base = RuntimeUser
        scheme, _, rest = config.url.partition("://")
        host, _, path = rest.partition("/")
        attrs.update(
            host=f"{scheme}://{host}",
            path="/" + path,
            token=Path(config.token_file).read_text(encoding="utf-8").strip()
            if config.token_file
            else "",
            network_timeout=config.timeout,
            connection_timeout=min(config.timeout, 10.0),
            max_retries=0,
        )
    else:
        base = AgentCoreUser
        attrs.update(
            host="https://bedrock-agentcore",
            arn=config.agent_arn or "",
            region=config.region,
            qualifier=config.qualifier,
        )
    attrs.update(pacing(config, recorder))
    return type(base.__name__.replace("User", "Load"), (base,), attrs)

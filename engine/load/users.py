"""Locust users that invoke an agent and record one raw sample per request (generator side).

Role: what every simulated user does, in the Locust process only (`engine.load.runner`
imports this after Locust). A user is one client *session*: it keeps one AgentCore session id,
so its first request is the cold one (a new session, a new microVM in AgentCore) and the rest
are warm. Each request is timed here with `time.perf_counter` (float ms, sub-millisecond),
not with Locust's bucketed statistics, and handed to the `Recorder`, which makes a sample of
it: a list in `engine.load.config.SAMPLE_FIELDS` order (epoch start, latency ms, ok, HTTP
status - 0 when no response came, error, prompt name, cold = first request of the session,
session id, generator process, the answer truncated).

What a user does per request is kept to what plain Locust does plus one tuple append (the
`Recorder`'s raw `Entry`, a JSON answer still as bytes); the answers are read and the samples
built when the recorder flushes, a batch at a time (`engine.load.answer.samples_of`).
`bench/load_bench.py` measures what this costs against plain Locust.

`RuntimeUser` speaks the local runtime contract over `FastHttpUser`. `AgentCoreUser` calls
`invoke_agent_runtime` with boto3 (tests/load/test_agentcore_user.py runs it against a fake
data plane). boto3 is imported only inside it, never at module import: it may be imported in
this process only because Locust was imported (and gevent patched ssl) first. AgentCore
forwards no `X-Agentops-*` header: `AgentCoreUser` sends the source and the prompt's tags as
the custom headers every agentops runtime allows (`agentcore_headers`; the names are
`engine.providers.agentcore.sources`', which this process may not import - a test pins them
equal on the wire), added to each signed request by a botocore `before-sign` hook.
"""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, User, task
from locust.exception import StopUser

from engine.load.answer import HOLD_BODY_MAX, Answer, read_answer, truncated
from engine.load.config import PromptEntry, RunnerConfig
from engine.load.recorder import Recorder
from engine.load.shape import pacing

SESSION_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Session-Id"
#: `engine.providers.agentcore.sources.SOURCE_HEADER` / `TAGS_HEADER` (pinned by
#: tests/load/test_agentcore_user.py, which checks what goes on the wire)
AGENTCORE_SOURCE_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source"
AGENTCORE_TAGS_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Tags"
_INVOKE_EVENT = "before-sign.bedrock-agentcore.InvokeAgentRuntime"


def trace_headers(prompt: PromptEntry) -> dict[str, str]:
    """What the local runtime's trace of a load request records about it."""
    tags = list(prompt.tags)
    if prompt.expect == "refuse" and "harmful" not in tags:
        tags.append("harmful")
    out = {"X-Agentops-Source": "loadtest"}
    if tags:
        out["X-Agentops-Tags"] = ",".join(tags)
    return out


def agentcore_headers(prompt: PromptEntry) -> dict[str, str]:
    """`trace_headers` under the names AgentCore forwards to the agent."""
    names = {"X-Agentops-Source": AGENTCORE_SOURCE_HEADER, "X-Agentops-Tags": AGENTCORE_TAGS_HEADER}
    return {names[k]: v for k, v in trace_headers(prompt).items()}


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
        rec.record((started, ms, status, (ok, text, err), prompt.name, self.first, self.session))
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
        # The agent's trace says it was load-test traffic, with the prompt's tags (a prompt
        # that must be refused is tagged `harmful`): monitors include or exclude it.
        self.prompt_headers = {
            p.name: {**self.headers, **trace_headers(p)} for p, _ in self.recorder.payloads
        }

    def invoke(self) -> None:
        # `_AgentUser.invoke` with the call inlined and the answer left unread: this runs for
        # every request, and the generator must cost about what plain Locust costs.
        rec = self.recorder
        if not rec.take():
            raise StopUser()
        prompt, payload = rec.next_prompt()
        started = time.time()
        t0 = time.perf_counter()
        answer: bytes | Answer
        try:
            # No catch_response: Locust's own statistics then judge by HTTP status only (an
            # error inside a 200 answer counts as a success there), but every request is
            # cheaper, and the verdict that counts is ours, in the sample.
            resp = self.client.post(
                self.path, data=payload, headers=self.prompt_headers[prompt.name], name=prompt.name
            )
            status = resp.status_code or 0
            if status == 0:
                answer = (False, "", _connection_error(getattr(resp, "error", None)))
            else:
                body = resp.content or b""
                # A JSON answer is held as bytes and read at the flush. Anything else (an
                # event stream, an HTML error page) is read now, with its content type:
                # `resp.headers` rebuilds the header object on every access, a cost per
                # request at full speed that JSON answers skip.
                if body[:1] == b"{" and len(body) <= HOLD_BODY_MAX:
                    answer = body
                else:
                    ctype = "application/json" if body[:1] == b"{" else _content_type(resp)
                    answer = truncated(read_answer(status, ctype, body), rec.text_limit)
        except gevent.GreenletExit:
            rec.abort()  # see _AgentUser.invoke
            raise
        except Exception as exc:  # noqa: BLE001 - one failed sample, never a dead user
            status, answer = 0, (False, "", f"generator error: {type(exc).__name__}: {exc}")
        ms = (time.perf_counter() - t0) * 1000.0
        rec.record((started, ms, status, answer, prompt.name, self.first, self.session))
        self.first = False


# Its own task replaces `_AgentUser.invoke` (Locust collects the @task methods of every base
# class: declared with @task here too, both would run, picked at random).
RuntimeUser.tasks = [RuntimeUser.invoke]


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
    """Amazon Bedrock AgentCore via boto3 `invoke_agent_runtime` on the runtime's endpoint.

    One boto3 client per user: botocore clients are not safe to share across greenlets that
    interleave on one connection pool under gevent. No retry (`total_max_attempts=1`): a
    retried invocation would be a second request timed as one, and an agent call is not
    idempotent. The data plane URL is botocore's own, so `AWS_ENDPOINT_URL_BEDROCK_AGENTCORE`
    (inherited from the parent's environment, like the credentials) redirects it.
    """

    abstract = True
    arn: ClassVar[str] = ""
    region: ClassVar[str | None] = None
    qualifier: ClassVar[str | None] = None
    profile: ClassVar[str | None] = None

    def on_start(self) -> None:
        import boto3  # after locust on purpose: gevent patched ssl first
        from botocore.config import Config

        timeout = self.recorder.config.timeout
        session = boto3.session.Session(profile_name=self.profile, region_name=self.region)
        self.agentcore = session.client(
            "bedrock-agentcore",
            config=Config(
                read_timeout=timeout,
                connect_timeout=min(timeout, 10.0),
                retries={"mode": "standard", "total_max_attempts": 1},
                user_agent_extra="agentops-load",
            ),
        )
        # the source and tags of the request being made (one client per user, so per greenlet)
        self.prompt_headers = {p.name: agentcore_headers(p) for p, _ in self.recorder.payloads}
        self.sending: dict[str, str] = {}
        self.agentcore.meta.events.register(_INVOKE_EVENT, self._add_headers)
        super().on_start()

    def _add_headers(self, request: Any, **_kwargs: Any) -> None:
        for name, value in self.sending.items():
            if name in request.headers:  # botocore's headers append on `[]=`
                del request.headers[name]
            request.headers[name] = value

    def call(
        self, prompt: PromptEntry, payload: str, t0: float
    ) -> tuple[bool, int, str, str | None]:
        kwargs: dict[str, Any] = {
            "agentRuntimeArn": self.arn,
            "runtimeSessionId": self.session,
            "payload": payload.encode(),
            "contentType": "application/json",
            # streaming agents answer text/event-stream; read_answer reads both
            "accept": "application/json, text/event-stream",
        }
        if self.qualifier:
            kwargs["qualifier"] = self.qualifier
        self.sending = self.prompt_headers[prompt.name]
        exc: Exception | None = None
        ok, status, text, err = False, 0, "", None
        try:
            out = self.agentcore.invoke_agent_runtime(**kwargs)
            status = int(out.get("statusCode") or 200)
            body = out["response"].read()
            ok, text, err = read_answer(status, str(out.get("contentType") or ""), body)
        except Exception as e:  # noqa: BLE001 - botocore errors become failed samples
            exc = e
            status, err = _aws_error(e)
        self.environment.events.request.fire(
            request_type="invoke",
            name=prompt.name,
            response_time=(time.perf_counter() - t0) * 1000.0,
            response_length=len(text),
            exception=exc or (None if ok else Exception(err)),
            context={},
        )
        return ok, status, text, err


def _aws_error(exc: Exception) -> tuple[int, str]:
    """(HTTP status, error) of a failed `invoke_agent_runtime`, worded like the local target's.

    An AWS error answer keeps its status and code (`HTTP 424: RuntimeClientError: ...`);
    no response at all is status 0 with the local target's wording (`timed out`, ...).
    """
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    if isinstance(exc, ClientError):
        meta = exc.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        error = exc.response.get("Error", {})
        code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
        detail = ": ".join(p for p in (code if code != str(status) else "", message) if p)
        return status, f"HTTP {status}" + (f": {detail}" if detail else "")
    if isinstance(exc, (ReadTimeoutError, ConnectTimeoutError)):
        return 0, "timed out"
    if isinstance(exc, EndpointConnectionError):
        return 0, f"connection failed: {exc}"
    return 0, f"{type(exc).__name__}: {exc}"


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
            profile=config.extra.get("aws_profile"),
        )
    attrs.update(pacing(config, recorder))
    return type(base.__name__.replace("User", "Load"), (base,), attrs)

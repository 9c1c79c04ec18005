"""Langfuse access: credentials, the auth check, retries and the error boundary.

Pipeline role: the only place the Langfuse store and run recorder touch the SDK's REST
client (`langfuse.api.LangfuseAPI`) directly. A `LangfuseConnection` is opened per
environment (and cached per process by its users):

1. the host and keys are resolved from their `env:`/`ssm:` references (`secret_refs`);
2. `GET /api/public/projects` checks the keys before any work is done: a 401/403 is a
   `PermanentError` naming the environment and the key *references* (never the values), and
   a `project:` setting that does not match the keys' project is refused as well;
3. every call goes through `call()`, which owns the retry policy (tenacity, `RetryPolicy`):
   the SDK's own retries are switched off per request (`max_retries: 0`) so exactly one
   policy is in charge. 408, 429 and 5xx/transport errors are retried with bounded attempts
   and a cap on the total wait, honouring `Retry-After`; what is left becomes
   `TemporaryError(delay=...)`, other client errors `PermanentError`. SDK exceptions never
   leave this module, and every message is scrubbed of the key values.

Why the REST client and not `Langfuse()`: the client object is a per-public-key process
singleton that starts background threads and an OpenTelemetry pipeline; dataset sync needs
none of that. The run recorder, which does need tracing, asks `tracing.tracing_for(conn)`.
The SDK is imported lazily: `agentops --help` and `validate` never import it.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from engine.errors import PermanentError, ProviderError, TemporaryError
from engine.providers.secret_refs import Secret, SsmTarget, resolve_secret
from engine.spec.schema.base import SECRET_RE
from engine.spec.schema.environment import AwsSettings, LangfuseSettings

T = TypeVar("T")
#: `exhausted(attempts, next_delay, error)`: raises the error a spent retry budget ends in
Exhausted = Callable[[int, float, BaseException], None]

#: per-request options for the SDK's generated client: our `call()` does the retrying
NO_SDK_RETRIES: Mapping[str, Any] = {"max_retries": 0}
_SENSITIVE = "(sensitive)"


@dataclass(frozen=True)
class LangfuseTarget:
    """Where an environment's Langfuse data goes: references only (safe to keep in state)."""

    env: str
    host: str
    public_key: str
    secret_key: str
    project: str | None = None
    ssm: SsmTarget = field(default_factory=SsmTarget)

    @classmethod
    def of(cls, env: str, settings: LangfuseSettings, aws: AwsSettings | None) -> LangfuseTarget:
        return cls(
            env,
            settings.host,
            settings.public_key,
            settings.secret_key,
            settings.project,
            SsmTarget.of(aws),
        )

    @property
    def shown_host(self) -> str:
        """The host for messages: the URL, or its reference when it is one."""
        return self.host.rstrip("/")

    @property
    def keys(self) -> str:
        return f"publicKey {self.public_key}, secretKey {self.secret_key}"

    def to_json(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "host": self.host,
            "public_key": self.public_key,
            "secret_key": self.secret_key,
            "project": self.project,
            "ssm": {
                "region": self.ssm.region,
                "profile": self.ssm.profile,
                "endpoint_url": self.ssm.endpoint_url,
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LangfuseTarget:
        ssm = data.get("ssm") or {}
        return cls(
            str(data["env"]),
            str(data["host"]),
            str(data["public_key"]),
            str(data["secret_key"]),
            data.get("project"),
            SsmTarget(ssm.get("region"), ssm.get("profile"), ssm.get("endpoint_url")),
        )


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: at most `attempts` tries and `max_wait` seconds of waiting in all.

    The wait before a retry is the server's `Retry-After` when it sent one, else
    `base_delay * 2 ** (attempt - 1)` capped at `max_delay`. A retry whose wait would take
    the total past `max_wait` is not made: the caller gets the error at once."""

    attempts: int = 5
    max_wait: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    sleep: Callable[[float], None] = time.sleep

    def retrying(self, retryable: Callable[[BaseException], bool], exhausted: Exhausted) -> Any:
        """A `tenacity.Retrying` for this policy: `retryable` says which errors are retried,
        `exhausted(attempts, next_delay, error)` raises when the budget is spent."""
        import tenacity

        backoff = tenacity.wait_exponential(multiplier=self.base_delay, max=self.max_delay)
        attempts, max_wait = self.attempts, self.max_wait

        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome is not None else None
            delay = retry_after(getattr(error, "headers", None))
            return backoff(state) if delay is None else delay

        def stop(state: tenacity.RetryCallState) -> bool:
            # tenacity computes the wait first: `upcoming_sleep` is the one this retry needs
            over_budget = state.idle_for + state.upcoming_sleep > max_wait
            return state.attempt_number >= attempts or over_budget

        def give_up(state: tenacity.RetryCallState) -> None:
            assert state.outcome is not None
            error = state.outcome.exception()
            assert error is not None
            exhausted(state.attempt_number, state.upcoming_sleep, error)

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(retryable),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            retry_error_callback=give_up,
        )


@dataclass(frozen=True)
class Project:
    id: str
    name: str


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), if any."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class LangfuseConnection:
    """An authenticated REST connection to the Langfuse project of one environment."""

    def __init__(
        self,
        target: LangfuseTarget,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.target = target
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        what = f"environment '{target.env}': langfuse"
        host = target.host
        if SECRET_RE.match(host):
            host = resolve_secret(host, what=f"{what}.host", ssm=target.ssm).reveal()
        self.host = host.rstrip("/")
        self.public_key: Secret = resolve_secret(
            target.public_key, what=f"{what}.publicKey", ssm=target.ssm
        )
        self.secret_key: Secret = resolve_secret(
            target.secret_key, what=f"{what}.secretKey", ssm=target.ssm
        )
        self._http: Any = None
        self._api: Any = None
        self._lock = threading.Lock()
        self.project = self._auth_check()

    # --- plumbing -----------------------------------------------------------------------
    @property
    def api(self) -> Any:
        """The SDK's generated REST client (`langfuse.api.LangfuseAPI`)."""
        with self._lock:
            return self._api or self._make_api()

    def _make_api(self) -> Any:
        if self._api is None:
            import httpx
            from langfuse import __version__ as sdk_version
            from langfuse.api import LangfuseAPI

            self._http = httpx.Client(timeout=self.timeout, verify=_tls())
            self._api = LangfuseAPI(
                base_url=self.host,
                username=self.public_key.reveal,
                password=self.secret_key.reveal,
                x_langfuse_sdk_name="python",
                x_langfuse_sdk_version=sdk_version,
                x_langfuse_public_key=self.public_key.reveal(),
                timeout=self.timeout,
                httpx_client=self._http,
            )
        return self._api

    def link(self, path: str) -> str:
        """A UI link; host-relative when the host came from a reference (kept unprinted)."""
        base = "" if SECRET_RE.match(self.target.host) else self.host
        return f"{base}{path}"

    def redact(self, text: str) -> str:
        for secret in (self.secret_key, self.public_key):
            value = secret.reveal()
            if value:
                text = text.replace(value, _SENSITIVE)
        return text

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    # --- the error boundary -------------------------------------------------------------
    def call(self, what: str, fn: Callable[[Mapping[str, Any]], T]) -> T:
        """`fn(request_options)` with our retry policy; SDK errors become engine errors."""
        return cast(T, self._call(what, fn, missing_ok=False))

    def find(self, what: str, fn: Callable[[Mapping[str, Any]], T]) -> T | None:
        """Like `call`, but a 404 is an answer (None), not an error."""
        return self._call(what, fn, missing_ok=True)

    def _call(
        self, what: str, fn: Callable[[Mapping[str, Any]], T], *, missing_ok: bool
    ) -> T | None:
        import httpx
        import pydantic
        from langfuse.api.core.api_error import ApiError

        def retryable(exc: BaseException) -> bool:
            if isinstance(exc, ApiError):
                status = exc.status_code or 0
                return status in (408, 429) or status >= 500
            return isinstance(exc, httpx.TransportError)

        def exhausted(attempts: int, delay: float, exc: BaseException) -> None:
            status = (exc.status_code or 0) if isinstance(exc, ApiError) else None
            if status is None:
                problem = f"unreachable ({type(exc).__name__})"
            else:
                problem = "rate limited (HTTP 429)" if status == 429 else f"HTTP {status}"
            raise TemporaryError(
                f"{self._where()}: {what} failed: {problem} after {attempts} attempt(s)",
                delay=max(delay, 1.0),
                hint="Langfuse Cloud allows as little as 100 dataset requests a minute on "
                "small plans; apply again later (every write is an idempotent upsert)"
                if status == 429
                else "apply again later; check the host if it keeps failing",
            ) from None

        try:
            return cast(T, self.retry.retrying(retryable, exhausted)(fn, NO_SDK_RETRIES))
        except ApiError as exc:  # not retryable: an answer or a client error
            status = exc.status_code or 0
            if status == 404 and missing_ok:
                return None
            raise self._permanent(what, status, exc.body) from None
        except pydantic.ValidationError as exc:
            raise PermanentError(
                f"{self._where()}: unexpected response to {what} "
                f"({exc.error_count()} invalid field(s))",
                hint="is the host a Langfuse v3 server with the public API enabled?",
            ) from None

    def _where(self) -> str:
        return f"environment '{self.target.env}': Langfuse at {self.target.shown_host}"

    def _permanent(self, what: str, status: int, body: object) -> ProviderError:
        if status in (401, 403):
            return PermanentError(
                f"{self._where()} rejected the API keys (HTTP {status}) - {self.target.keys}",
                hint="check the values behind those references: keys belong to one project "
                "(Langfuse: Settings > API Keys) and to one host (cloud.langfuse.com, "
                "us.cloud.langfuse.com or your own)",
            )
        if 200 <= status < 300:  # the SDK could not read a 2xx body: not Langfuse's API
            return PermanentError(
                f"{self._where()}: unexpected (non-JSON) response to {what}",
                hint="is the host a Langfuse server, and not a login page or proxy?",
            )
        message = body.get("message") if isinstance(body, dict) else body
        detail = self.redact(str(message or "").strip())[:300]
        return PermanentError(
            f"{self._where()} rejected {what} (HTTP {status})" + (f": {detail}" if detail else "")
        )

    def _auth_check(self) -> Project:
        projects = self.call("the auth check", lambda o: self.api.projects.get(request_options=o))
        found = [Project(p.id, p.name) for p in projects.data]
        if not found:
            raise PermanentError(
                f"{self._where()}: the keys ({self.target.keys}) belong to no project",
                hint="use a project's API keys (Settings > API Keys), not organisation keys",
            )
        wanted = self.target.project
        if wanted is None:
            return found[0]
        for p in found:
            if wanted in (p.name, p.id):
                return p
        names = ", ".join(sorted(p.name for p in found))
        raise PermanentError(
            f"{self._where()}: the keys ({self.target.keys}) belong to project {names}, "
            f"but the environment says project '{wanted}'",
            hint="fix langfuse.project, or point the key references at that project's keys",
        )


_tls_lock = threading.Lock()
_tls_context: Any = None


def _tls() -> Any:
    """One TLS context per process: loading the CA bundle costs ~0.1 s per client."""
    global _tls_context
    with _tls_lock:
        if _tls_context is None:
            import httpx

            # httpx's own default (certifi, or SSL_CERT_FILE / SSL_CERT_DIR), made once
            _tls_context = httpx.create_ssl_context()
        return _tls_context

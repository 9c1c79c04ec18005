"""AWS access for the AgentCore provider: lazy boto3 clients, the error boundary, polling.

Pipeline role: the only place the AgentCore provider touches boto3/botocore directly. Every
call goes through `Aws.call` (or `find`/`pages`), which translates botocore's exceptions
into the engine's vocabulary with `agentcore_errors` - `botocore.exceptions.ClientError`
never leaves this module. Retries: botocore's `standard`
mode (exponential backoff with jitter, throttling-aware) with a capped number of attempts
and capped connect/read timeouts, so a single call cannot hang an apply; the one retry
botocore cannot know about, a brand-new IAM role that is not usable yet, is tenacity's
(`retry_new_role`). Waiting for a runtime to become READY is polling (`poll_until`).

boto3 is imported when the first client is made, never at import time: `agentops --help`
and `validate` must not pay for it (see engine/cli.py).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from engine import faults
from engine.errors import PermanentError, ProviderError, TemporaryError
from engine.providers.agentcore.errors import is_not_found, translate, translate_core
from engine.spec.schema.environment import AwsSettings

T = TypeVar("T")

#: botocore attempts per call (the first try included); override for tests against moto
DEFAULT_MAX_ATTEMPTS = 5
MAX_ATTEMPTS_ENV = "AGENTOPS_AWS_MAX_ATTEMPTS"


@dataclass(frozen=True)
class AwsTarget:
    """Where calls go: recorded in state so deletes work after the Environment is gone."""

    region: str
    endpoint_url: str | None = None
    profile: str | None = None
    account_id: str | None = None

    @classmethod
    def of(cls, aws: AwsSettings) -> AwsTarget:
        return cls(aws.region, aws.endpoint_url, aws.profile, aws.account_id)

    def to_json(self) -> dict[str, str | None]:
        return {
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "profile": self.profile,
            "account_id": self.account_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AwsTarget:
        return cls(
            str(data["region"]),
            data.get("endpoint_url"),
            data.get("profile"),
            data.get("account_id"),
        )


_SESSIONS: dict[str | None, Any] = {}
_SESSIONS_LOCK = threading.RLock()


def _session(profile: str | None) -> Any:
    """One boto3 session per profile and process: a session caches the service models it
    loaded (large JSON files, 0.1-0.5 s each), which every plan and apply would otherwise
    parse again for each provider instance. Creating clients from it is serialised here
    because boto3 sessions are not thread-safe while they build clients."""
    import boto3  # lazy: see the module docstring

    with _SESSIONS_LOCK:
        if profile not in _SESSIONS:
            _SESSIONS[profile] = boto3.session.Session(profile_name=profile)
        return _SESSIONS[profile]


class Aws:
    """boto3 clients for one target, created on first use and shared between threads."""

    def __init__(self, target: AwsTarget) -> None:
        self.target = target
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._account: str | None = target.account_id

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _make(self, service: str) -> Any:
        from botocore.config import Config

        attempts = int(os.environ.get(MAX_ATTEMPTS_ENV, "") or DEFAULT_MAX_ATTEMPTS)
        config = Config(
            region_name=self.target.region,
            retries={"mode": "standard", "max_attempts": max(1, attempts)},
            connect_timeout=10,
            read_timeout=60,
            user_agent_extra="agentops",
        )
        with _SESSIONS_LOCK:
            return _session(self.target.profile).client(
                service, endpoint_url=self.target.endpoint_url, config=config
            )

    def call(
        self, service: str, operation: str, resource: str, *, mutating: bool = False, **params: Any
    ) -> dict[str, Any]:
        """One API call with errors translated; `mutating` calls are crash-test fault points."""
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client(service), _snake(operation))
        try:
            result: dict[str, Any] = method(**params)
        except ClientError as exc:
            raise translate(exc, service, operation, resource) from exc
        except BotoCoreError as exc:
            raise translate_core(exc, service, operation, resource) from exc
        if mutating:
            # After the call: the window where AWS has the object and state does not yet.
            faults.point("aws_call")
        return result

    def find(
        self, service: str, operation: str, resource: str, **params: Any
    ) -> dict[str, Any] | None:
        """Like `call`, but a not-found answer is None instead of an error."""
        try:
            return self.call(service, operation, resource, **params)
        except ProviderError as exc:
            if exc.__cause__ is not None and is_not_found(exc.__cause__):
                return None
            raise

    def pages(
        self, service: str, operation: str, key: str, resource: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item under `key` across all pages (nextToken / Marker pagination)."""
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client(service).get_paginator(_snake(operation))
        try:
            for page in paginator.paginate(**params):
                yield from page.get(key, [])
        except ClientError as exc:
            raise translate(exc, service, operation, resource) from exc
        except BotoCoreError as exc:
            raise translate_core(exc, service, operation, resource) from exc

    def account_id(self) -> str:
        if self._account is None:
            ident = self.call("sts", "GetCallerIdentity", "the caller identity")
            self._account = str(ident["Account"])
        return self._account

    @property
    def partition(self) -> str:
        region = self.target.region
        if region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i and not operation[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def poll_until(
    fetch: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    first: float = 0.2,
    longest: float = 5.0,
) -> T:
    """Call `fetch` until `done(result)`: short intervals first, growing to `longest`.

    No fixed sleeps: moto (and a fast AWS) answer READY on the first poll, so the usual
    cost is one call. A timeout is a `TemporaryError`: the next apply resumes the wait.
    """
    deadline = time.monotonic() + timeout
    interval = first
    while True:
        result = fetch()
        if done(result):
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TemporaryError(
                f"{what} did not finish within {timeout:g}s",
                delay=30.0,
                hint="apply again to resume waiting, or raise the environment's 'aws.readyTimeout'",
            )
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, longest)


def retry_new_role(
    fn: Callable[[], T],
    *,
    fresh: bool,
    timeout: float = 90.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `fn`, retrying while a role created moments ago is not yet usable.

    IAM is eventually consistent: AgentCore and CodeBuild reject a brand-new role ("cannot
    assume role", "role validation failed") for some seconds. Only retried when `fresh`;
    waits of 1, 2, 4, 8, then 10 s, and none that would end past `timeout`.
    """
    if not fresh:
        return fn()
    import tenacity

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_role_propagating),
        wait=tenacity.wait_exponential(multiplier=1.0, max=10.0),
        stop=tenacity.stop_before_delay(timeout),
        sleep=sleep,
        reraise=True,
    )
    return retrying(fn)


def _role_propagating(exc: BaseException) -> bool:
    text = str(exc).lower()
    return (
        isinstance(exc, PermanentError)
        and "role" in text
        and any(w in text for w in ("assume", "not authorized", "validation", "trust"))
    )

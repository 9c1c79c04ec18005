"""The tracing side of a Langfuse connection: the SDK client that exports run traces.

Pipeline role: used by the run recorder (`langfuse_runs`) through
`tracing_for(conn)`. Three things the SDK does by default that the engine
must not do are handled here:

* it installs a *global* OpenTelemetry TracerProvider, which would start exporting any span
  of the engine process to Langfuse: the client gets a TracerProvider of its own;
* it keeps one client per public key per process and silently reuses the first one's host
  for a second client with the same key: a clash is refused instead of writing elsewhere;
* with `LANGFUSE_DEBUG` it logs a lot: key values are scrubbed from its log records.

`LANGFUSE_TRACING_ENABLED=false` or `OTEL_SDK_DISABLED=true` would make it drop every trace
silently; recording a run then fails loudly instead.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import TYPE_CHECKING, Any

from engine.errors import PermanentError

if TYPE_CHECKING:
    from engine.providers.langfuse.http import LangfuseConnection
    from engine.providers.secret_refs import Secret

_SENSITIVE = "(sensitive)"
_tracing_lock = threading.Lock()
#: public key -> host of the tracing clients made by this process
_tracing_hosts: dict[str, str] = {}


_clients: weakref.WeakKeyDictionary[LangfuseConnection, Any] = weakref.WeakKeyDictionary()


def tracing_for(conn: LangfuseConnection) -> Any:
    """The connection's `langfuse.Langfuse` client that exports traces, made once.

    It gets its own OpenTelemetry TracerProvider instead of installing a global one: the
    engine process must not start exporting unrelated spans to Langfuse. (Kept here, not on
    the connection, so that the connection never imports the tracing side.)
    """
    with _tracing_lock:
        client = _clients.get(conn)
    if client is None:
        client = tracing_client(conn)
        with _tracing_lock:
            client = _clients.setdefault(conn, client)
    return client


def tracing_client(conn: LangfuseConnection) -> Any:
    from langfuse import Langfuse
    from opentelemetry.sdk.trace import TracerProvider

    from engine.providers.langfuse.traces import root_ids

    if os.environ.get("LANGFUSE_TRACING_ENABLED", "true").lower() == "false" or (
        os.environ.get("OTEL_SDK_DISABLED", "false").lower() == "true"
    ):
        raise PermanentError(
            f"environment '{conn.target.env}': runs cannot be recorded in Langfuse because "
            "tracing is disabled (LANGFUSE_TRACING_ENABLED=false or OTEL_SDK_DISABLED=true)",
            hint="unset the variable, or use store: local for this environment",
        )
    pk = conn.public_key.reveal()
    _redact_logs(conn)
    with _tracing_lock:
        # The SDK keeps one client per public key per process and silently reuses its host
        # for a second client with the same key: refuse instead of writing to the wrong place.
        known = _tracing_hosts.setdefault(pk, conn.host)
        if known != conn.host:
            raise PermanentError(
                f"environment '{conn.target.env}': its public key ({conn.target.public_key}) "
                "is already used with another Langfuse host in this process",
                hint="give each Langfuse host its own project keys",
            )
    return Langfuse(
        public_key=pk,
        secret_key=conn.secret_key.reveal(),
        base_url=conn.host,
        tracing_enabled=True,
        sample_rate=1.0,
        timeout=int(conn.timeout),
        # a case's root span gets the ids the runner sent in its traceparent
        tracer_provider=TracerProvider(id_generator=root_ids()),
    )


class _Redact(logging.Filter):
    """Scrubs key values from log records of the SDK and its exporter (debug mode logs a lot)."""

    def __init__(self, secrets: tuple[Secret, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for secret in self.secrets:
            if secret.reveal() and secret.reveal() in text:
                text = text.replace(secret.reveal(), _SENSITIVE)
                record.msg, record.args = text, ()
        return True


def _redact_logs(conn: LangfuseConnection) -> None:
    f = _Redact((conn.public_key, conn.secret_key))
    for name in ("langfuse", "opentelemetry.exporter.otlp.proto.http.trace_exporter"):
        logging.getLogger(name).addFilter(f)


def forget_tracing_clients() -> None:
    """For tests that reset the SDK's per-key singletons between doubles."""
    with _tracing_lock:
        _tracing_hosts.clear()

"""Traces in AWS: the agent's OpenTelemetry spans exported to Langfuse, keys read at run time.

In an Environment with ``store: langfuse`` the AgentCore provider gives the runtime only
non-secret settings (``engine/providers/agentcore/telemetry.py``):

* ``AGENTOPS_OTLP_ENDPOINT`` - Langfuse's OTLP endpoint, ``<host>/api/public/otel`` (or
  ``AGENTOPS_LANGFUSE_HOST_REF=ssm:/...`` when the host is itself a reference);
* ``AGENTOPS_LANGFUSE_PUBLIC_KEY_REF`` / ``AGENTOPS_LANGFUSE_SECRET_KEY_REF`` - ``ssm:/path``
  parameter names, which the execution role may read (exactly those);
* ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` (address, digest, environment).

:func:`setup_telemetry` (called by every reference agent at start-up) reads the two keys from
SSM, builds ``Authorization: Basic base64(pk:sk)`` in memory and hands it to Strands' OTLP
exporter (``StrandsTelemetry().setup_otlp_exporter(endpoint=..., headers=...)``). The keys
never reach ``os.environ``: the agent's code, its MCP tool servers (which inherit the
environment) and its logs cannot see them. The seed instead put the header into the
runtime's environment variables, where AgentCore shows it in plaintext.

When neither endpoint variable is set (locally, offline, in tests) nothing happens and
nothing is imported. A failure to read the keys is logged (naming the parameter, never a
value) and the agent serves without exporting: losing traces must not take it down.

:func:`request_trace` continues the caller's trace: the engine's invoker sends a W3C
``traceparent`` (boto3 ``invoke_agent_runtime(traceParent=...)``), AgentCore forwards it and
bedrock-agentcore hands it to the entrypoint in ``context.request_headers`` (lower-cased),
so the agent's spans land in the trace of the engine's gate case or experiment item.
:func:`trace_headers` does the same for calls to other agents (:mod:`agentkit.calls`).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.secrets import SecretError, read_reference

ENDPOINT = "AGENTOPS_OTLP_ENDPOINT"
HOST_REF = "AGENTOPS_LANGFUSE_HOST_REF"
PUBLIC_KEY_REF = "AGENTOPS_LANGFUSE_PUBLIC_KEY_REF"
SECRET_KEY_REF = "AGENTOPS_LANGFUSE_SECRET_KEY_REF"
OTLP_PATH = "/api/public/otel"
TRACES_PATH = "/v1/traces"
TRACE_HEADERS = ("traceparent", "tracestate")

log = logging.getLogger("agentkit.telemetry")
_lock = threading.Lock()
_configured: Any = None  # the process's StrandsTelemetry, once set up


@dataclass(frozen=True)
class Export:
    """Where spans go and the headers that authorise them (held in memory only)."""

    endpoint: str
    headers: dict[str, str] = field(repr=False)


def enabled(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(ENDPOINT) or env.get(HOST_REF))


def basic_auth(public_key: str, secret_key: str) -> str:
    """The ``Authorization`` value Langfuse's OTLP endpoint takes."""
    return "Basic " + base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")


def export_settings(environ: Mapping[str, str] | None = None, client: Any = None) -> Export | None:
    """The OTLP traces URL and its auth header, keys read from SSM; None when not enabled."""
    env = os.environ if environ is None else environ
    if not enabled(env):
        return None
    missing = [v for v in (PUBLIC_KEY_REF, SECRET_KEY_REF) if not env.get(v)]
    if missing:
        raise SecretError(f"span export is configured but {', '.join(missing)} is not set")
    if client is None:
        import boto3  # lazy: only agents deployed with span export need it

        client = boto3.client("ssm")
    base = env.get(ENDPOINT) or (
        read_reference(env[HOST_REF], "langfuse.host", client).rstrip("/") + OTLP_PATH
    )
    public = read_reference(env[PUBLIC_KEY_REF], "langfuse.publicKey", client)
    secret = read_reference(env[SECRET_KEY_REF], "langfuse.secretKey", client)
    return Export(base.rstrip("/") + TRACES_PATH, {"Authorization": basic_auth(public, secret)})


def setup_telemetry(
    environ: Mapping[str, str] | None = None,
    client: Any = None,
    *,
    tracer_provider: Any = None,
) -> Any:
    """Export the agent's spans to Langfuse; the ``StrandsTelemetry``, or None (disabled).

    Once per process (later calls return the first result). ``tracer_provider``: an SDK
    ``TracerProvider`` to configure instead of the global one (tests).
    """
    global _configured
    with _lock:
        if _configured is not None and tracer_provider is None:
            return _configured
        try:
            settings = export_settings(environ, client)
        except SecretError as exc:
            log.error("traces are not exported: %s", exc)
            return None
        if settings is None:
            return None
        from strands.telemetry import StrandsTelemetry

        telemetry = StrandsTelemetry(tracer_provider=tracer_provider or _sdk_provider())
        telemetry.setup_otlp_exporter(endpoint=settings.endpoint, headers=settings.headers)
        log.info("exporting traces to %s", settings.endpoint)
        if tracer_provider is None:
            _configured = telemetry
        return telemetry


def _sdk_provider() -> Any:
    """The global SDK tracer provider when one is installed already (e.g. by an
    auto-instrumentation wrapper), so we add our exporter to it instead of replacing it."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    current = trace.get_tracer_provider()
    return current if isinstance(current, TracerProvider) else None


@contextlib.contextmanager
def request_trace(context: Any) -> Iterator[None]:
    """Within the block, spans continue the caller's W3C trace (if its request carried one).

    ``context`` is bedrock-agentcore's ``RequestContext`` (or None); its ``request_headers``
    are lower-cased and include ``traceparent`` when the caller sent one."""
    headers = getattr(context, "request_headers", None) or {}
    carrier = {k.lower(): str(v) for k, v in headers.items() if k.lower() in TRACE_HEADERS}
    if "traceparent" not in carrier:
        yield
        return
    from opentelemetry import context as otel_context
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    token = otel_context.attach(TraceContextTextMapPropagator().extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)


def trace_headers() -> dict[str, str]:
    """``traceparent`` (and ``tracestate``) of the current span, for a call to another agent;
    empty when there is no recording span (nothing to continue)."""
    try:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
    except ImportError:  # pragma: no cover - Strands depends on opentelemetry
        return {}
    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier

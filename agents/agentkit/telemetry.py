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

Langfuse's real-time read path (``GET /api/public/v2/observations``, what a Monitor of the
agent reads) lists OTLP spans at once only from exporters that send
``x-langfuse-ingestion-version: 4``; without it they may show up ~10 minutes late, so the
exporter sends it. Each invocation's entry span (the first span without a local parent:
Strands' ``invoke_agent``) is marked by :func:`entry_spans` with what the Monitor lists the
agent's traces by - the trace name (the agent), the Langfuse environment, tags (the source
and the caller's tags) and metadata (env, agent, address, digest, source), as the local
host's export does - and as the application root (``langfuse.internal.as_root``), so a
caller's ``traceparent`` does not hide it from ``isRootObservation``. Every other span of
the agent gets observation metadata ``agent``: the Monitor reads the agent's tool spans
(Strands' ``execute_tool <name>``, its trajectory) by it, and not those of an agent it
called, whose spans join the same trace.

The source is the request's (:func:`request_trace`): the caller says whose traffic it is
with ``X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source`` (the engine's gate and
experiment cases, load tests; AgentCore forwards it because agentops lists it in the
runtime's ``requestHeaderAllowlist``) or, on the local runtime, ``X-Agentops-Source``; the
prompt's tags come in ``...-Agentops-Tags`` / ``X-Agentops-Tags``. A missing, empty or
unknown value is ``production``: a caller cannot hide production traffic behind a made-up
source (only the engine's known ones, ``SOURCES``, are taken), and tags that name a source
are dropped (hosted judges filter on tags).

When neither endpoint variable is set (locally, offline, in tests) nothing happens and
nothing is imported. A failure to read the keys is logged (naming the parameter, never a
value) and the agent serves without exporting: losing traces must not take it down.

:func:`request_trace` continues the caller's trace: the engine's invoker sends a W3C
``traceparent`` (boto3 ``invoke_agent_runtime(traceParent=...)``), AgentCore forwards it and
bedrock-agentcore hands it to the entrypoint in ``context.request_headers`` (lower-cased),
so the agent's spans land in the trace of the engine's gate case or experiment item.
:func:`trace_headers` does the same for calls to other agents (:mod:`agentkit.calls`),
and :func:`current_source` gives them the request's source to pass on, so a load test's
downstream calls are load-test traffic too.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import logging
import os
import re
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
#: Langfuse lists spans of exporters sending this on its real-time path (v2 observations)
INGESTION_VERSION = {"x-langfuse-ingestion-version": "4"}
SERVICE = "OTEL_SERVICE_NAME"
RESOURCE = "OTEL_RESOURCE_ATTRIBUTES"
#: the source of a request that names none (or an unknown one)
SOURCE = "production"
SOURCES = ("production", "loadtest", "evaluation", "experiment", "monitor")
#: request headers (lower-cased, as bedrock-agentcore hands them over): AgentCore's, local
CUSTOM_PREFIX = "x-amzn-bedrock-agentcore-runtime-custom-"
SOURCE_HEADERS = (CUSTOM_PREFIX + "agentops-source", "x-agentops-source")
TAGS_HEADERS = (CUSTOM_PREFIX + "agentops-tags", "x-agentops-tags")
#: what a call to another agent sends its source as (AgentCore; the local runtime)
AGENTCORE_SOURCE_HEADER = "X-Amzn-Bedrock-AgentCore-Runtime-Custom-Agentops-Source"
LOCAL_SOURCE_HEADER = "X-Agentops-Source"
_TAG = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
MAX_TAGS = 16

log = logging.getLogger("agentkit.telemetry")
_lock = threading.Lock()
_configured: Any = None  # the process's StrandsTelemetry, once set up


@dataclass(frozen=True)
class Origin:
    """Whose traffic the current request is: its source and the caller's tags."""

    source: str = SOURCE
    tags: tuple[str, ...] = ()


#: the current request's origin, set by `request_trace` (None outside a request); Strands
#: copies the context into its threads, so its spans and tools see it
_origin: contextvars.ContextVar[Origin | None] = contextvars.ContextVar(
    "agentkit_origin", default=None
)


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
    headers = {"Authorization": basic_auth(public, secret), **INGESTION_VERSION}
    return Export(base.rstrip("/") + TRACES_PATH, headers)


def _header(headers: Mapping[str, Any], names: tuple[str, ...]) -> str:
    lowered = {str(k).lower(): v for k, v in headers.items()}
    return next((str(lowered[n]) for n in names if lowered.get(n) is not None), "")


def origin_of(context: Any) -> Origin:
    """The source and tags a request's headers claim (see the module doc): an unknown or
    missing source is production; tags are kept only when well-formed and not a source."""
    headers = getattr(context, "request_headers", None) or {}
    claimed = _header(headers, SOURCE_HEADERS).strip().lower()
    source = claimed if claimed in SOURCES else SOURCE
    tags: list[str] = []
    for tag in _header(headers, TAGS_HEADERS).split(","):
        tag = tag.strip()
        if _TAG.fullmatch(tag) and tag not in SOURCES and tag not in tags:
            tags.append(tag)
    return Origin(source, tuple(tags[:MAX_TAGS]))


def current_source() -> str | None:
    """The current request's source (None outside :func:`request_trace`)."""
    origin = _origin.get()
    return None if origin is None else origin.source


def origin_attributes(origin: Origin) -> dict[str, Any]:
    """The entry span's attributes that say whose traffic it was."""
    return {
        "langfuse.trace.tags": sorted({origin.source, *origin.tags}),
        "langfuse.trace.metadata.source": origin.source,
        "langfuse.observation.metadata.source": origin.source,
    }


def entry_attributes(
    environ: Mapping[str, str] | None = None, origin: Origin | None = None
) -> dict[str, Any]:
    """The attributes of an invocation's entry span (see the module doc)."""
    env = os.environ if environ is None else environ
    resource = dict(part.split("=", 1) for part in env.get(RESOURCE, "").split(",") if "=" in part)
    meta = {
        "env": resource.get("agentops.environment", ""),
        "agent": env.get(SERVICE, ""),
        "address": resource.get("agentops.address", ""),
        "digest": resource.get("agentops.digest", ""),
    }
    attrs: dict[str, Any] = {
        "langfuse.trace.name": meta["agent"],
        "langfuse.internal.as_root": True,
    }
    if meta["env"]:
        attrs["langfuse.environment"] = meta["env"]
    for key, value in meta.items():
        if value:
            attrs[f"langfuse.trace.metadata.{key}"] = value
            attrs[f"langfuse.observation.metadata.{key}"] = value
    attrs.update(origin_attributes(origin or Origin()))
    return attrs


def entry_spans(attributes: Mapping[str, Any]) -> Any:
    """A span processor that marks each span without a local parent with `attributes` and
    the current request's origin, and every other span with the agent's name (built here:
    OpenTelemetry is imported only when spans are exported)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanProcessor

    marks = dict(attributes)
    agent = marks.get("langfuse.observation.metadata.agent")
    inner = {"langfuse.observation.metadata.agent": agent} if agent else {}

    class EntrySpans(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            parent = trace.get_current_span(parent_context).get_span_context()
            if parent.is_valid and not parent.is_remote:
                if inner:  # a child of the agent's own span: the agent's, not an entry
                    span.set_attributes(inner)
                return
            span.set_attributes({**marks, **origin_attributes(_origin.get() or Origin())})

    return EntrySpans()


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
        telemetry.tracer_provider.add_span_processor(entry_spans(entry_attributes(environ)))
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
    """Within the block, spans continue the caller's W3C trace (if its request carried one)
    and say whose traffic the request is (:func:`origin_of`; :func:`current_source`).

    ``context`` is bedrock-agentcore's ``RequestContext`` (or None); its ``request_headers``
    are lower-cased and include ``traceparent`` when the caller sent one."""
    origin_token = _origin.set(origin_of(context))
    try:
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
    finally:
        _origin.reset(origin_token)


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

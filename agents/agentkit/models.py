"""Build a Strands model from an agentops model string.

Accepted forms (the engine resolves aliases before the agent sees them):

* ``offline:keyword`` / ``offline:semantic`` - the deterministic non-LLM policies in
  :mod:`agentkit.offline` (no network, no credentials).
* ``bedrock:<model-id>`` - ``strands.models.bedrock.BedrockModel`` (AWS credentials and region
  from the usual boto3 sources).
* ``openai:<model>`` - ``strands.models.openai.OpenAIModel`` against any OpenAI-compatible
  server: ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` are read from the environment. Needs the
  ``openai`` package.

Provider SDKs are imported lazily so that offline agents never import them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MODEL = "offline:keyword"
ACCEPTED_FORMS = "offline:keyword, offline:semantic, bedrock:<model-id>, openai:<model>"


def model_string_from_env() -> str:
    """``AGENTOPS_MODEL`` or the offline default."""
    return (os.environ.get("AGENTOPS_MODEL") or "").strip() or DEFAULT_MODEL


def build_model(model_string: str | None = None) -> Any:
    """Return a Strands ``Model`` for ``model_string`` (default: ``AGENTOPS_MODEL``)."""
    spec = (model_string or model_string_from_env()).strip()
    provider, sep, name = spec.partition(":")
    if not sep or not name:
        raise ValueError(f"invalid model string {spec!r}; accepted forms: {ACCEPTED_FORMS}")

    if provider == "offline":
        from agentkit.offline import VARIANTS, OfflineModel

        if name not in VARIANTS:
            raise ValueError(f"unknown offline model {spec!r}; accepted forms: {ACCEPTED_FORMS}")
        return OfflineModel(name)

    if provider == "bedrock":
        from strands.models.bedrock import BedrockModel

        return BedrockModel(model_id=name)

    if provider == "openai":
        try:
            from strands.models.openai import OpenAIModel
        except ImportError as exc:  # strands imports `openai` at module import time
            raise RuntimeError(
                f"model {spec!r} needs the 'openai' package: pip install 'strands-agents[openai]'"
            ) from exc
        client_args: dict[str, Any] = {"api_key": os.environ.get("OPENAI_API_KEY") or "unused"}
        if base_url := os.environ.get("OPENAI_BASE_URL"):
            client_args["base_url"] = base_url
        return OpenAIModel(client_args=client_args, model_id=name)

    raise ValueError(
        f"unknown model provider {provider!r} in {spec!r}; accepted forms: {ACCEPTED_FORMS}"
    )


def warm_up_model(model_string: str | None = None) -> None:
    """Pay a model's start-up costs now (the offline models: the embedding weights that harm
    detection and semantic retrieval use, about 0.3 s). Errors are logged; the first request
    retries and reports them properly."""
    try:
        model = build_model(model_string)
        if hasattr(model, "warm_up"):
            model.warm_up()
    except Exception:
        log.exception("model warm-up failed")


def warm_up_lifespan(
    warm_up: Callable[[], None] = warm_up_model,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that runs `warm_up` beside the server: /ping answers at once, and a
    request that arrives early simply pays the remaining start-up cost itself."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        threading.Thread(target=warm_up, name="model-warm-up", daemon=True).start()
        yield

    return lifespan

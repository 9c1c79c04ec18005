"""The LLM judge: configuration, and the autoevals client built from it.

Role: the one place that touches `openai` and autoevals' client machinery. Everything is
imported lazily inside functions, so `import engine.evaluators` stays cheap and works
without the `evals` extra installed.

How the judge is wired into autoevals (0.4.1) and why:

* each scorer gets its own client (``client=``) and ``model=`` instead of the global
  ``autoevals.init(client=...)``: that global is a ContextVar, and the runners score items
  in worker threads, which do not inherit a ContextVar set on the main thread;
* the client is an ``openai.OpenAI(base_url=..., api_key=...)`` wrapped in autoevals'
  ``LLMClient``. autoevals needs the ``openai`` package even for custom clients
  (``LLMClient.__post_init__`` imports it), hence the clear "install the evals extra" error;
* autoevals retries a rate-limited call up to 100 times with exponential sleeps (minutes to
  hours in total). We let the openai client do the retrying (``max_retries``, honouring
  Retry-After) and make autoevals' loop catch nothing, so a judge that stays throttled
  becomes a recorded evaluator error instead of a hung run;
* model names starting with ``gpt-5`` are sent to the **Responses API** (``POST /responses``)
  by autoevals; every other name goes to ``POST /chat/completions``. A self-hosted or fake
  OpenAI-compatible judge usually only implements the latter, so name it anything but
  ``gpt-5*`` there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import EvaluatorConfigError
from engine.spec.evaluator_refs import judge_missing

INSTALL_HINT = "pip install 'agentops[evals]'"


@dataclass(frozen=True)
class JudgeConfig:
    """An OpenAI-compatible chat model used as judge (autoevals' LLM scorers, facts, refusal).

    ``model`` is any name the endpoint serves (``gpt-4o-mini``, ``qwen2.5:7b``...). Names
    starting with ``gpt-5`` make autoevals use the OpenAI Responses API instead of chat
    completions, which most OpenAI-compatible servers do not implement.
    """

    model: str
    #: None means the openai default (``OPENAI_BASE_URL`` or api.openai.com)
    base_url: str | None = None
    #: the key itself (resolved from the Environment's secret reference); None means
    #: ``OPENAI_API_KEY`` when base_url is None, else a placeholder (local servers accept any)
    api_key: str | None = None
    #: choice -> score overrides for autoevals LLM scorers whose choices include every key
    choice_scores: Mapping[str, float] | None = None
    #: per request; a judge that does not answer in time is a recorded evaluator error
    timeout_s: float = 60.0
    #: retries by the openai client (429/5xx/connection errors) before giving up
    max_retries: int = 2

    @property
    def uses_responses_api(self) -> bool:
        return self.model.startswith("gpt-5")


def require_judge(judge: JudgeConfig | None, what: str) -> JudgeConfig:
    if judge is None:
        raise judge_missing(what)
    return judge


def require_openai() -> None:
    """Fail early, at build time, when the judge's client library is missing."""
    try:
        import openai  # noqa: F401 - presence check only
    except ImportError as exc:
        raise EvaluatorConfigError(
            f"LLM judging needs the 'openai' package, which is not installed ({exc})",
            hint=INSTALL_HINT,
        ) from exc
    require_autoevals("LLM judging")


def require_autoevals(what: str) -> None:
    try:
        import autoevals  # noqa: F401 - presence check only
    except ImportError as exc:
        raise EvaluatorConfigError(
            f"{what} needs the 'autoevals' package, which is not installed ({exc})",
            hint=INSTALL_HINT,
        ) from exc


class _NeverRaised(Exception):
    """Given to autoevals as its RateLimitError so its unbounded retry loop never triggers."""


def llm_client(judge: JudgeConfig) -> Any:
    """An autoevals ``LLMClient`` talking to the judge endpoint (openai/autoevals imported here)."""
    require_openai()
    import openai
    from autoevals.oai import LLMClient

    api_key = judge.api_key
    if api_key is None:
        # OPENAI_API_KEY is only sent to OpenAI itself: a custom base_url must name its own
        # key, so a local or third-party judge never receives the OpenAI key by accident.
        api_key = (os.environ.get("OPENAI_API_KEY") if judge.base_url is None else None) or "unused"
    client = openai.OpenAI(
        base_url=judge.base_url,
        api_key=api_key,
        timeout=judge.timeout_s,
        max_retries=judge.max_retries,
    )
    wrapped = LLMClient(openai=client)
    wrapped.RateLimitError = _NeverRaised
    return wrapped


YES_NO = {"Y": 1.0, "N": 0.0}


def yes_no_classifier(judge: JudgeConfig, name: str, prompt_template: str) -> Any:
    """An autoevals LLMClassifier answering Y/N (with reasoning) through the judge.

    The template is mustache (``{{input}}``, ``{{output}}``, ``{{expected}}``).
    """
    from autoevals import LLMClassifier

    return LLMClassifier(
        name,
        prompt_template,
        dict(YES_NO),
        model=judge.model,
        use_cot=True,
        client=llm_client(judge),
    )


def classify(classifier: Any, *, output: str, expected: str | None, input: str) -> tuple[str, str]:
    """(choice, rationale) of one judge call; raises on transport or protocol errors."""
    result = classifier.eval(output=output, expected=expected, input=input)
    metadata = getattr(result, "metadata", None) or {}
    choice = str(metadata.get("choice", ""))
    rationale = str(metadata.get("rationale", "")).strip()
    return choice, rationale

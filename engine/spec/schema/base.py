"""Shared pieces of the spec language: the envelope, names, secret refs, durations.

Every document is `apiVersion: agentops/v1`, `kind`, `metadata: {name, labels}`, `spec`.
Spec fields are camelCase in YAML (Kubernetes style) and snake_case in Python; unknown
fields are errors everywhere (`extra="forbid"`), and models are frozen.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.alias_generators import to_camel

API_VERSION = "agentops/v1"

NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?$")
SECRET_RE = re.compile(r"^(env:[A-Za-z_][A-Za-z0-9_]*|ssm:/[A-Za-z0-9_.\-/]+)$")
ENV_VAR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MODEL_RE = re.compile(r"^(bedrock|openai|offline):[^\s]+$")
ALIAS_RE = re.compile(r"^[a-z][a-z0-9_-]{0,47}$")
DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")

MODEL_PROVIDERS = ("bedrock", "openai", "offline")


class SpecModel(BaseModel):
    """Base of every spec model: camelCase aliases, unknown fields rejected, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
        # NaN passes every `ge`/`le` check by failing to compare: never a meaningful setting
        allow_inf_nan=False,
    )


class InvalidValue(ValueError):
    """A validator's complaint plus what to do about it (shown as the diagnostic's hint)."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _check_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise InvalidValue(
            f"invalid name '{value}'",
            "use lowercase letters, digits and '-', starting and ending with a letter or digit, "
            "at most 48 characters",
        )
    return value


def _check_secret(value: str) -> str:
    if not SECRET_RE.match(value):
        raise InvalidValue(
            f"malformed secret reference '{_redact(value)}'",
            "use env:NAME or ssm:/path; secrets are references, never values",
        )
    return value


def _redact(value: str) -> str:
    # A malformed reference may be a pasted secret: never echo more than a prefix.
    return value if len(value) <= 6 else value[:4] + "…"


def _check_env_var(value: str) -> str:
    if not ENV_VAR_RE.match(value):
        raise InvalidValue(
            f"invalid environment variable name '{value}'",
            "use letters, digits and '_', not starting with a digit",
        )
    return value


#: the longest duration any field takes (seconds): beyond it a value is a typo, and timers
#: and sleeps overflow (threading.TIMEOUT_MAX is ~292 years, datetime arithmetic less)
MAX_DURATION = 366 * 24 * 3600.0
_DURATION_HINT = "use e.g. 500ms, 30s, 5m, 1h or a number of seconds"


def parse_duration(value: object) -> float:
    """'500ms', '10s', '2m', '1h' or a number of seconds -> seconds."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidValue("a duration must be a number of seconds or a string", _DURATION_HINT)
    seconds: float | None = None
    if isinstance(value, str):
        m = DURATION_RE.match(value)
        if m:
            number, unit = float(m.group(1)), m.group(2) or "s"
            seconds = number * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    else:
        try:
            seconds = float(value)
        except OverflowError:
            seconds = math.inf
        if seconds < 0:
            raise InvalidValue("a duration cannot be negative", _DURATION_HINT)
    if seconds is None:
        raise InvalidValue(f"invalid duration {value!r}", _DURATION_HINT)
    if not math.isfinite(seconds):
        raise InvalidValue("a duration must be finite", _DURATION_HINT)
    if seconds > MAX_DURATION:
        raise InvalidValue(
            f"a duration cannot be longer than {MAX_DURATION // 3600:.0f}h (366 days)",
            _DURATION_HINT,
        )
    return seconds


Name = Annotated[str, AfterValidator(_check_name)]
SecretRef = Annotated[
    str,
    AfterValidator(_check_secret),
    WithJsonSchema({"type": "string", "pattern": SECRET_RE.pattern}),
]
EnvVarName = Annotated[str, AfterValidator(_check_env_var)]
Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(lambda v: v, return_type=float),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_DURATION},
                {"type": "string", "pattern": DURATION_RE.pattern},
            ]
        }
    ),
]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]

#: the description of every kind's `kind:` (each kind narrows the field to its own name)
KIND_DESCRIPTION = (
    "The document's kind: Environment, Agent, Dataset, Experiment, QualityGate, LoadTest or "
    "Monitor. It decides what `spec` holds."
)


class Metadata(SpecModel):
    """Who a document is: its name (unique per kind), labels and a description."""

    name: Name = Field(
        description="The document's name: lowercase letters, digits and '-', starting and ending "
        "with a letter or digit, at most 48 characters; unique per kind. Other documents refer "
        "to it by this name, and it is the resource's address (`agent.<name>[env]`).",
        examples=["docs-assistant"],
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Free-form key/value labels for people and tools (agentops stores them "
        "and does not act on them). Default: none.",
        examples=[{"team": "platform"}],
    )
    description: str | None = Field(default=None, description="What the document is for.")


class Document(SpecModel):
    """The envelope; subclasses narrow `kind` and `spec`."""

    KIND: ClassVar[str] = ""
    #: kinds whose resources live per environment carry `[env]` in their address
    PER_ENVIRONMENT: ClassVar[bool] = True

    api_version: Literal["agentops/v1"] = Field(
        description="The version of the spec language: always `agentops/v1`."
    )
    kind: str = Field(description=KIND_DESCRIPTION)
    metadata: Metadata = Field(description="The document's name, labels and description.")
    spec: Any

    @property
    def name(self) -> str:
        return self.metadata.name

"""Secrets in AWS: read the SSM parameters the engine names, at start-up, into the environment.

For a secret ``VAR: ssm:/path`` the AgentCore provider sets ``AGENTOPS_SECRET_VAR_SSM=/path``
(the parameter's NAME, never its value) and lets the agent's execution role call
``ssm:GetParameter`` on exactly that parameter. :func:`load_ssm_secrets` fetches each one
(decrypted) and sets ``VAR``, so agent code reads ``os.environ["VAR"]`` the same way as
locally, where the engine resolves ``env:NAME`` references itself.

Values are never logged or printed; errors name the variable and the parameter only.
Nothing happens (and boto3 is not imported) when no ``AGENTOPS_SECRET_*_SSM`` is set.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from typing import Any

PREFIX = "AGENTOPS_SECRET_"
SUFFIX = "_SSM"


class SecretError(RuntimeError):
    """A referenced parameter could not be read (names it, never a value)."""


def references(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """VAR -> parameter name, from ``AGENTOPS_SECRET_<VAR>_SSM`` variables."""
    env = os.environ if environ is None else environ
    out = {}
    for key, value in env.items():
        if key.startswith(PREFIX) and key.endswith(SUFFIX) and len(key) > len(PREFIX + SUFFIX):
            out[key[len(PREFIX) : -len(SUFFIX)]] = value
    return out


def load_ssm_secrets(
    environ: MutableMapping[str, str] | None = None, client: Any = None
) -> list[str]:
    """Set every referenced secret that is not set yet; returns the variable names set."""
    env = os.environ if environ is None else environ
    refs = {var: name for var, name in references(env).items() if var not in env}
    if not refs:
        return []
    if client is None:
        import boto3  # lazy: only agents deployed with ssm: secrets need it

        client = boto3.client("ssm")
    for var, name in sorted(refs.items()):
        env[var] = _get_parameter(client, name, var)
    return sorted(refs)


def read_reference(ref: str, what: str, client: Any = None) -> str:
    """The value of an ``ssm:/path`` reference, returned - never put into the environment.

    For values the agent's own code must not see as variables (the Langfuse keys its span
    export uses: :mod:`agentkit.telemetry`)."""
    scheme, _, name = ref.partition(":")
    if scheme != "ssm" or not name.startswith("/"):
        raise SecretError(f"{what}: expected an ssm:/path reference, got {scheme or ref!r}")
    if client is None:
        import boto3  # lazy, as above

        client = boto3.client("ssm")
    return _get_parameter(client, name, what)


def _get_parameter(client: Any, name: str, what: str) -> str:
    try:
        resp = client.get_parameter(Name=name, WithDecryption=True)
    except Exception as exc:  # botocore errors: name the parameter, not the value
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise SecretError(f"cannot read SSM parameter {name} for {what}: {code}") from None
    return str(resp["Parameter"]["Value"])

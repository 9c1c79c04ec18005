"""Secret references (`env:NAME`, `ssm:/path`) resolved at run time, never kept in the clear.

Pipeline role: providers call `resolve_secret` right before they talk to a service (the
Langfuse store's public/secret keys and host). Specs and state only ever hold the
*reference*; the value lives in a `Secret`, whose `repr`/`str` never show it, so an
accidental log line, f-string or exception message cannot leak it. Callers read the value
with `reveal()` at the one place it is needed (an HTTP Basic auth header).

`ssm:` references are read with boto3 `ssm.get_parameter(WithDecryption=True)` in the
region (and profile, endpoint) of the environment's `aws:` section, else boto3's defaults.
boto3 is imported on first use only, so `agentops --help` and `validate` never pay for it.
Errors name the reference and what to do, never a value.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.errors import PermanentError, ProviderError, TemporaryError
from engine.spec.diagnostics import Diagnostic, Severity
from engine.spec.schema.environment import AwsSettings
from engine.spec.secret_uses import secret_uses
from engine.spec.specs import Workspace


class Secret:
    """A resolved secret value; prints as its reference, never as itself."""

    __slots__ = ("_value", "ref")

    def __init__(self, ref: str, value: str) -> None:
        self.ref = ref
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.ref!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # pickling would write the value to disk or a pipe; nothing in the engine needs it
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class SsmTarget:
    """Where `ssm:` parameters are read from."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None

    @classmethod
    def of(cls, aws: AwsSettings | None) -> SsmTarget:
        if aws is None:
            return cls()
        return cls(aws.region, aws.profile, aws.endpoint_url)


_clients: dict[SsmTarget, Any] = {}
_clients_lock = threading.Lock()


def _ssm_client(target: SsmTarget) -> Any:
    with _clients_lock:
        client = _clients.get(target)
        if client is None:
            import boto3  # lazy: only environments with ssm: references need it
            from botocore.config import Config

            session = boto3.session.Session(profile_name=target.profile, region_name=target.region)
            client = session.client(
                "ssm",
                endpoint_url=target.endpoint_url,
                config=Config(retries={"mode": "standard", "max_attempts": 4}),
            )
            _clients[target] = client
        return client


def reset_clients() -> None:
    """Forget cached SSM clients (tests switch between moto and real endpoints)."""
    with _clients_lock:
        _clients.clear()


def resolve_secret(ref: str, *, what: str, ssm: SsmTarget | None = None) -> Secret:
    """The value behind `ref`; `what` names the setting in errors (`environment 'prd' ...`)."""
    scheme, _, target = ref.partition(":")
    if scheme == "env":
        value = os.environ.get(target)
        if value is None or value == "":
            raise PermanentError(
                f"{what} references env:{target}, which is not set",
                hint=f"export {target} before running agentops (or use an ssm:/path reference)",
            )
        return Secret(ref, value)
    if scheme == "ssm":
        return Secret(ref, _read_parameter(target, ref, what, ssm or SsmTarget()))
    raise PermanentError(
        f"{what} is not a secret reference (env:NAME or ssm:/path)",
        hint="secrets are references, never values",
    )


def _read_parameter(name: str, ref: str, what: str, target: SsmTarget) -> str:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        response = _ssm_client(target).get_parameter(Name=name, WithDecryption=True)
    except NoRegionError:
        raise PermanentError(
            f"{what} references {ref}, but no AWS region is known to read it from",
            hint="add 'aws: {region: ...}' to the environment or set AWS_REGION",
        ) from None
    except NoCredentialsError:
        raise PermanentError(
            f"{what} references {ref}, but no AWS credentials were found to read it",
            hint="configure AWS credentials (profile, SSO, the CI role) for agentops",
        ) from None
    except ClientError as exc:
        raise _translate(exc, ref, what) from None
    except BotoCoreError as exc:
        raise TemporaryError(
            f"{what}: reading {ref} from SSM failed ({type(exc).__name__})", delay=5.0
        ) from None
    value = response.get("Parameter", {}).get("Value")
    if not isinstance(value, str) or not value:
        raise PermanentError(f"{what}: SSM parameter {ref} is empty")
    return value


def _translate(exc: Any, ref: str, what: str) -> PermanentError | TemporaryError:
    # Only the error code is used: AWS messages can quote the request, and a request is
    # never worth risking in an error that is printed.
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code == "ParameterNotFound":
        return PermanentError(
            f"{what} references {ref}, which does not exist in SSM",
            hint=f"create it: aws ssm put-parameter --name {ref[4:]} --type SecureString "
            "--value ...",
        )
    if code in ("AccessDeniedException", "AccessDenied"):
        return PermanentError(
            f"{what}: access denied reading {ref} (ssm:GetParameter, and kms:Decrypt for "
            "a SecureString)",
            hint="grant ssm:GetParameter on the parameter to the identity running agentops",
        )
    if code in ("ThrottlingException", "TooManyUpdates", "Throttling"):
        return TemporaryError(f"{what}: SSM throttled reading {ref}", delay=5.0)
    return PermanentError(f"{what}: reading {ref} from SSM failed ({code or 'unknown error'})")


def check_secret_uses(ws: Workspace, envs: Iterable[str]) -> list[Diagnostic]:
    """Plan's preflight: an error per reference of `envs` that cannot be resolved.

    `env:` variables must be set; `ssm:` parameters must be readable (fetched without
    decryption and dropped: only whether the read succeeds matters). Environments not in
    `envs` are not looked at, so planning `dev` never calls AWS for `prd`. Messages name the
    field and the reference, never a value."""
    problems: list[Diagnostic] = []
    for use in secret_uses(ws, envs):
        scheme, _, target = use.ref.partition(":")
        what = f"{use.field} (for {use.env})"
        error: ProviderError | None = None
        if scheme == "env":
            if not os.environ.get(target):
                error = PermanentError(
                    f"{what} references env:{target}, which is not set",
                    hint=f"export {target} before running agentops (or use an ssm:/path reference)",
                )
        else:
            ssm = SsmTarget.of(ws.environments[use.env].doc.spec.aws)
            error = _check_parameter(target, use.ref, what, ssm)
        if error is not None:
            problems.append(use.diagnostic(str(error), error.hint, Severity.ERROR))
    return problems


def _check_parameter(name: str, ref: str, what: str, target: SsmTarget) -> ProviderError | None:
    """None when `ref` can be read; else the error (as `_read_parameter` would raise it)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    try:
        _ssm_client(target).get_parameter(Name=name, WithDecryption=False)
    except NoRegionError:
        return PermanentError(
            f"{what} references {ref}, but no AWS region is known to read it from",
            hint="add 'aws: {region: ...}' to the environment or set AWS_REGION",
        )
    except NoCredentialsError:
        return PermanentError(
            f"{what} references {ref}, but no AWS credentials were found to read it",
            hint="configure AWS credentials (profile, SSO, the CI role) for agentops",
        )
    except ClientError as exc:
        return _translate(exc, ref, what)
    except BotoCoreError as exc:
        return TemporaryError(f"{what}: reading {ref} from SSM failed ({type(exc).__name__})")
    return None

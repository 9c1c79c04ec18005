"""AWS errors in the engine's vocabulary: the AgentCore provider's error boundary.

Pipeline role: `agentcore_aws.Aws` passes every botocore exception through `translate` /
`translate_core` (STYLE: "translate SDK errors at the boundary"), so what leaves a provider
call is a `TemporaryError` or a `PermanentError` that names the resource and what to do:

* throttling left over after botocore's own retries -> `TemporaryError(delay=...)`, honouring
  a `Retry-After` header when the service sent one;
* `AccessDenied*` -> `PermanentError` naming the IAM action that was refused and the resource;
* quotas (`ServiceQuotaExceeded`, `LimitExceeded`, ...) -> `PermanentError` naming the quota;
* `ValidationException` and friends -> `PermanentError` with AWS's reason;
* 5xx, conflicts (a resource mid-transition), timeouts, connection errors -> `TemporaryError`.

AWS error messages name resources, never request parameter values, so quoting them leaks
no secret (and agentops sends none: secrets travel as SSM parameter names).
"""

from __future__ import annotations

from engine.errors import PermanentError, ProviderError, TemporaryError

_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
}
_ACCESS = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "UnauthorizedException",
    "AuthorizationError",
}
_CREDENTIALS = {
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
}
_QUOTA = {
    "ServiceQuotaExceededException",
    "LimitExceeded",
    "LimitExceededException",
    "AccountLimitExceededException",
    "ResourceLimitExceededException",
    "TooManyBuckets",
}
_VALIDATION = {
    "ValidationException",
    "ValidationError",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterException",
    "InvalidInputException",
    "InvalidInput",
    "MalformedPolicyDocument",
    "MalformedPolicyDocumentException",
    "InvalidRequest",
}
_NOT_FOUND = {
    "ResourceNotFoundException",
    "NoSuchEntity",
    "NoSuchKey",
    "NotFound",
    "404",
    "RepositoryNotFoundException",
    "ImageNotFoundException",
    "ParameterNotFound",
}
_TEMPORARY = {"ConflictException", "InternalServerException", "ServiceUnavailableException"}

#: IAM action prefixes of the services we call (botocore service name -> IAM prefix)
_IAM_PREFIX = {
    "bedrock-agentcore-control": "bedrock-agentcore",
    "bedrock-agentcore": "bedrock-agentcore",
}
#: operations whose IAM action has another name
_IAM_ACTION = {
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "DeleteObjects": "DeleteObject",
}


def iam_action(service: str, operation: str) -> str:
    prefix = _IAM_PREFIX.get(service, service)
    return f"{prefix}:{_IAM_ACTION.get(operation, operation)}"


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) in _NOT_FOUND


def _retry_after(exc: BaseException, default: float) -> float:
    response = getattr(exc, "response", None) or {}
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
    value = str(headers.get("retry-after", "")).strip()
    return float(value) if value.replace(".", "", 1).isdigit() else default


def translate(exc: BaseException, service: str, operation: str, resource: str) -> ProviderError:
    """A botocore exception as the engine's error, naming the resource and the permission."""
    code = error_code(exc)
    response = getattr(exc, "response", None) or {}
    message = str(response.get("Error", {}).get("Message", "") or exc)
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    action = iam_action(service, operation)
    if code in _THROTTLING:
        delay = _retry_after(exc, 5.0)
        return TemporaryError(
            f"AWS throttled {action} on {resource} after the SDK's retries; try again in "
            f"{delay:g}s",
            delay=delay,
            hint="lower --parallelism, or ask for a higher request rate quota",
        )
    if code in _ACCESS:
        return PermanentError(
            f"access denied: the AWS credentials may not call {action} on {resource}",
            hint=f"grant {action} to the identity running agentops (docs/aws.md lists the "
            "engine's policy)",
        )
    if code in _CREDENTIALS:
        return PermanentError(
            f"the AWS credentials were rejected ({code}) calling {action} on {resource}",
            hint="refresh the credentials (aws sso login, the CI OIDC role) or check the profile",
        )
    if code in _QUOTA:
        return PermanentError(
            f"AWS quota exceeded ({code}) by {action} on {resource}: {message}",
            hint="delete unused resources or request an increase in the Service Quotas console",
        )
    if code in _VALIDATION:
        return PermanentError(f"AWS rejected {action} for {resource}: {message}")
    if code in _NOT_FOUND:
        return PermanentError(f"{resource} does not exist ({action}: {message})")
    if code in _TEMPORARY or status >= 500:
        return TemporaryError(
            f"AWS could not complete {action} on {resource} now ({code or status}): {message}",
            delay=_retry_after(exc, 10.0),
        )
    return PermanentError(f"AWS error {code or status} from {action} on {resource}: {message}")


def translate_core(
    exc: BaseException, service: str, operation: str, resource: str
) -> ProviderError:
    """botocore's non-HTTP errors: credentials, connectivity, client-side validation."""
    name = type(exc).__name__
    action = iam_action(service, operation)
    if name in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound"):
        return PermanentError(
            f"no usable AWS credentials for {action} on {resource} ({name})",
            hint="set AWS_PROFILE or the environment's 'aws.profile', or use the CI OIDC role",
        )
    if name == "ParamValidationError":
        return PermanentError(f"invalid request for {action} on {resource}: {exc}")
    if name in (
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ConnectionClosedError",
    ):
        return TemporaryError(f"cannot reach AWS for {action} on {resource}: {name}", delay=10.0)
    return PermanentError(f"AWS SDK error from {action} on {resource}: {name}: {exc}")

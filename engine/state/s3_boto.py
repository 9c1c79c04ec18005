"""boto3 behind the S3 state store: the one module outside providers/ that imports it.

Pipeline role: `engine.state.objects.ObjectStore` on real S3 (or anything that speaks it:
moto, MinIO). The state store is not a provider (it runs before any provider is chosen,
and plan needs it without any AWS resource in the specs), so it sits here, and the
import-linter contract names exactly this module as its exception (pyproject.toml).

The error boundary: `botocore` exceptions never leave this module.
- 412 PreconditionFailed, 409 ConditionalRequestConflict, and 404 for a conditional write
  whose object is gone -> `Conflict` (the store decides what a lost race means); a delete
  of an object that is gone is done;
- NoSuchBucket, AccessDenied, missing credentials, a bad bucket name -> StateError saying
  what to fix;
- throttling, 5xx and network errors are retried by botocore's `standard` mode (exponential
  back-off with jitter, AGENTOPS_AWS_MAX_ATTEMPTS attempts, 5 by default); what is left is a
  StateError that says what to check.

Region and endpoint come from the usual AWS configuration (AWS_REGION, profiles,
AWS_ENDPOINT_URL_S3 for moto or MinIO). boto3 is imported on the first request only.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import threading
from typing import Any

from engine.errors import StateError
from engine.state.objects import Conflict, Listed, StoredObject

MAX_ATTEMPTS_ENV = "AGENTOPS_AWS_MAX_ATTEMPTS"
DEFAULT_MAX_ATTEMPTS = 5
_CONFLICT = {"PreconditionFailed", "ConditionalRequestConflict"}
_ACCESS = {"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_CREDENTIALS = {"ExpiredToken", "InvalidToken", "TokenRefreshRequired"}


_SESSION: Any = None
_SESSION_LOCK = threading.Lock()


def _session() -> Any:
    """One boto3 session per process: it caches the S3 service model (~0.1 s to load), and
    clients made from it still read the configuration (region, endpoint) when they are made."""
    global _SESSION
    import boto3  # lazy: `agentops --help` and validate never pay for it

    with _SESSION_LOCK:
        if _SESSION is None:
            _SESSION = boto3.session.Session()
        return _SESSION


class BotoObjectStore:
    def __init__(self, bucket: str, *, location: str) -> None:
        self.bucket = bucket
        self.location = location
        self._client: Any = None
        self._mutex = threading.Lock()

    @property
    def attempts(self) -> int:
        return max(1, int(os.environ.get(MAX_ATTEMPTS_ENV, "") or DEFAULT_MAX_ATTEMPTS))

    def client(self) -> Any:
        with self._mutex:
            if self._client is None:
                from botocore.config import Config

                session = _session()
                with _SESSION_LOCK:  # a session is not thread-safe while it makes clients
                    self._client = session.client(
                        "s3",
                        region_name=session.region_name or "us-east-1",
                        config=Config(
                            retries={"mode": "standard", "max_attempts": self.attempts},
                            connect_timeout=5,
                            read_timeout=30,
                            user_agent_extra="agentops-state",
                        ),
                    )
            return self._client

    # --- the ObjectStore protocol -----------------------------------------------------
    def get(self, key: str) -> StoredObject | None:
        from botocore.exceptions import ClientError

        try:
            resp = self._call("get_object", key, Key=key)
            body = resp["Body"].read()
        except ClientError as exc:  # raised by _call only for a missing key
            del exc
            return None
        return StoredObject(
            body=body,
            etag=str(resp["ETag"]),
            last_modified=resp["LastModified"],
            server_time=_server_time(resp),
        )

    def put(
        self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        params: dict[str, Any] = {"Key": key, "Body": body, "ContentType": "application/json"}
        if if_match is not None:
            params["IfMatch"] = if_match
        if if_none_match:
            params["IfNoneMatch"] = "*"
        conditional = if_match is not None or if_none_match
        resp = self._call("put_object", key, conditional=conditional, **params)
        return str(resp["ETag"])

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        params: dict[str, Any] = {"Key": key}
        if if_match is not None:
            params["IfMatch"] = if_match
        self._call("delete_object", key, conditional=if_match is not None, **params)

    def list(self, prefix: str, *, start_after: str | None = None) -> list[Listed]:
        out: list[Listed] = []
        params: dict[str, Any] = {"Prefix": prefix}
        if start_after:
            params["StartAfter"] = start_after
        while True:
            resp = self._call("list_objects_v2", prefix, **params)
            out.extend(Listed(o["Key"], o["LastModified"]) for o in resp.get("Contents", []))
            if not resp.get("IsTruncated"):
                return out
            params["ContinuationToken"] = resp["NextContinuationToken"]

    def versioning(self) -> bool | None:
        try:
            resp = self._call("get_bucket_versioning", "")
        except StateError:
            return None  # e.g. no s3:GetBucketVersioning: keep a .bak to be safe
        return bool(resp.get("Status") == "Enabled")

    # --- the error boundary -----------------------------------------------------------
    def _call(self, method: str, key: str, *, conditional: bool = False, **params: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        try:
            return getattr(self.client(), method)(Bucket=self.bucket, **params)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = str(err.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _CONFLICT or status in (409, 412):
                raise Conflict(f"precondition failed on s3://{self.bucket}/{key}") from None
            if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
                if method == "delete_object":
                    return {}  # gone already (S3 answers 404 to a conditional delete of it)
                if conditional:
                    raise Conflict(f"s3://{self.bucket}/{key} is gone") from None
                raise  # the caller's "there is none"
            raise self._error(method, key, code, str(err.get("Message", "")), status) from None
        except NoCredentialsError:
            raise StateError(
                f"no AWS credentials to reach the state in {self.location}",
                hint="configure credentials (AWS_PROFILE, environment variables, or OIDC in "
                "CI), or pass --state local",
            ) from None
        except BotoCoreError as exc:
            raise StateError(
                f"cannot reach S3 for the state in {self.location} after {self.attempts} "
                f"attempts: {exc}",
                hint="check the network, AWS_REGION and any endpoint override "
                "(AWS_ENDPOINT_URL_S3), then run again: every state object is written whole "
                "or not at all, and the next run resolves what this one left",
            ) from None

    def _error(self, method: str, key: str, code: str, message: str, status: Any) -> StateError:
        what = f"s3://{self.bucket}/{key}" if key else f"the bucket {self.bucket}"
        if code == "NoSuchBucket":
            return StateError(
                f"the S3 bucket '{self.bucket}' of the state {self.location} does not exist",
                hint=f"create it with versioning (docs/state.md): aws s3api create-bucket "
                f"--bucket {self.bucket} && aws s3api put-bucket-versioning --bucket "
                f"{self.bucket} --versioning-configuration Status=Enabled; or fix --state / "
                "AGENTOPS_STATE",
            )
        if code in _ACCESS or status == 403:
            action = {
                "get_object": "s3:GetObject",
                "put_object": "s3:PutObject",
                "delete_object": "s3:DeleteObject",
                "list_objects_v2": "s3:ListBucket",
            }.get(method, method)
            return StateError(
                f"no permission for {action} on {what} ({code or status}: {message})",
                hint="the role needs s3:GetObject, s3:PutObject and s3:DeleteObject on "
                f"arn:aws:s3:::{self.bucket}/<prefix>/* and s3:ListBucket on the bucket "
                "(without ListBucket a missing object reads as AccessDenied); a read-only "
                "`plan --no-lock` needs only GetObject and ListBucket",
            )
        if code in _CREDENTIALS:
            return StateError(
                f"the AWS credentials were refused for {what}: {code}",
                hint="refresh them (aws sso login, or the CI role) and run again",
            )
        if code == "InvalidBucketName":
            return StateError(
                f"'{self.bucket}' is not a valid S3 bucket name ({self.location})",
                hint="fix --state / AGENTOPS_STATE: s3://bucket/prefix",
            )
        return StateError(
            f"S3 refused {method} on {what}: {code or status}: {message}; nothing was written",
            hint="check the bucket and the role's permissions, then run again",
        )


def _server_time(resp: dict[str, Any]) -> dt.datetime:
    date = resp.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date")
    if date:
        try:
            return email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.UTC)

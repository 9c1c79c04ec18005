"""The boto3 boundary of the S3 state store: what each S3 answer becomes (botocore Stubber).

moto answers what it implements; the answers it cannot produce (AccessDenied without an IAM
set-up, 409 ConditionalRequestConflict from racing conditional writes, expired tokens) are
stubbed here, on the same client the store uses.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.stub import Stubber

from engine.errors import StateError
from engine.state.objects import Conflict
from engine.state.s3_boto import BotoObjectStore


@pytest.fixture
def stubbed(s3_env: str) -> Iterator[tuple[BotoObjectStore, Stubber]]:
    objects = BotoObjectStore("team-state", location="s3://team-state/ws")
    with Stubber(objects.client()) as stub:
        yield objects, stub


def error(stub: Stubber, method: str, code: str, status: int) -> None:
    stub.add_client_error(method, service_error_code=code, http_status_code=status)


@pytest.mark.parametrize(
    ("code", "status"),
    [("PreconditionFailed", 412), ("ConditionalRequestConflict", 409), ("NoSuchKey", 404)],
)
def test_a_failed_precondition_or_a_racing_write_is_a_conflict(
    stubbed: tuple[BotoObjectStore, Stubber], code: str, status: int
) -> None:
    objects, stub = stubbed
    error(stub, "put_object", code, status)
    with pytest.raises(Conflict):
        objects.put("ws/state.json", b"{}", if_match='"etag"')


def test_access_denied_names_the_action_and_the_permissions_needed(
    stubbed: tuple[BotoObjectStore, Stubber],
) -> None:
    objects, stub = stubbed
    error(stub, "get_object", "AccessDenied", 403)
    with pytest.raises(StateError) as caught:
        objects.get("ws/state.json")
    assert "no permission for s3:GetObject on s3://team-state/ws/state.json" in str(caught.value)
    hint = caught.value.hint or ""
    assert "s3:ListBucket" in hint and "arn:aws:s3:::team-state/<prefix>/*" in hint


def test_a_missing_object_is_none_and_a_missing_bucket_is_a_message(
    stubbed: tuple[BotoObjectStore, Stubber],
) -> None:
    objects, stub = stubbed
    error(stub, "get_object", "NoSuchKey", 404)
    assert objects.get("ws/state.json") is None
    error(stub, "put_object", "NoSuchBucket", 404)
    with pytest.raises(StateError, match="the S3 bucket 'team-state' .* does not exist"):
        objects.put("ws/state.lock", b"{}", if_none_match=True)


def test_refused_credentials_and_unknown_errors_are_messages(
    stubbed: tuple[BotoObjectStore, Stubber],
) -> None:
    objects, stub = stubbed
    error(stub, "list_objects_v2", "ExpiredToken", 400)
    with pytest.raises(StateError, match="credentials were refused") as caught:
        objects.list("ws/journal/")
    assert "aws sso login" in (caught.value.hint or "")
    error(stub, "delete_object", "NoSuchKey", 404)
    objects.delete("ws/state.lock", if_match='"e"')  # gone already: done
    error(stub, "delete_object", "InternalError", 500)
    with pytest.raises(StateError, match="S3 refused delete_object"):
        objects.delete("ws/state.lock", if_match='"e"')


def test_versioning_that_cannot_be_read_is_unknown(
    stubbed: tuple[BotoObjectStore, Stubber],
) -> None:
    objects, stub = stubbed
    error(stub, "get_bucket_versioning", "AccessDenied", 403)
    assert objects.versioning() is None
    stub.add_response("get_bucket_versioning", {"Status": "Suspended"})
    assert objects.versioning() is False

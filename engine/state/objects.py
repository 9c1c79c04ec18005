"""The object-store interface the S3 state store is written against.

Pipeline role: the boundary below `engine.state.s3` and `engine.state.s3_lock`. Five calls
are all the protocol needs: a read, a write that may be conditional (`If-None-Match: *`,
`If-Match: <etag>`), a delete that may be conditional, a sorted listing and the bucket's
versioning. `engine.state.s3_boto` implements it with boto3 (and translates every botocore
error there); the tests also run the protocol on an in-memory implementation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from engine.errors import StateConflict


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str
    #: when S3 stored this version, by S3's clock
    last_modified: dt.datetime
    #: S3's clock when it answered (the `Date` header): leases are judged by S3's clock only
    server_time: dt.datetime


@dataclass(frozen=True)
class Listed:
    key: str
    last_modified: dt.datetime


class Conflict(StateConflict):
    """A precondition did not hold: 412 PreconditionFailed, 409 ConditionalRequestConflict
    (a concurrent conditional write won), or 404 for `If-Match` on an object that is gone."""


class ObjectStore(Protocol):
    bucket: str

    def get(self, key: str) -> StoredObject | None:
        """The object, or None if there is none."""
        ...

    def put(
        self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Store `body`; its new ETag. Conflict if a precondition fails."""
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove the object (nothing if it is gone). Conflict if `if_match` does not hold."""
        ...

    def list(self, prefix: str, *, start_after: str | None = None) -> list[Listed]:
        """Keys under `prefix` in lexicographic order, after `start_after` if given."""
        ...

    def versioning(self) -> bool | None:
        """Whether the bucket keeps object versions (None: cannot tell, e.g. no permission)."""
        ...

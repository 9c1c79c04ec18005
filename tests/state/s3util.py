"""S3 for the state tests: a moto server (a real HTTP endpoint) and an in-memory object store.

moto 5.2.5 implements what the S3 state store uses: PutObject with `If-None-Match: *` and
`If-Match: <etag>` (412 PreconditionFailed; 404 NoSuchKey for If-Match on a missing key),
DeleteObject with `If-Match` (412), ListObjectsV2 with StartAfter, bucket versioning. What it
does not model is atomicity: it checks the precondition and stores the object in two steps,
and its server is threaded, so two concurrent conditional writes could in principle both
win. Real S3 evaluates them atomically (and answers 409 ConditionalRequestConflict to one
of two racing writes). `start_server` therefore serialises moto's PutObject and
DeleteObject handlers, which is what S3 guarantees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

from engine.errors import StateError
from engine.state.objects import Conflict, Listed, StoredObject

_PATCH_LOCK = threading.Lock()


def make_moto_atomic() -> None:
    """One conditional write at a time in this process's moto (see the module docstring)."""
    from moto.s3 import responses

    if getattr(responses, "_agentops_atomic", False):
        return
    lock = threading.RLock()
    for name in ("put_object", "delete_object"):
        original = getattr(responses.S3Response, name)

        def serialised(self: Any, _original: Any = original) -> Any:
            with lock:
                return _original(self)

        setattr(responses.S3Response, name, serialised)
    responses._agentops_atomic = True


def start_server() -> Any:
    from moto.server import ThreadedMotoServer

    with _PATCH_LOCK:
        make_moto_atomic()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    return server


def new_bucket(url: str, *, versioned: bool = True) -> str:
    import boto3

    name = f"state-{uuid.uuid4().hex[:12]}"
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=url)
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def s3_client(url: str) -> Any:
    import boto3

    return boto3.client("s3", region_name="us-east-1", endpoint_url=url)


def reset(url: str) -> None:
    req = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback moto


class MemoryObjects:
    """An ObjectStore in memory, atomic like S3, with S3's clock under the test's control.

    `lose_answer` names keys whose next conditional write is carried out and then answered
    with a conflict, as when botocore retries a request whose first answer was lost.
    `broken` makes every call fail like a network that is down."""

    def __init__(self, bucket: str = "memory-bucket", *, versioned: bool = True) -> None:
        self.bucket = bucket
        self.versioned = versioned
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self.objects: dict[str, tuple[bytes, str, dt.datetime]] = {}
        self.versions: dict[str, list[bytes]] = {}
        self.calls: list[tuple[str, str]] = []
        self.lose_answer: set[str] = set()
        self.broken = False
        self.on_put: Callable[[str], None] = lambda _k: None
        self._lock = threading.RLock()
        self._n = 0

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += dt.timedelta(seconds=seconds)

    def _check(self, op: str, key: str) -> None:
        self.calls.append((op, key))
        if self.broken:
            raise StateError(f"cannot reach S3 (memory, {op} {key}): the network is down")

    def get(self, key: str) -> StoredObject | None:
        with self._lock:
            self._check("get", key)
            if key not in self.objects:
                return None
            body, etag, modified = self.objects[key]
            return StoredObject(body, etag, modified, self.now)

    def put(
        self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        self.on_put(key)
        with self._lock:
            self._check("put", key)
            current = self.objects.get(key)
            if if_none_match and current is not None:
                raise Conflict(f"412 on {key}")
            if if_match is not None and (current is None or current[1] != if_match):
                raise Conflict(f"412 on {key}")
            self._n += 1
            etag = '"' + hashlib.md5(body + str(self._n).encode()).hexdigest() + '"'  # noqa: S324
            self.objects[key] = (body, etag, self.now)
            self.versions.setdefault(key, []).append(body)
            if (if_match or if_none_match) and key in self.lose_answer:
                self.lose_answer.discard(key)
                raise Conflict(f"412 on {key} (the retry of a request that was carried out)")
            return etag

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        with self._lock:
            self._check("delete", key)
            current = self.objects.get(key)
            if current is None:
                return
            if if_match is not None and current[1] != if_match:
                raise Conflict(f"412 on {key}")
            del self.objects[key]

    def list(self, prefix: str, *, start_after: str | None = None) -> list[Listed]:
        with self._lock:
            self._check("list", prefix)
            return [
                Listed(k, v[2])
                for k, v in sorted(self.objects.items())
                if k.startswith(prefix) and (start_after is None or k > start_after)
            ]

    def versioning(self) -> bool | None:
        self._check("versioning", "")
        return self.versioned

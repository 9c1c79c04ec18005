"""Objects kept beside the state, write-once by key: gate verdicts and baselines.

Pipeline role: below `engine.evaluation.verdicts` and `engine.evaluation.baseline`; every
`StateStore` hands out the sidecar of its location (`store.sidecar()`), so what one machine
records there (a preview's verdict in CI) the next machine sharing the state finds (the
gate on main). Unlike the state these objects need no lock: each is written once under a
content-derived key, and two writers of one key wrote the same thing (the first one stays).

    local state (`.agentops/`, `file://DIR`)   DIR/verdicts/<key>.json, DIR/baselines/...
    S3 state (`s3://bucket/prefix`)            s3://bucket/prefix/verdicts/<key>.json, ...

Local files are written to a temporary file and then linked into place (`os.link` fails if
the name exists: write-once, and a reader never sees half an object); S3 objects with
`If-None-Match: *` (a second writer gets 412 and keeps the first object).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

from engine.errors import StateError
from engine.state.objects import Conflict, ObjectStore
from engine.state.private import open_private, private_dir

#: the folders the engine keeps there (what `state migrate` carries over)
FOLDERS = ("verdicts", "baselines")
#: keys are paths of safe segments: `verdicts/<hex>.json`, `baselines/<gate>/<digest>/<run>.json`
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]*(/[A-Za-z0-9][A-Za-z0-9._@-]*)*$")


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise StateError(f"invalid sidecar key '{key}' (segments of letters, digits, ._@-)")
    return key


class Sidecar(Protocol):
    #: where the objects live, for messages (`.agentops`, `s3://bucket/prefix`)
    location: str

    def get(self, key: str) -> bytes | None:
        """The object, or None if there is none."""
        ...

    def put_once(self, key: str, body: bytes) -> bool:
        """Store `body` under `key` unless something is there already; True if written."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys under `prefix` (a folder: `baselines/release/`), sorted."""
        ...


class LocalSidecar:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.location = str(directory)

    def get(self, key: str) -> bytes | None:
        try:
            return (self.dir / check_key(key)).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StateError(f"cannot read {self.dir / key}: {exc.strerror or exc}") from None

    def put_once(self, key: str, body: bytes) -> bool:
        path = self.dir / check_key(key)
        try:
            private_dir(path.parent)
            # unique per writer: two threads (two previews in one process) may write one key
            tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}.{secrets.token_hex(4)}")
            fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # fails if the name exists: write-once
            except FileExistsError:
                return False
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except OSError as exc:
            raise StateError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check the permissions of the state directory",
            ) from None
        return True

    def list(self, prefix: str) -> list[str]:
        base = self.dir / prefix
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.dir))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )


class S3Sidecar:
    def __init__(self, objects: ObjectStore, prefix: str, *, location: str) -> None:
        self.objects = objects
        self.prefix = prefix.strip("/")
        self.location = location

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str) -> bytes | None:
        obj = self.objects.get(self._key(key))
        return None if obj is None else obj.body

    def put_once(self, key: str, body: bytes) -> bool:
        try:
            self.objects.put(self._key(key), body, if_none_match=True)
        except Conflict:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix.rstrip("/")) + "/"
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted(o.key[cut:] for o in self.objects.list(full))


def copy_all(source: Sidecar, dest: Sidecar) -> int:
    """Copy every object of FOLDERS that `dest` does not have yet; how many were copied."""
    copied = 0
    for folder in FOLDERS:
        for key in source.list(folder + "/"):
            body = source.get(key)
            if body is not None and dest.put_once(key, body):
                copied += 1
    return copied

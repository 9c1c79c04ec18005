"""Where a workspace's state lives: `--state`, `AGENTOPS_STATE`, `agentops.yaml`, or local.

Pipeline role: chooses the `StateStore` before any session opens. First match wins:

    --state URI              (a global flag: one command)
    AGENTOPS_STATE=URI       (what CI sets)
    agentops.yaml: state: URI   (a small workspace file, for teams that want it in git)
    local                    (the default: .agentops/ in the workspace)

URIs: `local`; `file://DIR` (a directory, relative to the workspace unless absolute);
`s3://bucket/prefix` (the state, its journal and its lock under that prefix).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from engine.errors import UsageError
from engine.state.store import StateStore

STATE_ENV = "AGENTOPS_STATE"
WORKSPACE_FILE = "agentops.yaml"
STATE_DIRNAME = ".agentops"
LOCAL = "local"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_FORMS = "`local`, `file://DIR` or `s3://bucket/prefix`"


def state_dir(root: Path) -> Path:
    """The workspace's own directory (logs, tokens, reports, and the local state)."""
    return root / STATE_DIRNAME


@dataclass(frozen=True)
class StateLocation:
    uri: str
    #: what chose it: "--state", "AGENTOPS_STATE", "agentops.yaml" or "default"
    source: str
    scheme: str  # "local" | "s3"
    directory: Path | None = None
    bucket: str = ""
    prefix: str = ""

    @property
    def remote(self) -> bool:
        return self.scheme == "s3"


def parse_uri(uri: str, root: Path, source: str = "--state") -> StateLocation:
    text = uri.strip()
    if text in (LOCAL, ""):
        return StateLocation(LOCAL, source, "local", directory=state_dir(root))
    if text.startswith("file://"):
        directory = Path(text[len("file://") :]).expanduser()
        if not str(directory):
            raise UsageError(f"state URI '{uri}' names no directory", hint=f"use {_FORMS}")
        directory = directory if directory.is_absolute() else root / directory
        return StateLocation(f"file://{directory}", source, "local", directory=directory)
    if text.startswith("s3://"):
        bucket, _, prefix = text[len("s3://") :].partition("/")
        prefix = prefix.strip("/")
        if not _BUCKET.match(bucket):
            raise UsageError(
                f"state URI '{uri}' ({source}) has no valid bucket name",
                hint="use s3://bucket/prefix (3-63 lowercase letters, digits, dots, hyphens)",
            )
        normal = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
        return StateLocation(normal, source, "s3", bucket=bucket, prefix=prefix)
    raise UsageError(f"unknown state URI '{uri}' ({source})", hint=f"use {_FORMS}")


def resolve(root: Path, flag: str | None = None) -> StateLocation:
    """The state location for a workspace (see the module docstring for the order)."""
    if flag:
        return parse_uri(flag, root, "--state")
    env = os.environ.get(STATE_ENV, "").strip()
    if env:
        return parse_uri(env, root, STATE_ENV)
    configured = workspace_file_state(root)
    if configured:
        return parse_uri(configured, root, WORKSPACE_FILE)
    return parse_uri(LOCAL, root, "default")


def workspace_file_state(root: Path) -> str | None:
    """The `state:` line of `agentops.yaml`, if there is one."""
    path = root / WORKSPACE_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        doc = YAML(typ="safe").load(text)
    except YAMLError as exc:
        raise UsageError(f"{WORKSPACE_FILE} is not valid YAML: {exc}") from exc
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise UsageError(f"{WORKSPACE_FILE} must be a mapping, e.g. `state: s3://bucket/prefix`")
    unknown = sorted(str(k) for k in doc if k != "state")
    if unknown:
        raise UsageError(
            f"{WORKSPACE_FILE}: unknown key '{unknown[0]}'", hint="the only key is `state: URI`"
        )
    value = doc.get("state")
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{WORKSPACE_FILE}: `state` must be a URI string ({_FORMS})")
    return value


def open_store(location: StateLocation) -> StateStore:
    if location.scheme == "s3":
        from engine.state.s3 import S3StateStore
        from engine.state.s3_boto import BotoObjectStore

        objects = BotoObjectStore(location.bucket, location=location.uri)
        return S3StateStore(objects, location.prefix, location=location.uri)
    from engine.state.local import LocalStateStore

    assert location.directory is not None
    return LocalStateStore(location.directory, location.uri)


def store_for(root: Path, flag: str | None = None) -> StateStore:
    """The workspace's StateStore, as configured."""
    return open_store(resolve(root, flag))

"""Agent host: the entry point of one local agent process (runs in the child, never in the CLI).

    python -P -m engine.runtime.host --entrypoint PATH --source DIR --port PORT \\
        --ready-file PATH --token-file PATH [--token-file PATH ...] [--cwd DIR]

Role: serve the user's `BedrockAgentCoreApp`, the object they deploy to AgentCore unchanged, on
127.0.0.1 behind `engine.runtime.asgi.RuntimeMiddleware`. The process:

1. changes to `--cwd`, puts `--source` first on `sys.path` (like the root of an AgentCore code
   bundle), and imports the entrypoint by path under its module name, never as `__main__`, so
   the file's `if __name__ == "__main__": app.run()` block does not run;
2. picks the app: the global `app` if it is a `BedrockAgentCoreApp`, else the only such instance
   among the module's globals;
3. binds two sockets itself: the stable `--port` with SO_REUSEPORT (shared with the version
   being replaced) and a private ephemeral port that health checks and control requests use to
   reach this very process. Right after listen() it pins the stable port's group to index 0,
   so joining the group never takes traffic from the running version
   (see `engine.runtime.reuseport`);
4. serves both with uvicorn. Once uvicorn listens, it writes the ready file atomically:
   `{"pid", "port", "private_port"}`;
5. with `AGENTOPS_TRACE_DB` set, every invocation becomes a trace (`engine.runtime.tracing`),
   written by a thread off the request path and flushed before the process exits; with
   `AGENTOPS_TRACE_EXPORT` (a file path) also exported to Langfuse over OTLP;
6. on SIGTERM/SIGINT it waits, at most `DRAIN_TIMEOUT`, until no connection is queued on the stable
   socket, then lets uvicorn stop listening, finish in-flight requests and exit 0. A second
   signal forces the exit.

Everything goes to stdout/stderr, which the parent has pointed at the agent's log file. Exit
codes (`engine.runtime.exitcodes`): 0 after a graceful stop; `EXIT_USAGE` for bad arguments;
`EXIT_IMPORT` when user code raised at import (traceback on stderr); `EXIT_NO_APP` when no single
app was found; `EXIT_BIND` when a port could not be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import json
import os
import socket
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, cast

import uvicorn

from engine.runtime import reuseport
from engine.runtime.exitcodes import EXIT_BIND, EXIT_IMPORT, EXIT_NO_APP, EXIT_USAGE

if TYPE_CHECKING:
    from starlette.types import ASGIApp

DRAIN_TIMEOUT = 1.0  # seconds; only reached when this process is still the one taking traffic
KEEP_ALIVE_TIMEOUT = 30  # idle keep-alive seconds; longer than the client's 5 s expiry


def _log(message: str) -> None:
    print(f"agentops-host[{os.getpid()}]: {message}", file=sys.stderr, flush=True)


def _module_name(entrypoint: Path, source: Path) -> str | None:
    """The dotted name `entrypoint` has when `source` is on sys.path, if it is importable so."""
    try:
        rel = entrypoint.relative_to(source)
    except ValueError:
        return None
    parts = rel.with_suffix("").parts
    if rel.suffix != ".py" or not parts or not all(p.isidentifier() for p in parts):
        return None
    name = ".".join(parts)
    # A name already taken (e.g. a file called json.py) would return the wrong module.
    return None if name in sys.modules else name


def import_entrypoint(entrypoint: Path, source: Path) -> ModuleType:
    """Import the user's file as a regular module, so sibling imports see the same object."""
    name = _module_name(entrypoint, source)
    if name is not None:
        return importlib.import_module(name)
    fallback = "agentops_entrypoint"
    spec = importlib.util.spec_from_file_location(fallback, entrypoint)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {entrypoint}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[fallback] = module
    spec.loader.exec_module(module)
    return module


def find_app(module: ModuleType) -> object:
    """The module's `BedrockAgentCoreApp`; raises LookupError with a message for the log."""
    from bedrock_agentcore import BedrockAgentCoreApp

    named = getattr(module, "app", None)
    if isinstance(named, BedrockAgentCoreApp):
        return named
    found: dict[int, tuple[str, object]] = {}
    for attr, value in vars(module).items():
        if isinstance(value, BedrockAgentCoreApp):
            found.setdefault(id(value), (attr, value))
    if len(found) == 1:
        return next(iter(found.values()))[1]
    where = module.__file__ or module.__name__
    if not found:
        raise LookupError(
            f"{where} defines no BedrockAgentCoreApp instance at module level "
            "(expected e.g. `app = BedrockAgentCoreApp()`)"
        )
    names = ", ".join(sorted(attr for attr, _ in found.values()))
    raise LookupError(
        f"{where} defines several BedrockAgentCoreApp instances ({names}); "
        "name the one to serve `app`"
    )


def write_ready_file(path: Path, info: dict[str, int]) -> None:
    """Write `info` as JSON so that readers never see a partial file (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(info))
    os.replace(tmp, path)


class HostServer(uvicorn.Server):
    """uvicorn.Server that writes the ready file and drains the stable socket before closing.

    Overrides `startup` and `handle_exit`, the hooks uvicorn's own worker classes override.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        stable: socket.socket,
        ready_file: Path,
        port: int,
        private_port: int,
    ) -> None:
        super().__init__(config)
        self.stable = stable
        self.ready_file = ready_file
        self.port = port
        self.private_port = private_port
        self.loop: asyncio.AbstractEventLoop | None = None
        self.exit_requested = False
        self.drain_task: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            info = {"pid": os.getpid(), "port": self.port, "private_port": self.private_port}
            write_ready_file(self.ready_file, info)
            _log(f"ready: port {self.port}, private port {self.private_port}")

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Runs in the main thread between bytecodes. uvicorn's version would stop listening
        # at once; connections already queued on the stable socket would then be reset.
        if self.exit_requested:  # second signal: stop waiting for in-flight requests
            self.force_exit = True
            self.should_exit = True
            return
        self.exit_requested = True
        if self.loop is None:
            self.should_exit = True
            return
        self.loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        self.drain_task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT
        # During an update the new version already takes every new connection, so the
        # queue empties within a loop iteration or two; uvicorn's accept callback is what
        # empties it. When this process is the only listener, connections keep arriving
        # and the deadline ends the wait.
        while reuseport.has_pending_connections(self.stable) and loop.time() < deadline:
            await asyncio.sleep(0.002)
        _log("stopping: no longer accepting; finishing in-flight requests")
        self.should_exit = True


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m engine.runtime.host", description="Serve one agent of the local runtime."
    )
    parser.add_argument("--entrypoint", type=Path, required=True)
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    # repeatable: the engine token, and the agent's own token its callers present
    parser.add_argument("--token-file", type=Path, action="append", required=True)
    parser.add_argument("--cwd", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage
        return EXIT_USAGE if exc.code else 0
    if args.cwd is not None:
        os.chdir(args.cwd)
    tokens: list[str] = []
    for token_file in args.token_file:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            _log(f"cannot read the token file: {exc}")
            return EXIT_USAGE
        if not token:
            _log(f"the token file {token_file} is empty")
            return EXIT_USAGE
        tokens.append(token)
    entrypoint = args.entrypoint.resolve()
    source = args.source.resolve()
    sys.path.insert(0, str(source))

    _log(f"importing {entrypoint}")
    try:
        module = import_entrypoint(entrypoint, source)
    except BaseException:  # noqa: BLE001 - SystemExit at import is user code failing too
        traceback.print_exc()
        _log(f"importing {entrypoint} failed (traceback above)")
        return EXIT_IMPORT
    try:
        app = find_app(module)
    except LookupError as exc:
        _log(str(exc))
        return EXIT_NO_APP

    # Bound only after the import succeeded: a broken version never joins the stable port.
    try:
        private = reuseport.bind_private_socket()
    except OSError as exc:
        _log(f"cannot bind a private port on {reuseport.LOOPBACK}: {exc}")
        return EXIT_BIND
    try:
        stable = reuseport.bind_stable_socket(args.port)
        # Pin the group to index 0: ourselves when alone, the running version otherwise.
        reuseport.steer(stable, 0)
    except OSError as exc:
        _log(f"cannot listen on {reuseport.LOOPBACK}:{args.port}: {exc}")
        return EXIT_BIND
    private_port = int(private.getsockname()[1])

    from engine.runtime.asgi import RuntimeMiddleware
    from engine.runtime.tracing import writer_from_env

    served = cast("ASGIApp", app)  # a BedrockAgentCoreApp is a Starlette app
    traces = writer_from_env(dict(os.environ))
    if traces is not None:
        from engine.runtime.trace_capture import TraceCapture

        traces.start()
        served = TraceCapture(served, traces)
    wrapped = RuntimeMiddleware(
        served,
        tokens=tokens,
        private_port=private_port,
        steer=lambda index: reuseport.steer(stable, index),
    )
    config = uvicorn.Config(
        wrapped,
        log_level="info",
        access_log=False,  # one line per request would dominate the log under load
        lifespan="auto",
        backlog=reuseport.BACKLOG,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        timeout_graceful_shutdown=None,  # in-flight requests finish; the parent bounds the wait
        server_header=False,
        proxy_headers=False,  # nothing proxies to us; do not trust X-Forwarded-* from clients
    )
    server = HostServer(
        config, stable=stable, ready_file=args.ready_file, port=args.port, private_port=private_port
    )
    # uvicorn installs the SIGTERM/SIGINT handlers when it starts serving. Before that the
    # default action (exit at once) is right: the process has not taken a request yet.
    server.run(sockets=[private, stable])
    if traces is not None:  # in-flight requests have finished: flush their traces
        traces.close()
        exported = "" if traces.export is None else f", {traces.export.exported} exported"
        _log(f"traces: {traces.written} recorded, {traces.failed} not recorded{exported}")
    _log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

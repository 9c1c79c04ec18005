"""`agentops logs AGENT [--env ENV] [--since 10m] [--tail N] [-f]`: an agent's logs, wherever.

Pipeline role: CLI glue. The agent's record in state says where its logs are: a local
agent's log file (`outputs.log_file`, written by the agent's host process) or, on
AgentCore, the runtime's CloudWatch Logs group (`engine.providers.agentcore.logs`).
`-f` follows like `tail -f` until Ctrl-C (a file that is truncated is read again from its
start).

`--since` on a local log is as precise as the timestamps in it: every process start writes
a banner with its time, and a line that begins with an ISO-8601 time carries its own;
every other line (the host's, uvicorn's, the agent's prints) counts from the last
timestamp before it. CloudWatch events all carry their time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine.commands.common import AddGlobal, state_store
from engine.errors import UsageError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: a timestamp at the start of a line, or in the host's start banner (`... at <time> ----`)
_STAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"|^---- agentops: starting .* at (\S+) ----$"
)
POLL_SECONDS = 1.0


class LogSource(Protocol):
    where: str

    def first(self, since: float | None) -> list[str]: ...

    def more(self) -> list[str]: ...


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("logs", help="an agent's logs: the local log file or CloudWatch Logs")
    p.add_argument("agent", metavar="AGENT", help="agent name or address, e.g. docs-assistant")
    p.add_argument("--env", metavar="ENV", help="the environment (needed if it runs in several)")
    p.add_argument(
        "--since", metavar="DURATION", help="only newer lines: 30s, 10m, 2h, 1d or an ISO time"
    )
    p.add_argument("--tail", type=int, metavar="N", help="only the last N lines at first")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    add_global(p)
    p.set_defaults(handler=cmd_logs)


def parse_since(text: str, now: float) -> float:
    """`10m` -> now - 600 s; an ISO-8601 time as given (UTC when it has no offset)."""
    m = _DURATION.match(text.strip())
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        stamp = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise UsageError(
            f"--since {text}: not a duration or a time",
            hint="e.g. --since 10m, --since 2h or --since 2025-01-31T12:00:00Z",
        ) from exc
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def line_time(line: str) -> float | None:
    m = _STAMP.match(line)
    if not m:
        return None
    text = m.group(1) or m.group(2)
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:  # the banner's `%z` form, e.g. +0000
            stamp = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


class FileLog:
    """A local agent's log file, read like `tail`: whole lines, from an offset."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._offset = 0
        self._partial = b""

    def _read(self) -> list[str]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # truncated (or replaced): start again
            self._offset, self._partial = 0, b""
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]

    def first(self, since: float | None) -> list[str]:
        if not self.path.exists():
            raise UsageError(
                f"the log file {self.path} does not exist",
                hint="the agent has not been started on this machine (agentops apply)",
            )
        lines = self._read()
        if since is None:
            return lines
        out, current = [], None
        for line in lines:
            current = line_time(line) or current
            if current is not None and current >= since:
                out.append(line)
        return out

    def more(self) -> list[str]:
        return self._read()


def find_agent(state: Any, agent: str, env: str | None) -> Any:
    """The Agent record that AGENT (a name or address) and --env name in state."""
    from engine.spec.addresses import Address

    try:
        addr = Address.parse(agent) if "." in agent else Address("Agent", agent, None)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if addr.kind != "Agent":
        raise UsageError(f"{agent} is not an agent: logs are an agent's")
    if env is not None and addr.env is not None and env != addr.env:
        raise UsageError(f"{agent} names environment {addr.env}, --env says {env}")
    pattern = Address("Agent", addr.name, env or addr.env)
    found = [
        r
        for a, r in sorted(state.resources.items())
        if r.kind == "Agent" and Address.parse(a).matches(pattern)
    ]
    if not found:
        raise UsageError(
            f"{pattern} is not deployed: the state has no record of it",
            hint="run agentops apply (or check the name with agentops state list 'agent.*')",
        )
    if len(found) > 1:
        envs = ", ".join(Address.parse(r.address).env or "-" for r in found)
        raise UsageError(
            f"agent.{addr.name} runs in several environments ({envs})",
            hint=f"pick one with --env, e.g. --env {Address.parse(found[0].address).env}",
        )
    return found[0]


def source_for(res: Any) -> LogSource:
    if res.provider == "local-runtime":
        path = res.outputs.get("log_file") or res.private.get("process", {}).get("log_file")
        if not path:
            raise UsageError(f"{res.address}: its record names no log file")
        return FileLog(Path(str(path)))
    if res.provider == "agentcore":
        from engine.providers.agentcore.logs import CloudWatchLog

        return CloudWatchLog(res.private, res.outputs)
    raise UsageError(f"{res.address}: logs of a {res.provider} agent are not supported")


def stream(
    source: LogSource,
    *,
    since: float | None,
    tail: int | None,
    follow: bool,
    write: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    lines = source.first(since)
    if tail is not None:
        lines = lines[-tail:] if tail > 0 else []
    for line in lines:
        write(line)
    while follow and not stop():
        sleep(POLL_SECONDS)
        for line in source.more():
            write(line)


def cmd_logs(args: argparse.Namespace) -> int:
    res = find_agent(state_store(args).read(), args.agent, args.env)
    since = parse_since(args.since, time.time()) if args.since else None
    if args.tail is not None and args.tail < 0:
        raise UsageError("--tail takes a number of lines (0 or more)")
    source = source_for(res)
    print(f"{res.address}: {source.where}", file=sys.stderr)

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        stream(source, since=since, tail=args.tail, follow=args.follow, write=write)
    except KeyboardInterrupt:
        return 0  # Ctrl-C is how -f ends
    if getattr(source, "missing", False) and not args.follow:
        print(f"No logs yet: {source.where} does not exist.", file=sys.stderr)
    return 0

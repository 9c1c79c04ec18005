"""`agentops watch`: keep the workspace reconciled until SIGINT/SIGTERM.

Pipeline role: CLI glue only - flags, the structured logger, signal handlers; the loop and
every decision live in `engine.watcher`.

Signals: the first SIGINT or SIGTERM asks the watcher to stop - the action in progress
finishes (its state is journalled), nothing new starts, watch.json says "stopped", exit 0.
A second one interrupts at once (exit 130, as any interrupted command); whatever it cut
short is resolved by the next plan/apply's crash recovery.
"""

from __future__ import annotations

import argparse
import os
import signal
from types import FrameType
from typing import Any

from engine.commands.common import AddGlobal, print_diagnostics
from engine.errors import UsageError


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "watch",
        help="reconcile continuously: at start, on every file change, and on a resync interval",
    )
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ENV",
        help="only this environment (repeatable); dependencies are included",
    )
    p.add_argument(
        "--resync",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="observe the world and heal drift this often, +-10%% jitter (default 30)",
    )
    p.add_argument(
        "--debounce",
        type=int,
        default=200,
        metavar="MS",
        help="wait for this much quiet after a change before reconciling (default 200)",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="delete resources that are no longer declared (never when none is declared)",
    )
    p.add_argument(
        "--prune-grace",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="with --prune: delete only what stayed undeclared this long, while the "
        "workspace validates (default 30)",
    )
    p.add_argument("--parallelism", type=int, default=4, help="concurrent actions (default 4)")
    add_global(p)
    p.set_defaults(handler=cmd_watch)


def cmd_watch(args: argparse.Namespace) -> int:
    from engine.logs import make_logger
    from engine.watcher import Schedule, StopFlag, WatchOptions, run

    if args.resync <= 0 or args.debounce < 0 or args.prune_grace < 0:
        raise UsageError("--resync must be positive, --debounce and --prune-grace not negative")
    if not args.workspace.is_dir():
        raise UsageError(f"{args.workspace} is not a directory")
    log = make_logger(args.log_format)
    # Console logs are for people: print diagnostics exactly as `validate` does. JSON logs
    # are for machines: the same lines are in the reconcile event's `diagnostics` field.
    console = args.log_format != "json"

    stop = StopFlag()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True
        # os.write, not print/log: those take locks the interrupted main thread may hold.
        name = signal.Signals(signum).name
        os.write(2, f"{name}: stopping after the current action (again to abort)\n".encode())

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        run(
            args.workspace,
            WatchOptions(
                envs=tuple(args.env),
                prune=args.prune,
                prune_grace=args.prune_grace,
                parallelism=args.parallelism,
                state=args.state,
                log_format=args.log_format,
            ),
            Schedule(resync=args.resync, debounce=args.debounce / 1000),
            log=log,
            stop=stop,
            show_diagnostics=print_diagnostics if console else None,
        )
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0

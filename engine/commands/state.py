"""`agentops state show | pull | push | migrate | unlock`: the state itself, wherever it lives.

(`state list | rm | mv`, which edit records, are in `engine.commands.state_edit`.)

Pipeline role: CLI glue over `engine.state`. Every command works on the configured backend
(--state, AGENTOPS_STATE, agentops.yaml, or the local file); `push` and `migrate` write
under the lock (both locks for `migrate`) and refuse what would lose history without
`--force`; `unlock` never breaks a live holder's lock.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from engine.commands.common import AddGlobal, print_notes, state_store
from engine.errors import StateError, UsageError


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "state", help="state maintenance: list, show, rm, mv, pull, push, migrate, unlock"
    )
    ssub = p.add_subparsers(dest="state_command", metavar="SUBCOMMAND", required=True)

    u = ssub.add_parser("unlock", help="break a lock whose holder is gone (never a live one)")
    add_global(u)
    u.set_defaults(handler=cmd_state_unlock)

    s = ssub.add_parser("show", help="print the state as JSON")
    add_global(s)
    s.set_defaults(handler=cmd_state_show)

    pl = ssub.add_parser("pull", help="print the state (e.g. the remote one) as `push` takes it")
    add_global(pl)
    pl.set_defaults(handler=cmd_state_pull)

    ps = ssub.add_parser("push", help="replace the state with FILE (same lineage, not older)")
    ps.add_argument("file", type=Path, metavar="FILE", help="a state file (`-` for stdin)")
    ps.add_argument(
        "--force", action="store_true", help="push even a different lineage or an older serial"
    )
    _lock_timeout(ps)
    add_global(ps)
    ps.set_defaults(handler=cmd_state_push)

    m = ssub.add_parser("migrate", help="move the state to another backend (local <-> S3)")
    m.add_argument("--to", required=True, metavar="URI", help="local, file://DIR, s3://b/prefix")
    m.add_argument(
        "--force", action="store_true", help="replace a state that is already at the destination"
    )
    _lock_timeout(m)
    add_global(m)
    m.set_defaults(handler=cmd_state_migrate)

    from engine.commands import state_edit

    state_edit.register(ssub, add_global, _lock_timeout)


def _lock_timeout(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for the state lock (default: fail at once)",
    )


def cmd_state_show(args: argparse.Namespace) -> int:
    state = state_store(args).read()
    print(json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True))
    return 0


def cmd_state_pull(args: argparse.Namespace) -> int:
    from engine.state.journal import encode_state

    store = state_store(args)
    state = store.read()
    if state.serial == 0:
        raise UsageError(f"there is no state at {store.location} yet", hint="run agentops apply")
    sys.stdout.write(encode_state(state).decode())
    print(
        f"Pulled serial {state.serial} (lineage {state.lineage}) from {store.location}.",
        file=sys.stderr,
    )
    return 0


def _read_file(path: Path) -> Any:
    from engine.state.journal import decode_state

    try:
        data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from exc
    return decode_state(
        data, str(path), restore_hint="push a state as `agentops state pull` prints it"
    )


def cmd_state_push(args: argparse.Namespace) -> int:
    new = _read_file(args.file)
    store = state_store(args)
    with store.lock("state push", args.lock_timeout):
        current = store.read()  # an unreadable state stops here: nothing is written over it
        if current.serial > 0:
            if new.lineage != current.lineage and not args.force:
                raise StateError(
                    f"{args.file} is another state (lineage {new.lineage}) than the one in "
                    f"{store.location} (lineage {current.lineage})",
                    hint="check that this is the right file and workspace; --force replaces "
                    "it anyway (the previous version stays as the backup)",
                )
            if new.serial < current.serial and not args.force:
                raise StateError(
                    f"{args.file} is older (serial {new.serial}) than the state in "
                    f"{store.location} (serial {current.serial})",
                    hint="pull the current state and make the change on it; --force pushes "
                    "it anyway (the previous version stays as the backup)",
                )
        new.serial = max(new.serial, current.serial)  # serials only grow, even with --force
        store.write(new)
    print(f"Pushed {args.file} to {store.location}: serial {new.serial}, lineage {new.lineage}.")
    print_notes(store)
    return 0


def cmd_state_migrate(args: argparse.Namespace) -> int:
    from engine.errors import StateMoved
    from engine.state.backend import open_store, parse_uri, resolve
    from engine.state.sidecar import copy_all

    source_loc = resolve(args.workspace, args.state)
    dest_loc = parse_uri(args.to, args.workspace, "--to")
    if source_loc.uri == dest_loc.uri:
        raise UsageError(f"the state is already in {dest_loc.uri} ({source_loc.source})")
    source, dest = open_store(source_loc), open_store(dest_loc)
    with (
        source.lock("state migrate", args.lock_timeout),
        dest.lock("state migrate", args.lock_timeout),
    ):
        state = source.read()
        if state.serial == 0:
            raise UsageError(f"there is no state in {source.location} to migrate")
        try:
            there = dest.read()
        except StateMoved:
            there = None  # a copy an earlier migration retired: it may hold the state again
        if there is not None and there.serial > 0:
            if not args.force:
                raise StateError(
                    f"{dest.location} already holds a state (lineage {there.lineage}, serial "
                    f"{there.serial})",
                    hint="migrate to an empty location, or pass --force to replace it (its "
                    "previous version stays as the backup)",
                )
            state.serial = max(state.serial, there.serial)
        dest.write(state)
        # the verdicts and baselines beside the state go with it (write-once: never clobbered)
        carried = copy_all(source.sidecar(), dest.sidecar())
        source.mark_moved(dest.location)
    print(
        f"Migrated the state (serial {state.serial}, lineage {state.lineage}, "
        f"{len(state.resources)} resources, {carried} verdict and baseline object(s)) from "
        f"{source.location} to {dest.location}."
    )
    print(
        f"From now on use it with --state {dest.location}, AGENTOPS_STATE={dest.location} or "
        f"`state: {dest.location}` in agentops.yaml"
        + (
            f" (update {source_loc.source}: it still names the old location)"
            if source_loc.source in ("AGENTOPS_STATE", "agentops.yaml")
            else ""
        )
        + f"; {source.location} keeps a retired copy and refuses to be used.",
        file=sys.stderr,
    )
    print_notes(dest)
    return 0


def cmd_state_unlock(args: argparse.Namespace) -> int:
    from engine.state.store import describe_holder

    store = state_store(args)
    holder = store.holder()
    if not holder:
        print("The state is not locked.")
        return 0
    info = store.force_unlock()
    if info is None:
        raise UsageError(
            f"the lock is held by a live process: {describe_holder(holder)}",
            hint="wait for it to finish; agentops never breaks a live lock (an S3 lock's lease "
            "expires once its holder stops renewing it, then unlock breaks it)",
        )
    why = "its lease expired" if info.get("expired") else "that process is gone"
    print(f"Released the lock left by {describe_holder(info)} ({why}).")
    return 0

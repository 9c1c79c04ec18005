"""`agentops state list | rm | mv`: read and edit the records of the state, never the world.

Pipeline role: CLI glue over `engine.state`, registered under `agentops state` by
`engine.commands.state`. `rm` forgets records (the objects keep running, unmanaged) and
`mv` renames one (after renaming a spec, so nothing is replaced); both hold the state lock
and write one journal entry, so a crash leaves either the old or the new state.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from typing import Any

from engine.commands.common import AddGlobal, print_notes, state_store
from engine.errors import UsageError

FORMAT_VERSION = 1


def register(ssub: Any, add_global: AddGlobal, lock_timeout: Any) -> None:
    ls = ssub.add_parser("list", help="the recorded addresses (resources and runs)")
    ls.add_argument(
        "pattern", nargs="?", help="an address (without [env]: every env) or a glob: 'agent.*'"
    )
    add_global(ls)
    ls.set_defaults(handler=cmd_state_list)

    rm = ssub.add_parser("rm", help="forget resources without deleting them")
    rm.add_argument("addresses", nargs="+", metavar="ADDRESS")
    lock_timeout(rm)
    add_global(rm)
    rm.set_defaults(handler=cmd_state_rm)

    mv = ssub.add_parser("mv", help="rename a recorded address (e.g. after renaming a spec)")
    mv.add_argument("source", metavar="SRC")
    mv.add_argument("destination", metavar="DST")
    lock_timeout(mv)
    add_global(mv)
    mv.set_defaults(handler=cmd_state_mv)


def _matches(address: str, pattern: str | None) -> bool:
    from engine.spec.addresses import Address

    if pattern is None:
        return True
    if any(ch in pattern for ch in "*?"):
        return fnmatch.fnmatchcase(address, pattern)
    try:
        return Address.parse(address).matches(Address.parse(pattern))
    except ValueError as exc:
        raise UsageError(str(exc), hint="or use a glob such as 'agent.*'") from exc


def cmd_state_list(args: argparse.Namespace) -> int:
    state = state_store(args).read()
    rows = []
    for a, r in sorted(state.resources.items()):
        if _matches(a, args.pattern):
            rows.append(
                {
                    "address": a,
                    "type": "resource",
                    "provider": r.provider,
                    "id": r.provider_id,
                    "status": r.status,
                }
            )
    for a, run in sorted(state.runs.items()):
        if _matches(a, args.pattern):
            rows.append(
                {"address": a, "type": "run", "provider": None, "id": None, "status": run.status}
            )
    if args.output == "json":
        print(json.dumps({"format_version": FORMAT_VERSION, "items": rows}, indent=2))
        return 0
    for row in rows:
        print(row["address"])
    if not rows:
        what = f"matches {args.pattern}" if args.pattern else "yet"
        print(f"Nothing in the state {what}.", file=sys.stderr)
    return 0


def _check_address(text: str) -> str:
    from engine.spec.addresses import Address

    try:
        return str(Address.parse(text))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def cmd_state_rm(args: argparse.Namespace) -> int:
    wanted = [_check_address(a) for a in args.addresses]
    store = state_store(args)
    with store.lock("state rm", args.lock_timeout):
        state = store.read()
        missing = [a for a in wanted if a not in state.resources and a not in state.runs]
        if missing:
            raise UsageError(
                f"not in the state: {', '.join(missing)} (nothing was removed)",
                hint="see agentops state list for the recorded addresses",
            )
        pending = [a for a in wanted if a in state.pending]
        if pending:
            raise UsageError(
                f"{', '.join(pending)} has an interrupted operation (nothing was removed)",
                hint="run agentops plan first: it resolves interrupted operations",
            )
        new = state.model_copy(deep=True)
        for a in wanted:
            new.resources.pop(a, None)
            new.runs.pop(a, None)
        store.append(state, {"type": "replace", "state": new.model_dump(mode="json")})
    for a in dict.fromkeys(wanted):
        print(f"Removed {a} from the state; whatever it names still exists, unmanaged.")
    print(
        "While it is still declared, the next plan shows it as new; to keep managing an "
        "AgentCore runtime or Langfuse dataset, agentops import it.",
        file=sys.stderr,
    )
    print_notes(store)
    return 0


def cmd_state_mv(args: argparse.Namespace) -> int:
    from engine.spec.addresses import Address

    src, dst = _check_address(args.source), _check_address(args.destination)
    a, b = Address.parse(src), Address.parse(dst)
    if a.kind != b.kind:
        raise UsageError(f"cannot move {src} to {dst}: a {a.kind} stays a {a.kind}")
    if a.env != b.env:
        raise UsageError(
            f"cannot move {src} to {dst}: it lives in {a.env or 'no environment'}, "
            "and moving a record does not move what it names",
            hint="declare it in the new environment and apply instead",
        )
    store = state_store(args)
    with store.lock("state mv", args.lock_timeout):
        state = store.read()
        if src not in state.resources and src not in state.runs:
            raise UsageError(
                f"{src} is not in the state", hint="see agentops state list for the addresses"
            )
        if dst in state.resources or dst in state.runs:
            raise UsageError(f"{dst} is already in the state", hint="state rm it first")
        if src in state.pending:
            raise UsageError(f"{src} has an interrupted operation", hint="run agentops plan first")
        new = state.model_copy(deep=True)
        if src in new.resources:
            res = new.resources.pop(src)
            new.resources[dst] = res.model_copy(update={"address": dst})
        else:
            run = new.runs.pop(src)
            new.runs[dst] = run.model_copy(update={"address": dst})
        store.append(state, {"type": "replace", "state": new.model_dump(mode="json")})
    print(f"Moved {src} to {dst}.")
    print(
        "Ownership tags name the address: the next plan shows the update that re-tags an "
        "AgentCore runtime (it keeps its id) or re-marks a dataset, if one is needed.",
        file=sys.stderr,
    )
    print_notes(store)
    return 0

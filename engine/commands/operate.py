"""`agentops show PLANFILE | output | import ADDRESS ID`: look at plans and state, adopt objects.

Pipeline role: CLI glue. `show` renders a saved plan like `plan` printed it; `output` reads
resource outputs from state (values under a secret-looking name are never printed);
`import` adopts an existing object for a declared address under the state lock, through the
provider's `adopt` (`engine.reconcile.import_resource`).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from engine.commands.common import AddGlobal, load_valid_workspace, print_notes, state_store
from engine.errors import UsageError

FORMAT_VERSION = 1
#: output names whose values are never printed
SECRET_NAME = re.compile(r"(secret|token|password|passwd|credential|private|api[_-]?key)", re.I)
SENSITIVE = "(sensitive)"


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("show", help="show a plan saved with plan --out")
    p.add_argument("planfile", type=Path, metavar="PLANFILE")
    add_global(p)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("output", help="the outputs of resources, from state")
    p.add_argument("address", nargs="?", help="e.g. agent.docs-assistant[dev] (or without [env])")
    p.add_argument("name", nargs="?", help="one output, printed bare (e.g. url)")
    add_global(p)
    p.set_defaults(handler=cmd_output)

    p = sub.add_parser("import", help="adopt an existing AgentCore runtime or Langfuse dataset")
    p.add_argument("address", metavar="ADDRESS", help="a declared resource, e.g. agent.x[prd]")
    p.add_argument("id", metavar="ID", help="AgentCore runtime id or ARN; Langfuse dataset name")
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for the state lock (default: fail at once)",
    )
    add_global(p)
    p.set_defaults(handler=cmd_import)


def _planfile(args: argparse.Namespace) -> Path:
    path: Path = args.planfile
    return path if path.is_absolute() else args.workspace / path


def cmd_show(args: argparse.Namespace) -> int:
    from engine.commands.reconcile import _render
    from engine.reconcile import load_plan_file

    plan = load_plan_file(_planfile(args))
    sys.stdout.write(_render(plan, args.output))
    return 0


def shown_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: SENSITIVE if SECRET_NAME.search(k) else v for k, v in sorted(outputs.items())}


def _selected(state: Any, address: str | None) -> dict[str, dict[str, Any]]:
    from engine.spec.addresses import Address

    if address is None:
        return {a: shown_outputs(r.outputs) for a, r in sorted(state.resources.items())}
    try:
        pattern = Address.parse(address)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    found = {
        a: shown_outputs(r.outputs)
        for a, r in sorted(state.resources.items())
        if Address.parse(a).matches(pattern)
    }
    if not found:
        raise UsageError(
            f"{address} is not in the state",
            hint="see agentops state list for the recorded addresses",
        )
    return found


def cmd_output(args: argparse.Namespace) -> int:
    state = state_store(args).read()
    found = _selected(state, args.address)
    if args.name is not None:
        values = {a: o[args.name] for a, o in found.items() if args.name in o}
        if not values:
            names = sorted({k for o in found.values() for k in o})
            raise UsageError(
                f"{args.address} has no output '{args.name}'",
                hint=f"its outputs: {', '.join(names) or 'none'}",
            )
        if len(values) > 1:
            raise UsageError(
                f"{args.address} is in {len(values)} environments: {', '.join(values)}",
                hint="add [env] to the address",
            )
        value = next(iter(values.values()))
        if args.output == "json":
            print(json.dumps(value))
        else:
            print(value if isinstance(value, str) else json.dumps(value))
        return 0
    if args.output == "json":
        print(json.dumps({"format_version": FORMAT_VERSION, "outputs": found}, indent=2))
        return 0
    if not found:
        print("No outputs: nothing is recorded in the state yet.", file=sys.stderr)
    for address, outputs in found.items():
        print(address)
        width = max((len(k) for k in outputs), default=0)
        for key, value in outputs.items():
            shown = value if isinstance(value, str) else json.dumps(value)
            print(f"  {key.ljust(width)} = {shown}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from engine.reconcile import import_resource, open_session, parse_targets, prepare

    (address,) = parse_targets([args.address])
    if address.env is None and address.kind in ("Agent", "Dataset"):
        raise UsageError(
            f"import needs the environment: {address}[ENV]",
            hint=f"e.g. agentops import {address}[prd] {args.id}",
        )
    ws = load_valid_workspace(args.workspace)
    store = state_store(args)
    with open_session(ws, "import", lock_timeout=args.lock_timeout, store=store) as s:
        prepare(s, observe=False)
        res = import_resource(s, address, args.id)
    print(f"Imported {res.provider_id} as {res.address} (tagged as this workspace's).")
    print(
        "Run agentops plan: it shows the update that brings it to the spec (or no changes).",
        file=sys.stderr,
    )
    print_notes(store)
    return 0

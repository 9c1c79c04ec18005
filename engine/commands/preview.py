"""`agentops preview --name NAME` and `agentops preview --sweep --older-than 24h`."""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict
from typing import Any

from engine.commands.common import AddGlobal, load_valid_workspace, state_store
from engine.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", text.strip())
    if not m:
        raise UsageError(f"invalid age '{text}'", hint="use e.g. 30m, 24h or 7d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "preview",
        help="run the gates a change triggers on short-lived copies of their environments",
    )
    p.add_argument("--name", help="the preview's name, e.g. pr-123 (its environment copy)")
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="stop the runs after this long (the copy is still torn down)",
    )
    p.add_argument("--parallelism", type=int, default=4)
    p.add_argument(
        "--sweep",
        action="store_true",
        help="remove what killed previews left (found by their ownership tags)",
    )
    p.add_argument(
        "--older-than",
        default="24h",
        metavar="AGE",
        help="with --sweep: only previews started this long ago (default 24h)",
    )
    add_global(p)
    p.set_defaults(handler=cmd_preview)


def cmd_preview(args: argparse.Namespace) -> int:
    from engine.preview.run import run_preview

    if args.sweep:
        return _sweep(args)
    if not args.name:
        raise UsageError("agentops preview needs --name (or --sweep)", hint="e.g. --name pr-123")
    ws = load_valid_workspace(args.workspace)
    result = run_preview(
        ws,
        args.name,
        main_store=state_store(args),
        timeout=args.timeout,
        parallelism=args.parallelism,
    )
    sys.stdout.write(_render(result, args.output))
    if result.left:
        print(
            f"error: the preview's teardown left {len(result.left)} thing(s) behind:\n"
            + "".join(f"  {line}\n" for line in result.left)
            + f"  hint: its state is kept in .agentops/previews/{result.name}/; "
            "`agentops preview --sweep --older-than 0s` removes them once the cause is fixed",
            file=sys.stderr,
        )
    return int(result.exit_code)


def _sweep(args: argparse.Namespace) -> int:
    from engine.preview.sweep import sweep
    from engine.spec.workspace import load_workspace

    age = parse_age(args.older_than)
    # the environments say where to look in AWS; a spec error elsewhere must not stop a sweep
    ws = load_workspace(args.workspace)
    swept = sweep(args.workspace, age, ws=ws, main_store=state_store(args))
    if args.output == "json":
        print(json.dumps([asdict(s) for s in swept], indent=1))
        return 1 if any(s.left for s in swept) else 0
    for s in swept:
        hours = f"{s.age_s / 3600:.1f}h"
        print(
            f"swept preview {s.name} (age {hours}, {len(s.killed)} process(es) killed, "
            f"{len(s.removed)} resource(s) removed)"
        )
        for line in s.removed:
            print(f"  removed {line}")
        for line in s.left:
            print(f"  could not remove {line}", file=sys.stderr)
    if not swept:
        print("Nothing to sweep.")
    return 1 if any(s.left for s in swept) else 0


def _render(result: Any, output: str) -> str:
    from engine.preview.comment import render_comment

    if output == "markdown":
        return render_comment(result)
    if output == "json":
        data = {
            "name": result.name,
            "ok": result.ok,
            "exit_code": result.exit_code,
            "environments": result.envs,
            "interrupted": result.interrupted,
            "leftovers": result.leftovers,
            "left": result.left,
            "plan": result.main_plan.to_json(),
            "results": [
                {
                    **asdict(r),
                    "comparison": r.comparison.to_json(cases=False) if r.comparison else None,
                }
                for r in result.results
            ],
        }
        return json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"
    lines = [f"Preview {result.name}: {'passed' if result.ok else 'failed'}"]
    if not result.results:
        lines.append("Nothing to preview: the change triggers no QualityGate or Experiment.")
    for r in result.results:
        lines.append(
            f"  {r.address} (as {r.preview_address}): {r.status}"
            + (f" — {r.message}" if r.message else "")
        )
        if r.comparison is not None:
            for d in r.comparison.deltas:
                delta = "n/a" if d.delta is None else f"{d.delta:+.3f}"
                lines.append(
                    f"    {d.metric}: Δ {delta}{' (significant)' if d.significant else ''}"
                    + (" REGRESSED" if d.regressed else "")
                )
            if r.comparison.note:
                lines.append(f"    {r.comparison.note}")
    if result.interrupted:
        lines.append(
            f"The preview was {result.interrupted}; its copy was torn down."
            if not result.left
            else f"The preview was {result.interrupted}."
        )
    return "\n".join(lines) + "\n"

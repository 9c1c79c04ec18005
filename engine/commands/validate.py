"""`agentops validate`, `agentops schema`, `agentops graph`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands.common import AddGlobal, format_diagnostics, load_valid_workspace, use_color

if TYPE_CHECKING:  # imported when a run needs them: a replayed `validate` never loads pydantic
    from engine.commands import validate_cache
    from engine.spec.workspace import Workspace


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("validate", help="check the specs; print one precise line per problem")
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="spec files or directories (default: specs/ and environments/)",
    )
    add_global(p)
    p.set_defaults(handler=cmd_validate)

    p = sub.add_parser("schema", help="write a JSON Schema per kind (for editors)")
    p.add_argument("--out", type=Path, default=None, help="directory (default: print to stdout)")
    p.add_argument(
        "--reference",
        action="store_true",
        help="print the markdown spec reference (the README's) instead",
    )
    add_global(p)
    p.set_defaults(handler=cmd_schema)

    p = sub.add_parser("graph", help="show the resolved dependency graph in apply order")
    add_global(p)
    p.set_defaults(handler=cmd_graph)


def cmd_validate(args: argparse.Namespace) -> int:
    from engine.commands import validate_cache
    from engine.spec.paths import confinement_from_env

    paths = [p if p.is_absolute() else args.workspace / p for p in args.paths]
    color = use_color(sys.stderr)
    key = validate_cache.compute_key(
        args.workspace,
        paths,
        {"paths": [str(p) for p in paths], "output": args.output, "color": color},
        confined=confinement_from_env(),
        debug=args.debug,
    )
    replay = validate_cache.lookup(key) if key is not None else None
    if replay is None:
        from engine.spec.workspace import load_workspace

        ws = load_workspace(args.workspace, paths)
        replay = _validate_output(ws, args.output, color=color)
        if key is not None:
            _store(key, ws, replay)
    sys.stderr.write(replay.stderr)
    sys.stdout.write(replay.stdout)
    return replay.code


def _validate_output(ws: Workspace, output: str, *, color: bool) -> validate_cache.Replay:
    from engine.commands.validate_cache import Replay

    counts = {
        k: len(ws.by_kind(k))
        for k in (
            "Environment",
            "Agent",
            "Dataset",
            "Experiment",
            "QualityGate",
            "LoadTest",
            "Monitor",
        )
    }
    code = 0 if ws.ok else 1
    if output == "json":
        out = {
            "format_version": 1,
            "valid": ws.ok,
            "files": ws.files,
            "counts": counts,
            # what the text summary counts ("2 errors in 10 files")
            "errors": sum(d.severity == "error" for d in ws.diagnostics),
            "warnings": sum(d.severity == "warning" for d in ws.diagnostics),
            "diagnostics": [d.to_json() for d in ws.diagnostics],
        }
        return Replay(json.dumps(out, indent=2) + "\n", "", code)
    err = "".join(f"{line}\n" for line in format_diagnostics(ws.diagnostics, color=color))
    if not ws.ok:
        n = sum(d.severity == "error" for d in ws.diagnostics)
        err += f"{n} error{'s' if n != 1 else ''} in {len(ws.files)} files\n"
        return Replay("", err, code)
    summary = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in counts.items() if v)
    return Replay(f"Valid: {summary} in {len(ws.files)} files.\n", err, code)


def _store(key: validate_cache.Key, ws: Workspace, replay: validate_cache.Replay) -> None:
    """Cache the result with what the key cannot know before the run: the `env:` variables
    the specs reference, and the spec texts (a spec naming a skipped directory is not cached)."""
    from engine.commands import validate_cache
    from engine.spec.secret_uses import secret_uses

    env_vars = [u.ref.partition(":")[2] for u in secret_uses(ws) if u.ref.startswith("env:")]
    try:
        texts = [(ws.root / f).read_text(encoding="utf-8", errors="replace") for f in ws.files]
    except OSError:
        return
    validate_cache.store(key, replay, env_vars, texts)


def cmd_schema(args: argparse.Namespace) -> int:
    from engine.spec.schema_export import kind_schemas, reference_markdown

    if args.reference:
        sys.stdout.write(reference_markdown())
        return 0
    schemas = kind_schemas()
    if args.out is None:
        print(json.dumps(schemas, indent=2, sort_keys=True))
        return 0
    out: Path = args.out if args.out.is_absolute() else args.workspace / args.out
    out.mkdir(parents=True, exist_ok=True)
    for kind, schema in schemas.items():
        (out / f"{kind}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    print(f"Wrote {len(schemas)} schemas to {out}")
    return 0


def cmd_graph(args: argparse.Namespace) -> int:
    from engine.spec.graph import build_graph

    ws = load_valid_workspace(args.workspace)
    graph = build_graph(ws)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "format_version": 1,
                    "nodes": [
                        {"address": str(n.address), "depends_on": [str(d) for d in n.depends_on]}
                        for n in graph
                    ],
                },
                indent=2,
            )
        )
        return 0
    for n in graph:
        deps = ", ".join(str(d) for d in n.depends_on if d.kind != "Environment")
        print(f"{n.address}" + (f"  ← {deps}" if deps else ""))
    return 0

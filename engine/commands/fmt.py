"""`agentops fmt [--check] [--diff] [PATH...]`: canonical formatting of spec files.

Pipeline role: CLI glue with no engine dependency, like `terraform fmt`. Each YAML file is
read and written back as a ruamel.yaml round trip, which keeps comments, key order, flow
collections, quoting and `---` document separators, and makes the layout canonical:
two-space mappings, sequences indented under their key (`  - item`), single spaces after
`key:`, no trailing whitespace, one final newline. Long lines are never re-wrapped.
Formatting is idempotent, and a file whose YAML does not parse is reported (file:line:col)
and left alone.

Exit codes: 0 formatted (or already canonical); 1 a file could not be read or parsed;
3 with `--check`, a file would change (nothing is written).
"""

from __future__ import annotations

import argparse
import difflib
import io
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.commands.common import AddGlobal

#: `fmt --check` when a file is not canonical (terraform fmt -check's convention)
EXIT_WOULD_CHANGE = 3
DEFAULT_PATHS = ("specs", "environments", "agentops.yaml")
SUFFIXES = (".yaml", ".yml")


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("fmt", help="rewrite spec files in the canonical YAML layout")
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        help="files or directories (default: specs/, environments/, agentops.yaml)",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help=f"write nothing; exit {EXIT_WOULD_CHANGE} if a file is not canonical",
    )
    p.add_argument("--diff", action="store_true", help="print the changes as a unified diff")
    add_global(p)
    p.set_defaults(handler=cmd_fmt)


class FormatError(Exception):
    """A file that cannot be formatted: `file:line:col: message`."""


def format_yaml(text: str, name: str = "<string>") -> str:
    """The canonical form of `text` (one or more YAML documents); FormatError if it is bad."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    yaml = YAML()  # round trip: comments, order, quotes and flow style survive
    yaml.preserve_quotes = True
    yaml.width = 1 << 16  # never re-wrap a long line: the diff would be noise
    yaml.indent(mapping=2, sequence=4, offset=2)
    try:
        docs = list(yaml.load_all(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
        raise FormatError(f"{where}: error: {exc.problem or exc.context or exc}") from exc
    except (YAMLError, ValueError) as exc:  # e.g. a duplicate key, a bad character
        raise FormatError(f"{name}: error: {str(exc).splitlines()[0]}") from exc
    if not docs:
        return text  # only comments (or nothing): leave it as it is
    yaml.explicit_start = text.lstrip().startswith("---")
    out = io.StringIO()
    yaml.dump_all(docs, out)
    return out.getvalue().rstrip("\n") + "\n"


def spec_files(root: Path, paths: Iterable[Path]) -> list[Path]:
    """YAML files under `paths` (relative to the workspace), sorted, each once."""
    given = list(paths)
    out: dict[Path, None] = {}
    for p in given or [Path(d) for d in DEFAULT_PATHS]:
        path = p if p.is_absolute() else root / p
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.suffix in SUFFIXES and f.is_file() and ".agentops" not in f.parts:
                    out[f] = None
        elif path.is_file() or given:
            out[path] = None  # a missing explicit path is reported; a missing default not
    return list(out)


def cmd_fmt(args: argparse.Namespace) -> int:
    root: Path = args.workspace
    changed: list[Path] = []
    errors = 0
    for path in spec_files(root, args.paths):
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        try:
            text = path.read_text(encoding="utf-8")
            new = format_yaml(text, str(shown))
        except OSError as exc:
            print(f"{shown}: error: cannot read it: {exc.strerror or exc}", file=sys.stderr)
            errors += 1
            continue
        except FormatError as exc:
            print(str(exc), file=sys.stderr)
            errors += 1
            continue
        if new == text:
            continue
        changed.append(path)
        if args.diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    text.splitlines(True), new.splitlines(True), f"a/{shown}", f"b/{shown}"
                )
            )
        if not args.check:
            path.write_text(new, encoding="utf-8")
        print(str(shown), file=sys.stderr if args.diff else sys.stdout)
    if errors:
        return 1
    if args.check and changed:
        print(
            f"{len(changed)} file(s) are not canonically formatted; run agentops fmt",
            file=sys.stderr,
        )
        return EXIT_WOULD_CHANGE
    return 0

"""CLI: parse arguments, call the engine, pick a view, set the exit code. Nothing else.

Start-up matters (`agentops --help` and `validate` run in every CI job and editor hook), so
this module imports only the standard library at import time; each command imports what it
needs when it runs, and heavy SDKs stay inside the providers that use them.

Exit codes (docs/cli.md): 0 success / valid / no changes; 1 an error (invalid specs, a
failed action, a crash); 2 changes present (`plan --detailed-exitcode`); 3 a verdict failed
(a quality gate, an SLO or a Monitor said no: the tool worked, the agent did not); 130
interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from engine import __version__

Handler = Callable[[argparse.Namespace], int]


def _add_global(p: argparse.ArgumentParser, *, top: bool) -> None:
    # Global flags are accepted before and after the subcommand (`agentops --debug plan` and
    # `agentops plan --debug`); SUPPRESS keeps the subparser from resetting the top value.
    default = None if top else argparse.SUPPRESS
    p.add_argument(
        "--debug",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="show tracebacks and debug logs",
    )
    p.add_argument(
        "--output",
        "-o",
        choices=["text", "json", "markdown"],
        default=default,
        help="output format (default: text)",
    )
    p.add_argument(
        "--workspace",
        "-C",
        metavar="DIR",
        default=default,
        help="workspace directory (default: the current directory)",
    )
    p.add_argument(
        "--state",
        metavar="URI",
        default=default,
        help="where the state lives: local (default), file://DIR or s3://bucket/prefix "
        "(else AGENTOPS_STATE, else `state:` in agentops.yaml)",
    )
    p.add_argument(
        "--log-format",
        choices=["console", "plain", "json"],
        default=default,
        help="progress on stderr: console (live on a terminal), plain lines, or JSON lines "
        "(default: live on a terminal, plain otherwise)",
    )
    p.add_argument(
        "--no-color",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="disable colours",
    )


class _Parser(argparse.ArgumentParser):
    """A subcommand's parser: positionals may follow options (`invoke bot --env prd "q"`).

    argparse's intermixed parsing refuses parsers with sub-commands, so a command group
    (`traces`, `state`) parses as usual and its leaf commands intermix.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._intermixing or any(
            a.nargs == argparse.PARSER for a in self._get_positional_actions()
        ):
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


EXIT_CODES = """exit codes:
  0  success (valid, applied, nothing to do)
  1  error: invalid specs, a failed action, a crash
  2  plan --detailed-exitcode: changes are pending
  3  a verdict failed: a quality gate, an SLO or a Monitor said no (the tool worked)
  130 interrupted"""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole parser; with `only`, just the global options and that command (the fast
    path of `_parse`: errors raise `_Refused` instead of exiting)."""
    top_class = _FastTop if only else argparse.ArgumentParser
    parser = top_class(
        prog="agentops",
        description=(
            "Declarative lifecycle engine for AI agents: validate, plan and apply Agents, "
            "Datasets, Experiments, QualityGates and LoadTests declared in YAML."
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"agentops {__version__}")
    _add_global(parser, top=True)
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_FastSub if only else _Parser
    )
    if only is not None:
        import importlib

        importlib.import_module(FAST[only]).register(sub, lambda p: _add_global(p, top=False))
        return parser
    from engine.commands import register_all

    register_all(sub, lambda p: _add_global(p, top=False))
    parser.set_defaults(root_parser=parser)  # `agentops completion` walks the whole parser
    return parser


#: commands parsed without importing and building the other command groups when the command
#: line names them and asks for no help: a replayed `validate` (an editor hook, pre-commit)
#: spends most of its time otherwise on the 12 command modules' parsers (BENCHMARKS.md)
FAST = {"validate": "engine.commands.validate"}
_HELP = frozenset({"-h", "--help", "--version"})


class _Refused(Exception):
    """The fast parser cannot take this command line: the whole parser will (and explain)."""


class _FastTop(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Refused(message)


class _FastSub(_Parser):
    def error(self, message: str) -> NoReturn:
        raise _Refused(message)


def _parse(argv: Sequence[str] | None) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    args_list = list(sys.argv[1:] if argv is None else argv)
    name = next((a for a in args_list if a in FAST), None)
    if name is not None and not _HELP.intersection(args_list):
        fast = build_parser(only=name)
        try:
            args = fast.parse_args(args_list)
        except _Refused:
            pass
        else:
            if args.command == name:
                return fast, args
    parser = build_parser()
    return parser, parser.parse_args(args_list)


def main(argv: Sequence[str] | None = None) -> int:
    # pydantic scans every installed package's entry points for plugins at import (~30 ms);
    # agentops uses none.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    parser, args = _parse(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 1
    args.output = args.output or "text"
    args.state = getattr(args, "state", None)
    args.workspace = Path(args.workspace or os.getcwd()).resolve()
    if args.no_color or os.environ.get("NO_COLOR"):
        os.environ["NO_COLOR"] = "1"
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `agentops … | head`: the reader left, which is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the one place that turns errors into messages
        if args.debug:
            raise
        from engine.errors import AgentOpsError

        if isinstance(exc, AgentOpsError):
            print(f"error: {exc}", file=sys.stderr)
            if exc.hint:
                print(f"  hint: {exc.hint}", file=sys.stderr)
        else:
            print(f"internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
            print(
                "  run again with --debug for the traceback, and please report it", file=sys.stderr
            )
        return 1


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()

"""`agentops plan | apply | destroy | status` (the `state` commands are in state.py)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.commands.common import (
    AddGlobal,
    load_valid_workspace,
    print_diagnostics,
    print_notes,
    state_store,
    use_color,
)
from engine.errors import UsageError


def _plan_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="ENV",
        help="only this environment (repeatable); dependencies are included",
    )
    p.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="only this address, e.g. agent.docs-assistant[prd] (repeatable)",
    )
    p.add_argument(
        "--prune", action="store_true", help="delete resources that are no longer declared"
    )
    p.add_argument(
        "--force-run",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="run this Experiment/QualityGate/LoadTest even if up to date",
    )
    p.add_argument(
        "--lock-timeout",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for the state lock (default: fail at once)",
    )


def _change_flags(p: argparse.ArgumentParser) -> None:
    """plan and apply: force a replacement, or only accept drift into state."""
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="replace this resource even if it is up to date (repeatable)",
    )
    p.add_argument(
        "--refresh-only",
        action="store_true",
        help="only what changed outside agentops; apply records it in state, changes nothing",
    )


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser("plan", help="show what apply would change")
    _plan_flags(p)
    _change_flags(p)
    p.add_argument("--destroy", action="store_true", help="preview what destroy would delete")
    p.add_argument("--out", type=Path, help="save the plan for `apply PLANFILE`")
    p.add_argument(
        "--no-lock",
        action="store_true",
        help="read-only: take no state lock and write nothing (a CI plan job); interrupted "
        "operations are reported, not resolved; `apply PLANFILE` still refuses a stale plan",
    )
    p.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 with no changes, 2 with changes, 1 on error",
    )
    add_global(p)
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("apply", help="make the world match the specs")
    p.add_argument("planfile", nargs="?", type=Path, help="a plan saved with plan --out")
    _plan_flags(p)
    _change_flags(p)
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--parallelism", type=int, default=4, help="concurrent actions (default 4)")
    add_global(p)
    p.set_defaults(handler=cmd_apply)

    p = sub.add_parser("destroy", help="delete every resource the workspace manages")
    _plan_flags(p)
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--parallelism", type=int, default=4)
    add_global(p)
    p.set_defaults(handler=cmd_destroy)

    p = sub.add_parser("status", help="what runs where, with health, and the last runs")
    add_global(p)
    p.set_defaults(handler=cmd_status)


def _options(args: argparse.Namespace, *, destroy: bool = False) -> Any:
    from engine.planner.planner import PlanOptions
    from engine.reconcile import parse_targets

    return PlanOptions(
        prune=args.prune,
        destroy=destroy,
        envs=tuple(args.env),
        targets=tuple(parse_targets(args.target)),
        force_runs=tuple(parse_targets(args.force_run)),
        replace=tuple(parse_targets(getattr(args, "replace", []))),
        refresh_only=getattr(args, "refresh_only", False),
    )


def _render(plan: Any, output: str) -> str:
    from engine.render.plan import render_json, render_markdown, render_text

    if plan.refresh_only and output != "json":
        from engine.render.refresh import render_refresh

        return render_refresh(plan, color=use_color(sys.stdout) and output == "text")
    if output == "json":
        return render_json(plan)
    if output == "markdown":
        return render_markdown(plan)
    return render_text(plan, color=use_color(sys.stdout))


def cmd_plan(args: argparse.Namespace) -> int:
    from engine.reconcile import make_plan, open_session, planned_envs, prepare

    ws = load_valid_workspace(args.workspace)
    if not args.destroy:
        _check_secrets(ws, planned_envs(ws, _options(args)))
    store = state_store(args)
    with open_session(
        ws, "plan", lock_timeout=args.lock_timeout, store=store, lock=not args.no_lock
    ) as s:
        observed = prepare(s, observe=not args.destroy)
        plan = make_plan(s, _options(args, destroy=args.destroy), observed)
    sys.stdout.write(_render(plan, args.output))
    if args.out:
        out = args.out if args.out.is_absolute() else args.workspace / args.out
        out.write_text(json.dumps(plan.to_json(), indent=1, sort_keys=True) + "\n")
        print(
            f"Saved the plan to {out}; apply exactly it with: agentops apply {args.out}",
            file=sys.stderr,
        )
    if args.detailed_exitcode and plan.has_changes:
        return 2
    return 0


def _check_secrets(ws: Any, envs: Sequence[str]) -> None:
    """Every secret reference the plan needs resolves; else print each and fail."""
    from engine.errors import WorkspaceInvalid
    from engine.reconcile import check_secrets

    try:
        check_secrets(ws, envs)
    except WorkspaceInvalid as exc:
        print_diagnostics(exc.diagnostics)
        raise


def _confirm(args: argparse.Namespace, what: str) -> bool:
    if args.auto_approve:
        return True
    if not sys.stdin.isatty():
        raise UsageError(
            f"refusing to {what} without confirmation: there is no terminal to ask on",
            hint="pass --auto-approve (in CI), or run it in a terminal",
        )
    answer = input(f"Do you want to {what}? Only 'yes' will be accepted: ")
    return answer.strip() == "yes"


def _terminal(args: argparse.Namespace) -> Any:
    from engine.terminal import Terminal, choose_mode

    return Terminal(mode=choose_mode(getattr(args, "log_format", None), sys.stderr))


def _run_plan(args: argparse.Namespace, s: Any, plan: Any) -> tuple[Any, Any]:
    """Apply `plan` in session `s`, showing progress on the session's Terminal."""
    from engine.commands import apply_view
    from engine.reconcile import apply

    terminal = _terminal(args)
    s.ctx.terminal = terminal
    try:
        result = apply(
            s, plan, parallelism=args.parallelism, on_event=apply_view.progress(terminal)
        )
    finally:
        terminal.close()
    return result, terminal


def _finish(
    args: argparse.Namespace, store: Any, plan: Any, ran: tuple[Any, Any], started: float, verb: str
) -> int:
    """After the session (the store's notes come from closing it): the summary and exit code."""
    from engine.commands import apply_view

    result, terminal = ran
    print_notes(store)
    if args.output == "json":
        print(json.dumps(apply_view.result_json(plan, result, started), indent=2, sort_keys=True))
        return apply_view.exit_code(result)
    return apply_view.report(result, started, terminal, verb=verb)


def _nothing_to_do(args: argparse.Namespace, plan: Any, started: float) -> int:
    if args.output == "json":
        from engine.commands.apply_view import result_json

        print(json.dumps(result_json(plan, None, started), indent=2, sort_keys=True))
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from engine.reconcile import (
        check_fresh,
        load_plan_file,
        make_plan,
        open_session,
        planned_envs,
        prepare,
    )
    from engine.spec.addresses import Address

    started = time.monotonic()
    ws = load_valid_workspace(args.workspace)
    planfile = args.planfile
    if planfile is not None and not planfile.is_absolute():
        planfile = args.workspace / planfile  # like --out: relative to the workspace (-C)
    saved = load_plan_file(planfile) if planfile else None
    if saved is None:
        _check_secrets(ws, planned_envs(ws, _options(args)))
    else:
        _check_secrets(ws, sorted({Address.parse(c.address).env or "" for c in saved.changes}))
    store = state_store(args)
    with open_session(ws, "apply", lock_timeout=args.lock_timeout, store=store) as s:
        observed = prepare(s)
        if saved is not None:
            check_fresh(s, saved)
            plan = saved
            if plan.refresh_only:
                return _accept(s, plan, observed, args)
            if args.output != "json":
                # The plan was shown (and reviewed) when it was saved: one line, not twice.
                from engine.render.plan import summary_line

                print(f"Applying the saved plan {args.planfile}. {summary_line(plan)}")
        else:
            plan = make_plan(s, _options(args), observed)
            if args.output != "json":
                sys.stdout.write(_render(plan, args.output))
        if not plan.has_changes:
            return _nothing_to_do(args, plan, started)
        if plan.refresh_only:
            return _accept(s, plan, observed, args)
        if saved is None and not _confirm(args, "apply these changes"):
            print("Apply cancelled.", file=sys.stderr)
            return 1
        ran = _run_plan(args, s, plan)
    return _finish(args, store, plan, ran, started, "Apply")


def cmd_destroy(args: argparse.Namespace) -> int:
    from engine.reconcile import make_plan, open_session, prepare

    started = time.monotonic()
    ws = load_valid_workspace(args.workspace)
    store = state_store(args)
    with open_session(ws, "destroy", lock_timeout=args.lock_timeout, store=store) as s:
        observed = prepare(s, observe=False)
        plan = make_plan(s, _options(args, destroy=True), observed)
        if args.output != "json":
            sys.stdout.write(_render(plan, args.output))
        if not plan.has_changes:
            return _nothing_to_do(args, plan, started)
        if not _confirm(args, "destroy these resources"):
            print("Destroy cancelled.", file=sys.stderr)
            return 1
        ran = _run_plan(args, s, plan)
    return _finish(args, store, plan, ran, started, "Destroy")


def _accept(s: Any, plan: Any, observed: Any, args: argparse.Namespace) -> int:
    """`apply --refresh-only`: record the observations in state; nothing else changes."""
    from engine.reconcile import accept_refresh

    if plan.destroy or plan.prune or any(c.action.value == "replace" for c in plan.changes):
        raise UsageError("a refresh-only plan file cannot delete or replace anything")
    if args.planfile is None and not _confirm(args, "record these observations in the state"):
        print("Apply cancelled.", file=sys.stderr)
        return 1
    done = accept_refresh(s, plan, observed)
    for line in done:
        print(f"  {line}", file=sys.stderr)
    forgotten = sum(1 for line in done if line.endswith(")") and ": forgotten (" in line)
    print(
        f"Refresh complete: {len(done) - forgotten} recorded, {forgotten} forgotten; "
        "nothing outside agentops changed."
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from engine.status import collect_status, render_status

    info = collect_status(args.workspace, state_store(args))
    if args.output == "json":
        print(json.dumps({"format_version": 1, **info}, indent=2, sort_keys=True))
    else:
        sys.stdout.write(render_status(info))
    return 0

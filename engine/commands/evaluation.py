"""`agentops report` and `agentops experiment apply-best`: reading and acting on run results.

`report` covers every recorded run: Experiments and QualityGates (`EvalStore`) and LoadTests
(`engine.providers.runs.load_records`), which share the local store.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.commands.common import AddGlobal, load_valid_workspace
from engine.errors import UsageError

if TYPE_CHECKING:
    from engine.evaluation.run import EvalRun
    from engine.providers.local.evalstore import EvalStore
    from engine.providers.local.store import LocalStore


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "report",
        help="write the report of an Experiment, QualityGate or LoadTest run (HTML or markdown)",
    )
    p.add_argument(
        "run",
        nargs="?",
        metavar="RUN_ADDRESS",
        help="experiment.hpo[dev], qualitygate.release, loadtest.soak[prd], or a run id "
        "(default: the newest run)",
    )
    p.add_argument("--out", type=Path, help="file to write (default: .agentops/reports/<run>)")
    p.add_argument(
        "--format",
        choices=["html", "markdown"],
        default=None,
        help="default: from --out's suffix, else html",
    )
    add_global(p)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("experiment", help="act on Experiment results")
    esub = p.add_subparsers(dest="experiment_command", metavar="SUBCOMMAND", required=True)
    b = esub.add_parser(
        "apply-best",
        help="write the best variant's values into the Agent spec (shows the diff; "
        "writes only with --write)",
    )
    b.add_argument("name", metavar="NAME", help="the Experiment's name, e.g. hpo")
    b.add_argument("--write", action="store_true", help="write the change to the spec file")
    b.add_argument(
        "--force",
        action="store_true",
        help="take the first variant even when the run is inconclusive (no variant was "
        "better than the others beyond the spread)",
    )
    add_global(b)
    b.set_defaults(handler=cmd_apply_best)


def _store_path(root: Path, runs: str = "evaluation run") -> Path:
    """The local store every run is recorded in; UsageError when nothing has run yet."""
    from engine.reconcile import state_dir

    path = state_dir(root) / "store.sqlite"
    if not path.is_file():
        raise UsageError(
            f"no {runs}s are recorded in {root} yet ({path} does not exist)",
            hint="run `agentops apply` to run the Experiments, QualityGates and LoadTests",
        )
    return path


def _eval_store(root: Path) -> EvalStore:
    from engine.providers.local.evalstore import EvalStore
    from engine.providers.local.store import LocalStore

    return EvalStore(LocalStore(_store_path(root)))


def cmd_report(args: argparse.Namespace) -> int:
    from engine.reconcile import state_dir
    from engine.state.private import private_dir, write_private

    fmt = args.format
    if fmt is None:
        fmt = "markdown" if args.out is not None and args.out.suffix == ".md" else "html"
    address, run_id, text = _report(args.workspace, args.run, fmt)
    out: Path = args.out or state_dir(args.workspace) / "reports" / f"{run_id}.{_SUFFIX[fmt]}"
    if not out.is_absolute():
        out = Path.cwd() / out
    try:
        if args.out is None:  # in .agentops/, which is private
            write_private(private_dir(out.parent) / out.name, text)
        else:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"cannot write the report to {out}: {exc.strerror or exc}",
            hint="pass --out with a writable path",
        ) from None
    if args.output == "json":
        import json

        print(
            json.dumps(
                {"format_version": 1, "run_id": run_id, "address": address, "file": str(out)}
            )
        )
    else:
        print(f"Wrote the {fmt} report of {address} (run {run_id}) to {out}")
    return 0


def _report(root: Path, what: str | None, fmt: str) -> tuple[str, str, str]:
    """(address, run id, report text) of the run `what` names. Experiment and QualityGate
    runs (`EvalStore`) and LoadTest runs (`load_records`) share the store; an address says
    which, a run id or nothing (the newest run) looks in both."""
    from engine.evaluation.report_html import render_html
    from engine.evaluation.report_text import render_markdown
    from engine.providers.local.store import LocalStore
    from engine.providers.runs.load_records import find_run, run_report

    kind = what.split(".", 1)[0].lower() if what and "." in what else ""
    store = LocalStore(_store_path(root, _RUNS.get(kind, "run")))
    load = find_run(store, what) if kind not in ("experiment", "qualitygate") else None
    eval_id = _eval_store(root).find(what) if kind != "loadtest" else None
    run = _eval_store(root).load(eval_id) if eval_id is not None else None
    if load is not None and (run is None or load["finished_at"] > run.finished_at):
        return load["address"], load["run_id"], run_report(store, load["run_id"], fmt)
    if run is not None:
        if fmt != "html":
            return run.address, run.run_id, render_markdown(run)
        earlier = _eval_store(root).previous(run)
        previous = _eval_store(root).load(earlier) if earlier is not None else None
        return run.address, run.run_id, render_html(run, previous=previous)
    raise _no_run(store, what, kind)


def _no_run(store: LocalStore, what: str | None, kind: str) -> UsageError:
    from engine.providers.runs.load_records import load_runs
    from engine.spec.diagnostics import nearest

    if what is None:
        return UsageError(
            f"no runs are recorded in {store.path} yet",
            hint="run `agentops apply` to run the Experiments, QualityGates and LoadTests",
        )
    hint = (
        "use an address such as experiment.hpo[dev], qualitygate.release or "
        "loadtest.soak[prd], or a run id from `agentops status`"
    )
    if kind == "loadtest":
        addresses = sorted({r["address"] for r in load_runs(store)})
        # compared by name: every address shares the `loadtest.` prefix and an `[env]`
        by_name = {_name(a): a for a in addresses}
        match = nearest(_name(what), by_name)
        shown = ", ".join(addresses[:10]) + (", ..." if len(addresses) > 10 else "")
        hint = (
            f"did you mean '{by_name[match]}'?"
            if match
            else f"recorded load tests: {shown}"
            if addresses
            else "no LoadTest has run yet: run `agentops apply`"
        )
    return UsageError(f"no {_RUNS.get(kind, 'run')} matches '{what}'", hint=hint)


def _name(address: str) -> str:
    return address.split(".", 1)[-1].split("[", 1)[0]


#: the kind in an address -> what its runs are called in messages
_RUNS = {
    "experiment": "evaluation run",
    "qualitygate": "evaluation run",
    "loadtest": "LoadTest run",
}
_SUFFIX = {"html": "html", "markdown": "md"}


def _num(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _winner(root: Path, address: str, state: str | None) -> tuple[dict[str, Any], str]:
    """The first variant of the newest successful run of `address`, that run's id, and its
    verdict (`verdict`: best | inconclusive | unknown, `why`: the ranking's sentence)."""
    from engine.state.backend import store_for

    record = store_for(root, state).read().runs.get(address)
    summary = record.summary if record is not None and record.status == "succeeded" else {}
    first = summary.get("best") or summary.get("leader")
    if isinstance(first, dict):
        recorded = {**first, "base_digest": summary.get("agent_digest")}
        run_id = str(summary.get("run_id", "?"))
        if "verdict" in summary:
            return {**recorded, "verdict": summary["verdict"], "why": summary.get("why")}, run_id
        # recorded before experiments had verdicts: judge its cases, kept in the store
        stored = _stored_run(root, run_id)
        if stored is not None:
            return _first_of(stored), run_id
        why = (
            f"run {run_id} was recorded before experiments had verdicts and its cases are not "
            "in the store, so nothing checked that it beats the other variants"
        )
        return {**recorded, "verdict": "unknown", "why": why}, run_id
    found = _eval_store(root).find(address, succeeded=True)
    if found is None:
        why = f"its last run failed: {record.message}" if record is not None else "it never ran"
        raise UsageError(
            f"{address} has no successful run to take the winner from ({why})",
            hint="run `agentops apply` (or `agentops apply --target " + address + "`) first",
        )
    return _first_of(_eval_store(root).load(found)), found


def _stored_run(root: Path, run_id: str) -> EvalRun | None:
    from engine.providers.local.evalstore import EvalStore
    from engine.providers.local.store import LocalStore
    from engine.reconcile import state_dir

    path = state_dir(root) / "store.sqlite"
    if not path.is_file():
        return None
    store = EvalStore(LocalStore(path))
    return store.load(run_id) if store.find(run_id) == run_id else None


def _first_of(run: EvalRun) -> dict[str, Any]:
    leader = run.leader
    if leader is None:
        raise UsageError(f"{run.address}: run {run.run_id} has no ranked variant")
    return {
        "variant": leader.name,
        "label": leader.label,
        "metric": leader.metric,
        "values": {k: dict(v) for k, v in leader.values.items()},
        "agent_digest": leader.agent_digest,
        "base_digest": run.agent_digest,
        "verdict": run.ranking.verdict if run.ranking is not None else "best",
        "why": run.ranking.message() if run.ranking is not None else None,
    }


def cmd_apply_best(args: argparse.Namespace) -> int:
    from engine.evaluation.writeback import edit_agent
    from engine.spec.diagnostics import did_you_mean
    from engine.spec.digests import agent_attrs, digest_of

    ws = load_valid_workspace(args.workspace)
    spec_ = ws.experiments.get(args.name)
    if spec_ is None:
        raise UsageError(
            f"experiment '{args.name}' is not declared",
            hint=did_you_mean(args.name, ws.experiments)
            or f"declared: {', '.join(sorted(ws.experiments)) or 'none'}",
        )
    spec = spec_.doc.spec
    address = f"experiment.{args.name}[{spec.environment}]"
    best, run_id = _winner(args.workspace, address, args.state)
    values = {k: v["value"] for k, v in best.get("values", {}).items()}
    agent = ws.agents[spec.agent]
    shown = f"{best['variant']} ({best['label']}) of run {run_id}"
    if best.get("verdict") != "best":
        verdict = "inconclusive" if best.get("verdict") == "inconclusive" else "not judged"
        if not args.force:
            again = (
                "add items or repetitions, or declare objective.tieBreakers, and run it again"
                if verdict == "inconclusive"
                else f"run it again (`agentops apply --force-run {address}`)"
            )
            raise UsageError(
                f"{address}: run {run_id} is {verdict}, so it names no winner to write back: "
                f"{best.get('why')}",
                hint=f"{again}; or pass --force to write its leader {best['variant']} anyway",
            )
        print(
            f"warning: --force: run {run_id} is {verdict} ({best.get('why')}); writing its "
            f"leader {best['variant']} anyway",
            file=sys.stderr,
        )
        print(
            f"{address}: leader {shown}, {spec.objective.metric} = {_num(best.get('metric'))}",
            file=sys.stderr,
        )
    else:
        print(
            f"{address}: best variant {shown}, {spec.objective.metric} = "
            f"{_num(best.get('metric'))}",
            file=sys.stderr,
        )
    if not values:
        print("The experiment has no matrix: there is nothing to write back.")
        return 0
    measured = best.get("base_digest")
    current = digest_of(agent_attrs(ws, agent.doc.spec, spec.environment))
    if measured and measured != current:
        print(
            f"warning: agent.{spec.agent} changed since the experiment ran (digest {measured} "
            f"→ {current}); the winner was measured against the earlier version",
            file=sys.stderr,
        )
    wb = edit_agent(ws.root / agent.raw.file, agent.raw.file, agent.raw.index, spec.agent, values)
    if not wb.changed:
        print(f"agent.{spec.agent} already has the winning values; nothing to change.")
        return 0
    for note in wb.notes:
        print(f"note: {note}")
    sys.stdout.write(wb.diff())
    if not args.write:
        force = " --force" if args.force else ""
        print(
            f"Nothing written: review the diff, then run `agentops experiment apply-best "
            f"{args.name} --write{force}`.",
            file=sys.stderr,
        )
        return 0
    wb.write()
    print(f"Wrote {wb.shown}: plan and apply to roll the winner out.", file=sys.stderr)
    return 0

"""`agentops traces`, `agentops annotate QUEUE`, `agentops dataset propose DATASET`.

The online half of the flywheel from the terminal: list production traces with their
scores, work through an annotation queue (resumable: every answer is saved at once), and
turn annotated or low-scoring traces into new items of a dataset file as a reviewable diff.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.commands.common import AddGlobal
from engine.errors import UsageError


def register(sub: Any, add_global: AddGlobal) -> None:
    p = sub.add_parser(
        "traces",
        help="recent traces of deployed agents, with their scores (traces show ID: one)",
        usage="agentops traces [AGENT] [options] | agentops traces show TRACE_ID",
    )
    p.add_argument("target", nargs="*", metavar="AGENT", help="agent name, or: show TRACE_ID")
    p.add_argument("--env", default=None, help="environment")
    p.add_argument("--since", default=None, help="e.g. 30m, 2h, 1d (default: all)")
    p.add_argument("--source", default=None, help="production | loadtest | evaluation | …")
    p.add_argument("--min-score", type=float, default=None, help="only traces scoring ≥ this")
    p.add_argument("--max-score", type=float, default=None, help="only traces scoring ≤ this")
    p.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add_global(p)
    p.set_defaults(handler=cmd_traces)

    a = sub.add_parser("annotate", help="work through a local annotation queue in the terminal")
    a.add_argument("queue", help="queue name (a Monitor's annotate.queue)")
    a.add_argument("--list", action="store_true", help="list the queue instead of annotating")
    add_global(a)
    a.set_defaults(handler=cmd_annotate)

    d = sub.add_parser("dataset", help="dataset tools")
    dsub = d.add_subparsers(dest="dataset_command", metavar="propose")
    pr = dsub.add_parser("propose", help="new dataset items from production traces, as a diff")
    pr.add_argument("dataset", help="Dataset name")
    pr.add_argument(
        "--from",
        dest="source",
        required=True,
        help="an annotation queue (annotated items) or a Monitor (its low-scoring traces)",
    )
    pr.add_argument("--below", type=float, default=0.5, help="Monitor: score cutoff (0.5)")
    pr.add_argument("--limit", type=int, default=20, help="at most this many new items")
    pr.add_argument("--write", action="store_true", help="write the file (default: diff only)")
    add_global(pr)
    pr.set_defaults(handler=cmd_propose)
    add_global(d)
    d.set_defaults(handler=lambda _a: _usage(d))


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return 1


def _store(args: argparse.Namespace) -> Any:
    from engine.providers.local.traces import trace_store
    from engine.reconcile import state_dir

    return trace_store(state_dir(args.workspace))


def cmd_traces(args: argparse.Namespace) -> int:
    from engine.spec.schema import parse_duration

    if args.target and args.target[0] == "show":
        if len(args.target) != 2:
            raise UsageError("usage: agentops traces show TRACE_ID")
        args.trace_id = args.target[1]
        return cmd_trace_show(args)
    if len(args.target) > 1:
        raise UsageError("give one AGENT at most", hint="agentops traces docs-assistant --env prd")
    args.agent = args.target[0] if args.target else None

    since = None
    if args.since:
        try:
            since = time.time() - parse_duration(args.since)
        except ValueError as exc:
            raise UsageError(f"--since: {exc}", hint="e.g. --since 30m, 2h or 1d") from None
    traces = _store(args).recent(
        env=args.env,
        agent=args.agent,
        since=since,
        limit=max(1, args.limit) * 20,
        source=args.source,
    )
    traces = [t for t in traces if _score_ok(t.scores, args.min_score, args.max_score)]
    traces = traces[: max(1, args.limit)]
    if args.output == "json":
        print(json.dumps({"format_version": 1, "traces": [_trace_json(t) for t in traces]}))
        return 0
    if not traces:
        print("No traces match.", file=sys.stderr)
        return 0
    print(render_traces(traces))
    return 0


def render_traces(traces: list[Any]) -> str:
    """One line per trace, columns aligned (plain text: pipes and CI logs read it as is)."""
    rows = [("TRACE", "WHEN", "AGENT", "SOURCE", "STATUS", "LATENCY", "SCORES", "INPUT")]
    for t in traces:
        scores = " ".join(f"{k}={v:.2f}" for k, v in sorted(t.scores.items())) or "–"
        text = t.input.replace("\n", " ")
        rows.append(
            (
                t.trace_id[:12],
                time.strftime("%m-%d %H:%M:%S", time.localtime(t.started_at)),
                f"{t.agent}[{t.env}]",
                t.source,
                t.status,
                f"{t.latency_ms:.0f} ms",
                scores,
                text if len(text) <= 60 else text[:59] + "…",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]
        for r in rows
    )


def _score_ok(scores: dict[str, float], lo: float | None, hi: float | None) -> bool:
    if lo is None and hi is None:
        return True
    if not scores:
        return False
    worst = min(scores.values())
    return (lo is None or worst >= lo) and (hi is None or worst <= hi)


def _trace_json(t: Any) -> dict[str, Any]:
    return {k: v for k, v in t.__dict__.items()}


def cmd_trace_show(args: argparse.Namespace) -> int:
    store = _store(args)
    trace = store.get(args.trace_id)
    if trace is None:
        raise UsageError(
            f"no trace {args.trace_id!r}", hint="list them with agentops traces [AGENT]"
        )
    scores = store.scores_of(trace.trace_id)
    if args.output == "json":
        out = _trace_json(trace)
        out["scores"] = [
            {"monitor": m, "name": n, "value": v, "passed": p, "comment": c}
            for m, n, v, p, c in scores
        ]
        print(json.dumps({"format_version": 1, "trace": out}))
        return 0
    from engine.commands.trace_view import render_trace

    print(render_trace(trace, scores))
    return 0


def cmd_annotate(args: argparse.Namespace) -> int:
    from engine.commands.annotate import annotate_queue, list_queue

    store = _store(args)
    if args.list:
        return list_queue(store, args.queue)
    return annotate_queue(store, args.queue)


def cmd_propose(args: argparse.Namespace) -> int:
    from engine.commands.common import load_valid_workspace
    from engine.monitoring.propose import propose_items, render_diff, write_items

    ws = load_valid_workspace(args.workspace)
    ds = ws.datasets.get(args.dataset)
    if ds is None:
        raise UsageError(
            f"no Dataset named '{args.dataset}'",
            hint="agentops validate lists the workspace's datasets",
        )
    if not ds.doc.spec.file:
        raise UsageError(
            f"dataset.{args.dataset} has inline items; propose writes to a dataset file",
            hint="move the items to a file (file: dataset.json) to grow it from traces",
        )
    path = ws.root / ds.doc.spec.file
    store = _store(args)
    monitors = {f"monitor.{n}[{m.doc.spec.environment}]": n for n, m in ws.monitors.items()}
    monitor = next((a for a, n in monitors.items() if args.source in (a, n)), None)
    if monitor is None and args.source not in store.queues():
        known = sorted(set(store.queues()) | set(ws.monitors))
        raise UsageError(
            f"--from {args.source}: no annotation queue or Monitor of that name",
            hint=f"known: {', '.join(known) or 'none yet (run a Monitor first)'}",
        )
    proposal = propose_items(
        store,
        path,
        ws.items.get(args.dataset, []),
        queue=None if monitor else args.source,
        monitor=monitor,
        below=args.below,
        limit=args.limit,
        fmt=ds.doc.spec.format,
    )
    if not proposal.items:
        print(f"No new items for dataset.{args.dataset}: {proposal.why_none}", file=sys.stderr)
        return 0
    rel = Path(ds.doc.spec.file)
    print(render_diff(rel, proposal))
    for note in proposal.notes:
        print(f"# {note}", file=sys.stderr)
    if args.write:
        write_items(path, proposal)
        print(
            f"Wrote {len(proposal.items)} new item(s) to {rel}. Review them, commit, and the "
            f"next plan re-syncs dataset.{args.dataset} and re-runs what uses it.",
            file=sys.stderr,
        )
    else:
        print(
            f"{len(proposal.items)} new item(s) proposed for {rel}; "
            "write them with --write (then review and commit).",
            file=sys.stderr,
        )
    return 0

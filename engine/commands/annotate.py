"""`agentops annotate QUEUE`: a person works through a local annotation queue.

Each pending item shows the trace (input, answer, trajectory, the monitor's scores and why
it was routed); the person gives a score, a corrected expected output (facts separated by
`;`, or `refuse`), an optional note, or skips it. Every answer is saved at once, so Ctrl-C
or `q` stops without losing anything and the next run resumes with the next pending item.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from engine.errors import UsageError

HELP = "score 0-1 (or p = pass 1.0, f = fail 0.0), then the expected output; s = skip, q = quit"


def list_queue(store: Any, queue: str) -> int:
    items = store.queue_items(queue)
    if not items:
        print(f"Queue {queue} is empty.", file=sys.stderr)
        return 0
    for it in items:
        score = "–" if it.score is None else f"{it.score:.2f}"
        print(f"{it.status:<8} {it.trace_id[:12]}  score {score:<5} {it.reason}")
    return 0


def _ask(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        return "q"


def _score(answer: str) -> float | None:
    answer = answer.strip().lower()
    if answer in ("p", "pass"):
        return 1.0
    if answer in ("f", "fail"):
        return 0.0
    try:
        value = float(answer)
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def annotate_queue(store: Any, queue: str) -> int:
    from engine.commands.trace_view import render_trace

    if not sys.stdin.isatty():
        raise UsageError(
            "agentops annotate needs a terminal (it asks a person for each item)",
            hint=f"list the queue with: agentops annotate {queue} --list",
        )
    pending = store.queue_items(queue, "pending")
    total = len(store.queue_items(queue))
    if not pending:
        print(f"Nothing to annotate in {queue} ({total} item(s), none pending).")
        return 0
    done_before = total - len(pending)
    print(f"{queue}: {len(pending)} pending of {total}. {HELP}.\n")
    for n, item in enumerate(pending, 1):
        trace = store.get(item.trace_id)
        if trace is None:
            continue
        print(f"── [{done_before + n}/{total}] routed because: {item.reason}")
        print(render_trace(trace, store.scores_of(trace.trace_id)))
        print()
        while True:
            answer = _ask("score> ").strip()
            if answer.lower() in ("q", "quit"):
                print(f"Stopped; {len(pending) - n + 1} item(s) left. Run again to resume.")
                return 0
            if answer.lower() in ("s", "skip"):
                store.annotate(
                    queue,
                    item.trace_id,
                    status="skipped",
                    score=None,
                    expected=None,
                    note=None,
                    now=time.time(),
                )
                break
            value = _score(answer)
            if value is None:
                print(f"  {HELP}")
                continue
            expected = _ask("expected output (facts; separated, 'refuse', or empty)> ").strip()
            note = _ask("note (optional)> ").strip()
            store.annotate(
                queue,
                item.trace_id,
                status="done",
                score=value,
                expected=expected or None,
                note=note or None,
                now=time.time(),
            )
            print("  saved.\n")
            break
    print(f"{queue}: all {total} item(s) handled.")
    print(f"Next: agentops dataset propose DATASET --from {queue}")
    return 0

"""Cases: every dataset item x repetition sent to one deployed variant, answered and scored.

Pipeline role: the inner loop of an Experiment or QualityGate run. Invocations run
concurrently on one asyncio loop (`concurrency` in flight at most); once every answer is in,
each is scored by every evaluator with `evaluate_safely` in worker threads (see `run_cases`
for why the phases do not overlap). Nothing is dropped: a failed call
is a case with `ok=False` that every evaluator scores 0, an evaluator that raises leaves an
error score (counted as 0), and even a bug in the calling code becomes a failed case.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from engine.evaluators import EvalCase, Evaluator, Score, ToolCall, evaluate_safely
from engine.invoke import InvocationResult
from engine.spec.datasets import LoadedItem

#: how often a running batch checks whether the user interrupted the apply
CANCEL_POLL_S = 0.1

#: `invoke(payload)`, or `invoke(payload, trace_id=...)` when `run_cases` is given trace ids
Invoke = Callable[..., Awaitable[InvocationResult]]
#: (item id, repetition) -> the case's trace id (`engine.evaluation.trace_ids.case_trace_id`)
TraceIds = Callable[[str, int], str]
OnCase = Callable[["CaseResult"], None]


class Cancelled(Exception):
    """The run was interrupted (Ctrl-C): in-flight invocations were cancelled."""


@dataclass
class CaseResult:
    """One item x repetition: the invocation's outcome and every evaluator's score."""

    item_id: str
    item_index: int
    repetition: int
    ok: bool
    response: str
    error: str | None
    latency_ms: float
    usage: dict[str, int] = field(default_factory=dict)
    trajectory: list[dict[str, object]] = field(default_factory=list)
    #: evaluator label -> score, in the spec's evaluator order
    scores: dict[str, Score] = field(default_factory=dict)
    #: the trace id the invocation was sent with (its `traceparent`), "" when none was
    trace_id: str = ""


def payload_of(value: object) -> dict[str, object]:
    """The invocation payload of an item input: objects as they are, anything else as prompt."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return {"prompt": value if isinstance(value, str) else str(value)}


def to_eval_case(item: LoadedItem, res: InvocationResult) -> EvalCase:
    steps = []
    for step in res.trajectory:
        args = step.get("input")
        steps.append(
            ToolCall(
                tool=str(step.get("tool", "")),
                input=args if isinstance(args, Mapping) else {"value": args},
            )
        )
    return EvalCase(
        input=item.input,
        expected=item.expected_output,
        output=res.response if res.ok else "",
        trajectory=tuple(steps),
        latency_ms=res.latency_ms,
        error=None if res.ok else (res.error or "the invocation failed"),
        metadata=item.metadata,
    )


def score_case(evaluators: Sequence[Evaluator], case: EvalCase) -> dict[str, Score]:
    return {ev.name: evaluate_safely(ev, case) for ev in evaluators}


def _failed(error: str) -> InvocationResult:
    return InvocationResult(
        ok=False,
        status_code=0,
        response="",
        trajectory=[],
        usage={},
        raw=None,
        latency_ms=0.0,
        session_id="",
        error=error,
    )


async def _until_done(tasks: Sequence[asyncio.Task[None]], cancel: threading.Event | None) -> None:
    """Wait for every task; raise `Cancelled` soon after `cancel` is set (and cancel them)."""
    pending: set[asyncio.Task[None]] = set(tasks)
    try:
        while pending:
            done, pending = await asyncio.wait(pending, timeout=CANCEL_POLL_S)
            for task in done:
                task.result()  # re-raise a bug in a task instead of hiding it
            if cancel is not None and cancel.is_set():
                raise Cancelled("interrupted")
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def run_cases(
    invoke: Invoke,
    items: Sequence[LoadedItem],
    evaluators: Sequence[Evaluator],
    *,
    repetitions: int = 1,
    concurrency: int = 4,
    cancel: threading.Event | None = None,
    on_case: OnCase = lambda _c: None,
    trace_ids: TraceIds | None = None,
) -> list[CaseResult]:
    """Every item x repetition, answered, then scored; sorted by (repetition, item order).

    Two phases on purpose: while the agent answers, this process does nothing but send
    requests and read answers, so the latencies measure the agent and not our scoring
    competing for the CPU (on a laptop the agent and the engine share the cores). Scoring
    follows, `concurrency` cases at a time in worker threads (LLM judges are slow). `on_case`
    ticks as each answer arrives. Raises `Cancelled` soon after `cancel` is set. With
    `trace_ids`, each case is invoked with its trace id (`invoke(payload, trace_id=...)`),
    so the agent's trace of the call and every record of the case share it.
    """
    slots = asyncio.Semaphore(max(1, concurrency))
    answered: list[CaseResult] = []
    calls: list[EvalCase] = []

    async def ask(item: LoadedItem, rep: int) -> None:
        async with slots:
            tid = trace_ids(item.id, rep) if trace_ids is not None else ""
            try:
                payload = payload_of(item.input)
                res = await (invoke(payload, trace_id=tid) if tid else invoke(payload))
            except Exception as exc:  # noqa: BLE001 - a bug here must not drop the case
                res = _failed(f"{type(exc).__name__}: {exc}")
        case = to_eval_case(item, res)
        result = CaseResult(
            item_id=item.id,
            item_index=item.index,
            repetition=rep,
            ok=res.ok,
            response=res.response,
            error=case.error,
            latency_ms=res.latency_ms,
            usage=dict(res.usage),
            trajectory=[dict(s) for s in res.trajectory],
            trace_id=tid,
        )
        answered.append(result)
        calls.append(case)
        on_case(result)

    async def score(result: CaseResult, case: EvalCase) -> None:
        async with slots:
            result.scores = await asyncio.to_thread(score_case, evaluators, case)

    await _until_done(
        [asyncio.create_task(ask(it, rep)) for rep in range(repetitions) for it in items], cancel
    )
    await _until_done(
        [asyncio.create_task(score(r, c)) for r, c in zip(answered, calls, strict=True)], cancel
    )
    answered.sort(key=lambda r: (r.repetition, r.item_index, r.item_id))
    return answered

"""Data model of scoring: one answered item in (`EvalCase`), one number out (`Score`).

Role: the contract between the experiment/gate runners (which build `EvalCase`s from agent
invocations) and every evaluator (built-in, autoevals-backed or user-written). This module is
pure Python with no third-party imports, so anything may import it cheaply.

Rules every evaluator obeys, enforced by `evaluate_safely`:

* a failed invocation (`case.error` set) scores **0** with the comment ``call failed: ...``
  for every evaluator; failures are never dropped from a mean (the seed's CI gate dropped
  them, which made a flaky agent look better than a reliable one);
* an evaluator that raises does not stop the run: its `Score` has ``value=None`` and
  ``error="<Type>: <message>"``, and the aggregation counts it as 0;
* a value must be a finite number in [0, 1]; anything else becomes an error naming the
  evaluator;
* ``value=None`` is only allowed together with ``error`` or ``skipped=True`` (the evaluator
  does not apply to the item, e.g. ``search_term`` for an item with no expected term).
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from types import MappingProxyType
from typing import Protocol, runtime_checkable

_EMPTY: Mapping[str, object] = MappingProxyType({})


@dataclass(frozen=True)
class ToolCall:
    """One tool the agent called while answering, with the arguments it passed."""

    tool: str
    input: Mapping[str, object] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class EvalCase:
    """One answered dataset item (one repetition of it)."""

    #: the item's input, e.g. ``{"question": "..."}``
    input: object
    #: the item's ``expected_output`` (a dict, a string or None)
    expected: object
    #: the agent's answer text ("" when the call failed)
    output: str
    trajectory: tuple[ToolCall, ...] = ()
    latency_ms: float = 0.0
    #: the invocation error, if the call failed
    error: str | None = None
    #: item metadata, e.g. ``{"harmful": True}``
    metadata: Mapping[str, object] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True)
class Score:
    """One evaluator's verdict on one case."""

    name: str
    #: in [0, 1]; None only when `error` is set or `skipped` is True
    value: float | None
    comment: str | None = None
    #: the evaluator raised: the message is recorded and the run goes on
    error: str | None = None
    #: the evaluator does not apply to this item
    skipped: bool = False

    @property
    def counted_value(self) -> float | None:
        """The value aggregation uses: errors count as 0, skipped scores not at all."""
        if self.skipped:
            return None
        if self.error is not None or self.value is None:
            return 0.0
        return self.value


@runtime_checkable
class Evaluator(Protocol):
    """Anything with a `name` that turns an `EvalCase` into a `Score`."""

    name: str

    def evaluate(self, case: EvalCase) -> Score: ...


def failed_call_score(name: str, case: EvalCase) -> Score:
    """The score every evaluator gives a failed invocation: 0, with the error as comment."""
    return Score(name=name, value=0.0, comment=f"call failed: {case.error}")


def skipped(name: str, why: str) -> Score:
    return Score(name=name, value=None, comment=why, skipped=True)


def error_score(name: str, exc: BaseException) -> Score:
    return Score(name=name, value=None, error=f"{type(exc).__name__}: {exc}")


def evaluate_safely(evaluator: Evaluator, case: EvalCase) -> Score:
    """Run one evaluator on one case and never raise (except KeyboardInterrupt/SystemExit).

    Failed invocations short-circuit to 0 without calling the evaluator, so user code never
    has to think about them. Whatever the evaluator returns is checked here, once, instead
    of trusting each evaluator to respect the [0, 1] contract.
    """
    name = _name_of(evaluator)
    if case.error is not None:
        return failed_call_score(name, case)
    try:
        result = evaluator.evaluate(case)
    except Exception as exc:  # an evaluator bug must not stop the run
        return error_score(name, exc)
    return check_score(name, result)


def check_score(name: str, result: object) -> Score:
    """`result` if it honours the Score contract, else an error Score naming the evaluator."""
    if not isinstance(result, Score):
        return Score(
            name=name,
            value=None,
            error=f"TypeError: evaluator {name!r} returned {_short(result)}, not a Score",
        )
    if result.error is not None:
        return Score(name=name, value=None, comment=result.comment, error=result.error)
    if result.skipped:
        return Score(name=name, value=None, comment=result.comment, skipped=True)
    value = result.value
    if value is None:
        return Score(
            name=name,
            value=None,
            comment=result.comment,
            error=f"ValueError: evaluator {name!r} returned no value (and did not mark the "
            "item as skipped)",
        )
    # bool is a Real too: True/False are accepted as 1/0 on purpose.
    number = math.nan
    if isinstance(value, Real):
        with contextlib.suppress(OverflowError, ValueError):  # e.g. an int beyond float range
            number = float(value)
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        return Score(
            name=name,
            value=None,
            comment=result.comment,
            error=f"ValueError: evaluator {name!r} returned {_short(value)}, outside [0, 1]",
        )
    if result.name == name and type(value) is float:
        return result
    return Score(name=name, value=number, comment=result.comment)


def _name_of(evaluator: object) -> str:
    name = getattr(evaluator, "name", None)
    return name if isinstance(name, str) and name else type(evaluator).__name__


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- helpers shared by the built-ins -----------------------------------------------------------


def expected_mapping(case: EvalCase) -> Mapping[str, object] | None:
    """`case.expected` as a mapping, or None when it is a string/None/other.

    Runners may hand over the dataset's pydantic `ExpectedOutput` instead of a dict; it is
    dumped (without unset fields) so built-ins see the same keys either way.
    """
    expected = case.expected
    if isinstance(expected, Mapping):
        return expected
    dump = getattr(expected, "model_dump", None)
    if callable(dump):
        dumped = dump(exclude_none=True)
        if isinstance(dumped, Mapping):
            return dumped
    return None


_INPUT_KEYS = ("question", "prompt", "input", "query", "message", "text")


def input_text(value: object) -> str:
    """The user's request as text: the item's `question` (or prompt/input/...) or its JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in _INPUT_KEYS:
            text = value.get(key)
            if isinstance(text, str):
                return text
    return to_text(value)


def to_text(value: object) -> str:
    """Any JSON-ish value as text (strings unchanged, everything else as JSON)."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def truncate(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

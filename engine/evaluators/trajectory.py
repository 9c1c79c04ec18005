"""Built-in `trajectory`: did the agent call the tools the dataset expects?

Compares the tool names in ``expected["trajectory"]`` with the names of the calls the agent
made (``case.trajectory``). Modes (param ``mode``):

* ``exact``     - the same sequence, nothing more or less: 1 or 0;
* ``in_order``  - (default) the expected tools appear in that order, other calls may be
  interleaved: 1 when expected is a subsequence of actual, else the longest common
  subsequence / len(expected);
* ``any_order`` - |expected ∩ actual| counted as multisets / len(expected).

Extra calls are not penalised by ``in_order``/``any_order`` (agents often look something up
twice); the comment still lists them. An expected trajectory of ``[]`` means "no tool
calls": 1 when none were made, else 0. Items without a ``trajectory`` key are skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal

from engine.evaluators.base import EvalCase, Score, expected_mapping, failed_call_score, skipped

Mode = Literal["exact", "in_order", "any_order"]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a)·len(b)) dynamic programming)."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


class TrajectoryEvaluator:
    def __init__(self, name: str = "trajectory", mode: Mode = "in_order") -> None:
        self.name = name
        self.mode = mode

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        expected_map = expected_mapping(case)
        if expected_map is None or expected_map.get("trajectory") is None:
            return skipped(self.name, "no expected trajectory")
        expected = expected_map["trajectory"]
        if isinstance(expected, str) or not isinstance(expected, Sequence):
            raise ValueError(f"expected trajectory must be a list of tool names, got {expected!r}")
        wanted = [str(t) for t in expected]
        actual = [call.tool for call in case.trajectory]
        if not wanted:
            if not actual:
                return Score(self.name, 1.0, "no tool calls, as expected")
            return Score(self.name, 0.0, f"expected no tool calls, got {_names(actual)}")
        value = self._value(wanted, actual)
        return Score(self.name, value, self._comment(wanted, actual, value))

    def _value(self, wanted: list[str], actual: list[str]) -> float:
        if self.mode == "exact":
            return 1.0 if wanted == actual else 0.0
        if self.mode == "in_order":
            return lcs_length(wanted, actual) / len(wanted)
        common = Counter(wanted) & Counter(actual)
        return sum(common.values()) / len(wanted)

    def _comment(self, wanted: list[str], actual: list[str], value: float) -> str:
        missing = list((Counter(wanted) - Counter(actual)).elements())
        extra = list((Counter(actual) - Counter(wanted)).elements())
        parts: list[str] = []
        if missing:
            parts.append(f"missing {_names(missing)}")
        if extra:
            ignored = f" (not penalised in {self.mode} mode)" if self.mode != "exact" else ""
            parts.append(f"extra {_names(extra)}{ignored}")
        if not missing and value < 1.0:
            # Same tools, wrong order (in_order) or different sequence (exact).
            parts.append("tools called in a different order")
        head = f"expected {_names(wanted)}, called {_names(actual) if actual else 'no tools'}"
        return head + (": " + "; ".join(parts) if parts else "")


def _names(names: Sequence[str]) -> str:
    return "[" + ", ".join(names) + "]"

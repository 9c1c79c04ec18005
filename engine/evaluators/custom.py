"""Custom evaluators: a Python function in the workspace, referenced as ``<file>.py:<function>``.

Role: load user evaluator code by file path (no package or ``sys.path`` setup needed) and
adapt it to the `Evaluator` protocol. By convention the files live in ``evaluators/`` at the
workspace root: ``use: evaluators/answer_quality.py:cites_docs``.

The signature (the only one; every argument is passed by keyword)::

    def my_evaluator(
        *,
        input: object,           # the dataset item's input, e.g. {"question": "..."}
        output: str,             # the agent's answer text
        expected: object,        # the item's expected_output (dict, str or None)
        trajectory: list[dict],  # tool calls in order: [{"tool": "searchDocs", "input": {...}}]
        latency_ms: float,       # the invocation's wall time
        metadata: dict,          # the item's metadata, e.g. {"harmful": True}
        params: dict,            # the evaluator's `params:` from the spec, as written
    ) -> float | bool | tuple[float, str] | dict:
        ...

* Declare only the arguments you need: the function is inspected once and receives just
  the keywords it names (all of them if it takes ``**kwargs``). A parameter that is not one
  of the seven names above and has no default is a configuration error.
* Return a number in [0, 1], a bool (True = 1, False = 0), a ``(score, comment)`` tuple or a
  ``{"score": float, "comment": str}`` dict. ``{"skipped": True, "comment": "..."}`` marks
  the item as not applicable to this evaluator. Anything else (None, a string, a score
  outside [0, 1]) is recorded as an error naming the function and what it returned.
* Exceptions are recorded as errors for that item; the run goes on.
* Failed agent calls never reach the function: they score 0 for every evaluator.
* ``async def`` functions work too (each call runs its own event loop).
* Keep the function deterministic and fast; it runs once per item and repetition, possibly
  from several threads at once.

The module is loaded with importlib under a private name and cached per (path, mtime,
size), so editing the file takes effect at the next run without restarting anything, and
`evaluator_code_digest` (in the registry) makes runs re-execute when the file changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import sys
import threading
from collections.abc import Callable, Mapping
from numbers import Real
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

from engine.errors import EvaluatorConfigError
from engine.evaluators.base import EvalCase, Score, failed_call_score
from engine.spec.diagnostics import did_you_mean
from engine.spec.evaluator_refs import CustomRef, parse_ref

#: the keywords a custom evaluator may declare
ARGUMENTS = ("input", "output", "expected", "trajectory", "latency_ms", "metadata", "params")

SIGNATURE_HINT = (
    "def fn(*, input, output, expected, trajectory, latency_ms, metadata, params) "
    "-> float | bool | tuple[float, str] | dict"
)

_cache_lock = threading.Lock()
_module_cache: dict[tuple[str, int, int], ModuleType] = {}


def resolve_path(ref: CustomRef, workspace: Path) -> Path:
    """The evaluator file inside the workspace; raises EvaluatorConfigError if it is not there."""
    relative = Path(ref.path)
    if relative.is_absolute():
        raise EvaluatorConfigError(
            f"evaluator path '{ref.path}' must be relative to the workspace",
            hint="custom evaluators are evaluators/<file>.py:<function>",
        )
    root = workspace.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise EvaluatorConfigError(
            f"evaluator path '{ref.path}' points outside the workspace",
            hint="keep evaluator files in the workspace, e.g. evaluators/<file>.py",
        )
    if not path.is_file():
        raise EvaluatorConfigError(
            f"evaluator file '{ref.path}' does not exist (looked in {root})",
            hint="custom evaluators are evaluators/<file>.py:<function>",
        )
    return path


def load_module(path: Path) -> ModuleType:
    """Import the file (once per content version) under a private module name."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _module_cache.get(key)
        if cached is not None:
            return cached
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        module_name = f"_agentops_evaluator_{path.stem}_{digest}_{stat.st_mtime_ns}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise EvaluatorConfigError(f"cannot load evaluator file '{path}'")
        module = importlib.util.module_from_spec(spec)
        # Registered while executing so dataclasses/typing in user code can find the module.
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(module_name, None)
            raise EvaluatorConfigError(
                f"evaluator file '{path.name}' failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        # Drop older versions of the same file so edits in a long `watch` do not pile up.
        for old in [k for k in _module_cache if k[0] == key[0]]:
            del _module_cache[old]
        _module_cache[key] = module
        return module


class CustomEvaluator:
    """Adapts a user function with the documented signature to the Evaluator protocol."""

    def __init__(
        self,
        function: Callable[..., object],
        *,
        name: str,
        params: Mapping[str, object],
        where: str,
    ) -> None:
        self.name = name
        self.function = function
        self.params = dict(params)
        self.where = where
        self._wanted = _wanted_arguments(function, where)
        self._is_async = inspect.iscoroutinefunction(function)

    def evaluate(self, case: EvalCase) -> Score:
        if case.error is not None:
            return failed_call_score(self.name, case)
        available: dict[str, object] = {
            "input": case.input,
            "output": case.output,
            "expected": case.expected,
            "trajectory": [{"tool": c.tool, "input": dict(c.input)} for c in case.trajectory],
            "latency_ms": case.latency_ms,
            "metadata": dict(case.metadata),
            # A fresh copy per call: one item's mutation must not leak into the next.
            "params": _deep_copy(self.params),
        }
        kwargs = {k: v for k, v in available.items() if k in self._wanted}
        result = self.function(**kwargs)
        if self._is_async or inspect.isawaitable(result):
            result = _run_awaitable(result)
        return self.normalize(result)

    def normalize(self, result: object) -> Score:
        """Turn whatever the function returned into a Score, or raise naming the function."""
        comment: object = None
        value: object = result
        if isinstance(result, Mapping):
            if result.get("skipped") is True:
                why = result.get("comment")
                return Score(self.name, None, str(why) if why is not None else None, skipped=True)
            if "score" not in result:
                self._bad_return(result, "a dict needs a 'score' key")
            value, comment = result["score"], result.get("comment")
        elif isinstance(result, tuple):
            if len(result) != 2:
                self._bad_return(result, "a tuple must be (score, comment)")
            value, comment = result
        if isinstance(value, bool):
            number = 1.0 if value else 0.0
        elif isinstance(value, Real):
            number = float(value)
        else:
            self._bad_return(result, "the score must be a number in [0, 1] or a bool")
        if not (math.isfinite(number) and 0.0 <= number <= 1.0):
            self._bad_return(result, "the score must be in [0, 1]")
        if comment is not None and not isinstance(comment, str):
            comment = str(comment)
        return Score(self.name, number, comment)

    def _bad_return(self, result: object, why: str) -> NoReturn:
        text = repr(result)
        if len(text) > 100:
            text = text[:99] + "…"
        raise ValueError(
            f"custom evaluator {self.where} returned {text} ({type(result).__name__}): {why}; "
            "return a float, a bool, (score, comment) or {'score': ..., 'comment': ...}"
        )


def build_custom(
    ref: str, params: Mapping[str, object], *, workspace: Path, name: str | None = None
) -> CustomEvaluator:
    parsed = parse_ref(ref)
    if parsed is None:
        raise EvaluatorConfigError(f"'{ref}' is not a custom evaluator reference")
    if not parsed.function.isidentifier():
        raise EvaluatorConfigError(
            f"'{parsed.function}' in '{ref}' is not a function name",
            hint="custom evaluators are evaluators/<file>.py:<function>",
        )
    path = resolve_path(parsed, workspace)
    module = load_module(path)
    function = getattr(module, parsed.function, None)
    where = f"{parsed.function} ({parsed.path})"
    if function is None:
        names = [
            n for n, v in vars(module).items() if inspect.isfunction(v) and not n.startswith("_")
        ]
        raise EvaluatorConfigError(
            f"function '{parsed.function}' is not defined in '{parsed.path}'",
            hint=did_you_mean(parsed.function, names)
            or (f"functions there: {', '.join(sorted(names))}" if names else SIGNATURE_HINT),
        )
    if not callable(function):
        raise EvaluatorConfigError(f"'{parsed.function}' in '{parsed.path}' is not a function")
    return CustomEvaluator(function, name=name or parsed.function, params=params, where=where)


def _wanted_arguments(function: Callable[..., object], where: str) -> frozenset[str]:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise EvaluatorConfigError(f"cannot inspect the signature of {where}: {exc}") from exc
    wanted: set[str] = set()
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return frozenset(ARGUMENTS)
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        if parameter.name in ARGUMENTS:
            if parameter.kind is inspect.Parameter.POSITIONAL_ONLY:
                raise EvaluatorConfigError(
                    f"{where}: parameter '{parameter.name}' is positional-only; arguments are "
                    "passed by keyword",
                    hint=SIGNATURE_HINT,
                )
            wanted.add(parameter.name)
        elif parameter.default is inspect.Parameter.empty:
            hint = did_you_mean(parameter.name, ARGUMENTS)
            raise EvaluatorConfigError(
                f"{where}: parameter '{parameter.name}' is not one of {', '.join(ARGUMENTS)} "
                "and has no default",
                hint=hint or SIGNATURE_HINT,
            )
    return frozenset(wanted)


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(v) for v in value]
    return value


def _run_awaitable(awaitable: Any) -> object:
    # asyncio is imported here: most evaluators are sync and it costs ~40 ms to import.
    import asyncio

    async def wait() -> object:
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(wait())
    # Called from inside an event loop (an async runner calling evaluate synchronously):
    # run the coroutine on a private loop in a helper thread instead of deadlocking.
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = asyncio.run(wait())
        except BaseException as exc:  # re-raised below in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="agentops-custom-evaluator")
    thread.start()
    thread.join()
    if "error" in box:
        error = box["error"]
        assert isinstance(error, BaseException)
        raise error
    return box.get("result")

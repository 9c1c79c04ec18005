"""Error tree of the engine.

AgentOpsError                  base: everything the CLI turns into a message, never a traceback
├── WorkspaceInvalid           the specs did not validate (carries the diagnostics)
├── StateError                 the state cannot be read or written (file or S3)
│   ├── StateLocked            another process holds the lock (names the holder)
│   ├── StateConflict          a compare-and-swap lost: someone else wrote the state first
│   ├── StateMoved             this copy was retired by `state migrate` (says where it went)
│   └── StalePlan              a saved plan no longer matches state or workspace
├── EvaluatorConfigError       an evaluator reference or its params are wrong (before scoring)
├── OverBudget                 apply refused to start a run: its estimate is over a budget
├── ProviderError              raised by providers at their boundary, never an SDK error
│   ├── TemporaryError         retry later (throttling, eventual consistency); has `delay`
│   └── PermanentError         retrying will not help (bad config, permission, quota)
└── UsageError                 the command line itself is wrong
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.spec.diagnostics import Diagnostic


class AgentOpsError(Exception):
    """Base class: the CLI prints `str(exc)` (and a hint) instead of a traceback."""

    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


class UsageError(AgentOpsError):
    """The command line is wrong (unknown address, conflicting flags...)."""


class WorkspaceInvalid(AgentOpsError):
    """Validation found problems; `diagnostics` holds every one of them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        n = len(self.diagnostics)
        super().__init__(f"the workspace has {n} error{'s' if n != 1 else ''}")


class StateError(AgentOpsError):
    """The state file is unreadable, of an unknown version, or cannot be written."""


class StateLocked(StateError):
    """The state lock is held by another process."""


class StateConflict(StateError):
    """A conditional write failed: the state changed under us, so nothing was overwritten."""


class StateMoved(StateError):
    """The state was migrated elsewhere; `to` is where it lives now."""

    def __init__(self, message: str, *, to: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.to = to


class StalePlan(StateError):
    """A saved plan was made against a state or workspace that has moved on."""


class EvaluatorConfigError(AgentOpsError):
    """An evaluator reference or its params are wrong; raised before any item is scored."""


class OverBudget(AgentOpsError):
    """A run's estimate is over its budget (or cannot be checked against it): not started."""


class ProviderError(AgentOpsError):
    """An error raised by a provider, already translated from the SDK's vocabulary."""


class TemporaryError(ProviderError):
    """Retrying after `delay` seconds may succeed (throttling, eventual consistency)."""

    def __init__(self, message: str, *, delay: float = 1.0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.delay = delay


class PermanentError(ProviderError):
    """Retrying will not help: configuration, permission, quota, bad code."""

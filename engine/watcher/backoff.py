"""Per-resource back-off for `agentops watch`: failing resources wait before they are retried.

Pipeline role: between the planner and the applier in watch mode. A resource whose action
failed (or whose observation failed) gets an entry here; until its time comes, the watcher
leaves it - and everything that depends on it - out of the plan, so a broken provider cannot
make the watcher spin. The delay doubles per consecutive failure, is capped, and is
jittered so that many resources failing together do not retry together. A provider that
knows better (`TemporaryError(delay=...)`, e.g. a throttling "retry after") is honoured.
Success, or a new desired digest (the user changed the spec: try the fix at once), clears
the entry.

The delays are a tenacity wait strategy (`BackoffPolicy.wait`, the same library as the
providers' retries), asked for one delay per failure: the watcher never blocks in a retry
loop, it leaves a waiting resource out of its plans and wakes when the earliest wait ends.
The jitter draws from an injected `rand` so tests (and the watcher's clock) stay
deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import tenacity

#: the key of workspace-level failures (state locked, a provider that cannot be reached...)
WORKSPACE = "(workspace)"


@dataclass(frozen=True)
class BackoffPolicy:
    base: float = 1.0
    cap: float = 300.0
    #: the share of the delay taken off at random: the delay lies in [d * (1 - jitter), d]
    jitter: float = 0.5

    def wait(self, rand: Callable[[], float]) -> tenacity.wait.wait_base:
        """`base * 2 ** (failures - 1)`, capped, then up to `jitter` of it taken off."""
        capped = tenacity.wait_exponential(multiplier=self.base, max=self.cap)
        return _Jittered(capped, self.jitter, rand)

    def delay(self, failures: int, rand: float, floor: float | None = None) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (rand in [0, 1))."""
        state = tenacity.RetryCallState(_NO_RETRIES, None, (), {})
        state.attempt_number = max(failures, 1)
        delay = self.wait(lambda: rand)(state)
        # The provider's own "retry after" wins even above the cap: it knows its limits.
        return max(delay, floor or 0.0)


class _Jittered(tenacity.wait.wait_base):
    """Another wait, less a random share of at most `share` of it: in [d * (1 - share), d]."""

    def __init__(
        self, inner: tenacity.wait.wait_base, share: float, rand: Callable[[], float]
    ) -> None:
        self.inner, self.share, self.rand = inner, share, rand

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        return float(self.inner(retry_state)) * (1.0 - self.share * self.rand())


#: the retry object a `RetryCallState` names; the wait strategies only read the attempt
_NO_RETRIES = tenacity.Retrying(stop=tenacity.stop_after_attempt(1))


@dataclass(frozen=True)
class BackoffEntry:
    address: str
    failures: int
    #: monotonic time when the resource may be tried again
    until: float
    #: the desired digest that failed; a different digest is a new attempt, not a retry
    digest: str | None
    error: str


class BackoffTable:
    def __init__(self, policy: BackoffPolicy, rand: Callable[[], float]) -> None:
        self.policy = policy
        self.rand = rand
        self.entries: dict[str, BackoffEntry] = {}

    def failed(
        self,
        address: str,
        now: float,
        error: str,
        *,
        digest: str | None = None,
        retry_after: float | None = None,
    ) -> BackoffEntry:
        prior = self.entries.get(address)
        failures = prior.failures + 1 if prior is not None else 1
        delay = self.policy.delay(failures, self.rand(), retry_after)
        entry = BackoffEntry(address, failures, now + delay, digest, error)
        self.entries[address] = entry
        return entry

    def succeeded(self, address: str) -> bool:
        """Forget the address; True if it was backing off."""
        return self.entries.pop(address, None) is not None

    def get(self, address: str) -> BackoffEntry | None:
        return self.entries.get(address)

    def waiting(self, now: float) -> set[str]:
        """Addresses that must stay out of the plan now."""
        return {a for a, e in self.entries.items() if e.until > now}

    def next_expiry(self, now: float) -> float | None:
        """When the earliest waiting entry may be retried (None: nothing waits)."""
        times = [e.until for e in self.entries.values() if e.until > now]
        return min(times) if times else None

    def lift_changed(self, digests: dict[str, str | None]) -> list[str]:
        """Drop entries whose desired digest changed since they failed: the user's fix."""
        lifted = [
            a
            for a, e in self.entries.items()
            if a in digests and a != WORKSPACE and digests[a] != e.digest
        ]
        for a in lifted:
            del self.entries[a]
        return lifted

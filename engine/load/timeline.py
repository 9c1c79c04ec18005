"""A load run over time, bucketed for charts: rates, users, errors, latency; the histogram.

Role: the arithmetic behind the LoadTest report's charts (`engine.load.charts`), pure and
standard library only. A run of any length becomes a bounded number of points here, on the
server side, so a one-hour run of 100,000 requests embeds 241 points per series, not 100,000.

The bucketing rule, stated once: the load window (first request sent to last answer
received) is cut into buckets of one "nice" width, the smallest of `NICE_WIDTHS` that is at
least `max(window / MAX_BUCKETS, min(1 s, window / MIN_BUCKETS))`:

* 1-second buckets (as Locust's charts) for windows of 40 s to 5 minutes;
* finer for shorter runs, so that a 10 s run still has 40 points (0.25 s buckets);
* coarser for longer ones, never more than 300 buckets (1 hour: 15 s buckets).

A request belongs to the bucket it was *sent* in. Per bucket: requests and failures per second
(the last bucket divides by the part of it the window covers), the error rate, the exact p50,
p95 and p99 of the answered requests (`engine.evaluators.percentile`'s definition, as every
other number of the report), the most users that ran at any time in it (the runner's user
log), and the mean number of requests in flight (the time each request spent in the bucket,
summed, over the bucket's width: Little's law).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine.evaluators.aggregate import percentile
from engine.load.analysis import Sample, window_s

MAX_BUCKETS = 300
MIN_BUCKETS = 40
NICE_WIDTHS = (0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
#: a histogram has at most this many bins
MAX_BINS = 60
#: latencies spread over more than this factor (max / min) get logarithmic bins
LOG_SPREAD = 20.0


@dataclass(frozen=True)
class Bucket:
    start: float  # seconds since the first request was sent
    width: float  # the part of the bucket the load window covers
    requests: int
    failed: int
    p50: float | None
    p95: float | None
    p99: float | None
    users: int | None  # None: the run recorded no user counts (older runs)
    inflight: float

    @property
    def mid(self) -> float:
        return self.start + self.width / 2

    @property
    def rps(self) -> float:
        return self.requests / self.width

    @property
    def failed_rps(self) -> float:
        return self.failed / self.width

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.requests if self.requests else None


@dataclass(frozen=True)
class Histogram:
    scale: str  # "linear" or "log"
    bins: list[tuple[float, float, int]]  # (low edge, high edge, answered requests)


def bucket_width(window: float) -> float:
    """The nice bucket width for a load window of `window` seconds (see the module's rule)."""
    want = max(window / MAX_BUCKETS, min(1.0, window / MIN_BUCKETS))
    for width in NICE_WIDTHS:
        if width >= want * (1 - 1e-9):
            return float(width)
    return float(math.ceil(want / 3600) * 3600)


def users_log(points: object, start: float) -> list[tuple[float, int]]:
    """The runner's `[epoch seconds, users]` log as `(seconds since start, users)`, sorted;
    counts from before the first request are carried to 0 s. Malformed entries are skipped."""
    out: list[tuple[float, int]] = []
    if not isinstance(points, list):
        return out
    for p in points:
        try:
            t, n = float(p[0]), int(p[1])
        except (TypeError, ValueError, IndexError):
            continue
        out.append((round(max(0.0, t - start), 3), n))
    out.sort(key=lambda p: p[0])
    return out


def buckets(
    samples: Sequence[Sample], users: Sequence[tuple[float, int]] | None = None
) -> list[Bucket]:
    """The run in buckets; `users` is `users_log`'s output (None when not recorded)."""
    if not samples:
        return []
    start = min(s.t for s in samples)
    window = window_s(samples)
    width = bucket_width(window)
    n = max(1, math.ceil(window / width - 1e-9))
    sent: list[list[Sample]] = [[] for _ in range(n)]
    busy = [0.0] * n  # request-seconds spent in each bucket
    for s in samples:
        t0 = s.t - start
        t1 = t0 + s.ms / 1000.0
        first = min(n - 1, int(t0 / width))
        sent[first].append(s)
        for i in range(first, min(n - 1, int(t1 / width)) + 1):
            busy[i] += max(0.0, min(t1, (i + 1) * width) - max(t0, i * width))
    peaks = _peaks(users, width, n) if users is not None else [None] * n
    out = []
    for i, group in enumerate(sent):
        covered = min(width, window - i * width) if i == n - 1 else width
        answered = sorted(s.ms for s in group if s.ok)
        p50, p95, p99 = (percentile(answered, q) for q in (50, 95, 99))
        out.append(
            Bucket(
                start=round(i * width, 6),
                width=max(covered, 1e-6),
                requests=len(group),
                failed=sum(1 for s in group if not s.ok),
                p50=p50,
                p95=p95,
                p99=p99,
                users=peaks[i],
                inflight=busy[i] / max(covered, 1e-6),
            )
        )
    return out


def _peaks(users: Sequence[tuple[float, int]], width: float, n: int) -> list[int | None]:
    """Per bucket, the most users of the step function `users` at any time in it."""
    times = [t for t, _ in users]
    out: list[int | None] = []
    for i in range(n):
        lo, hi = i * width, (i + 1) * width
        # the count in force at the bucket's start, then every change inside it
        k = bisect.bisect_right(times, lo) - 1
        values = [users[k][1]] if k >= 0 else [0]
        j = k + 1
        while j < len(users) and users[j][0] < hi:
            values.append(users[j][1])
            j += 1
        out.append(max(values))
    return out


def histogram(latencies: Sequence[float]) -> Histogram:
    """Bins that cover every value: linear with a nice step, or logarithmic (`LOG_SPREAD`)."""
    values = sorted(latencies)
    if not values:
        return Histogram("linear", [])
    lo, hi = values[0], values[-1]
    if lo > 0 and hi / lo > LOG_SPREAD:
        a, b = math.floor(math.log10(lo) * 10) / 10, math.ceil(math.log10(hi) * 10) / 10
        per_decade = min(20, max(5, int(MAX_BINS / max(b - a, 1e-9))))
        k0, k1 = math.floor(a * per_decade), math.ceil(b * per_decade)
        edges = [10 ** (k / per_decade) for k in range(k0, k1 + 1)]
        scale = "log"
    else:
        step = _nice_step((hi - lo) / 40 if hi > lo else max(hi, 1.0) / 10)
        first = math.floor(lo / step) * step
        count = max(1, math.ceil((hi - first) / step - 1e-9))
        edges = [first + i * step for i in range(count + 1)]
        scale = "linear"
    if edges[-1] < hi:  # float rounding: the last edge must hold the maximum
        edges[-1] = hi
    counts = [0] * (len(edges) - 1)
    for v in values:
        counts[min(len(counts) - 1, max(0, bisect.bisect_right(edges, v) - 1))] += 1
    return Histogram(scale, [(edges[i], edges[i + 1], c) for i, c in enumerate(counts)])


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least `raw`."""
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw * (1 - 1e-9):
            return float(m * power)
    return float(10 * power)

"""From raw samples to numbers and SLO verdicts: exact percentiles, rates, cold vs warm.

Role: the parent side's arithmetic, pure and standard library only. Percentiles are exact
(linear interpolation over every raw latency, `engine.evaluators.percentile`'s definition),
never Locust's bucketed ones. Conventions, stated once:

* latency percentiles are over the *answered* requests (ok); failed requests count in the
  error rate instead - a refused connection takes 0.2 ms and must not flatter p50;
* refusal rate = refused / requests whose prompt expects a refusal; answer rate = answered /
  requests whose prompt expects an answer. A failed request is neither refused nor answered,
  so errors lower both (as failed calls score 0 everywhere in the engine);
* throughput = requests / the load window (first request sent to last answer received);
* an SLO that has nothing to measure (no answered request, no prompt expecting a refusal,
  no prompt with that tag) fails, with that reason: a check that cannot fail is no check.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.evaluators.aggregate import percentile
from engine.spec.schema.loadtest import Slo

#: SLO field -> (YAML name, unit, True when the measured value must stay at or below the limit)
SLO_FIELDS: dict[str, tuple[str, str, bool]] = {
    "p50_ms": ("p50Ms", "ms", True),
    "p95_ms": ("p95Ms", "ms", True),
    "p99_ms": ("p99Ms", "ms", True),
    "error_rate": ("errorRate", "", True),
    "min_rps": ("minRps", "req/s", False),
    "refusal_rate": ("refusalRate", "", False),
    "answer_rate": ("answerRate", "", False),
}


@dataclass
class Sample:
    t: float  # epoch seconds when the request was sent
    ms: float
    ok: bool
    status: int
    error: str | None
    prompt: str
    cold: bool
    session: str
    worker: str
    text: str
    expect: str = "answer"
    tags: tuple[str, ...] = ()
    #: graded: True refused, False answered, None not graded (failed request)
    refused: bool | None = None


def read_samples(path: Path, prompts: Mapping[str, tuple[str, tuple[str, ...]]]) -> list[Sample]:
    """The runner's out file: lines of samples (arrays in `SAMPLE_FIELDS` order) or batches
    of them; `prompts` maps name -> (expect, tags). A torn last line (the runner was killed
    while writing) is skipped."""
    out: list[Sample] = []
    if not path.exists():
        return out
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                rows = json.loads(line)
            except ValueError:
                continue
            # a line is one sample or a batch of them (see engine.load.runner.Sink)
            for row in rows if rows and isinstance(rows[0], list) else [rows]:
                try:
                    t, ms, ok, st, err, name, cold, session, worker, text = row
                    expect, tags = prompts.get(name, ("answer", ()))
                    out.append(
                        Sample(
                            float(t), float(ms), bool(ok), int(st), err, str(name), bool(cold),
                            str(session), str(worker), text or "", expect, tags,
                        )
                    )  # fmt: skip
                except (ValueError, KeyError, TypeError):
                    continue
    out.sort(key=lambda s: s.t)
    return out


def window_s(samples: Sequence[Sample]) -> float:
    if not samples:
        return 0.0
    end = max(s.t + s.ms / 1000.0 for s in samples)
    return max(end - samples[0].t, 1e-3)


def latency(samples: Iterable[Sample]) -> dict[str, float | int | None]:
    values = [s.ms for s in samples if s.ok]
    stats: dict[str, float | int | None] = {"n": len(values)}
    for q in (50, 95, 99):
        stats[f"p{q}"] = percentile(values, q)
    stats["mean"] = sum(values) / len(values) if values else None
    stats["max"] = max(values) if values else None
    return stats


def metrics(samples: Sequence[Sample], window: float) -> dict[str, Any]:
    n = len(samples)
    failed = sum(1 for s in samples if not s.ok)
    refuse = [s for s in samples if s.expect == "refuse"]
    answer = [s for s in samples if s.expect == "answer"]
    lat = latency(samples)
    return {
        "requests": n,
        "failed": failed,
        "error_rate": failed / n if n else None,
        "rps": n / window if window else None,
        "p50_ms": lat["p50"],
        "p95_ms": lat["p95"],
        "p99_ms": lat["p99"],
        "mean_ms": lat["mean"],
        "max_ms": lat["max"],
        "expect_refuse": len(refuse),
        "refusal_rate": sum(1 for s in refuse if s.refused is True) / len(refuse)
        if refuse
        else None,
        "expect_answer": len(answer),
        "answer_rate": sum(1 for s in answer if s.refused is False) / len(answer)
        if answer
        else None,
    }


def _fmt(value: float, unit: str) -> str:
    if unit == "ms":
        text = f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 1 else f"{value:.3f}"
        return f"{text} ms"
    if unit:
        return f"{value:.1f} {unit}"
    return f"{value:.3f}"


def _limit(value: float, unit: str) -> str:
    """A limit as it was written (1000 ms, 0.001 ms, 50 req/s), rates with 3 decimals."""
    return f"{value:g} {unit}" if unit else f"{value:.3f}"


def check_slos(scope: str, slo: Slo, m: Mapping[str, Any], why_empty: str) -> list[dict[str, Any]]:
    """One result per SLO set in `slo`, measured on the metrics `m` of `scope`."""
    results = []
    for field, (yaml_name, unit, at_most) in SLO_FIELDS.items():
        limit = getattr(slo, field)
        if limit is None:
            continue
        name = yaml_name if scope == "overall" else f"{scope}.{yaml_name}"
        measured = m["rps" if field == "min_rps" else field]
        if measured is None:
            reason = {
                "refusal_rate": "no request expected a refusal (name a prompt harmful… or set "
                "expect: refuse)",
                "answer_rate": "no request expected an answer",
            }.get(field, why_empty)
            results.append(
                {
                    "slo": name,
                    "measured": None,
                    "limit": limit,
                    "ok": False,
                    "message": f"SLO {name} failed: nothing to measure: {reason}",
                }
            )
            continue
        ok = measured <= limit if at_most else measured >= limit
        op = ">" if at_most else "<"
        message = (
            f"SLO {name} passed: measured {_fmt(measured, unit)}"
            if ok
            else f"SLO {name} failed: measured {_fmt(measured, unit)} {op} limit "
            f"{_limit(float(limit), unit)}"
        )
        results.append(
            {"slo": name, "measured": measured, "limit": limit, "ok": ok, "message": message}
        )
    return results


def top_errors(samples: Iterable[Sample], limit: int = 5) -> dict[str, int]:
    counts = Counter(s.error or "unknown error" for s in samples if not s.ok)
    return dict(counts.most_common(limit))


def analyze(samples: Sequence[Sample], slo: Slo, per_tag: Mapping[str, Slo]) -> dict[str, Any]:
    """Overall, per tag, per prompt, cold/warm numbers and every SLO verdict."""
    window = window_s(samples)
    overall = metrics(samples, window)
    errors = top_errors(samples)
    why = f"no request was answered ({next(iter(errors))})" if errors else "no request was sent"
    results = check_slos("overall", slo, overall, why)
    if errors and results:
        # The most common failure explains most failed SLOs: say it once, on the first one.
        for r in results:
            if not r["ok"] and r["slo"] == "errorRate":
                top, count = next(iter(errors.items()))
                r["message"] += f" ({count} of {overall['requests']} requests: {top})"
    tags = sorted({t for s in samples for t in s.tags} | set(per_tag))
    by_tag: dict[str, Any] = {}
    for tag in tags:
        subset = [s for s in samples if tag in s.tags]
        by_tag[tag] = metrics(subset, window)
        if tag in per_tag:
            empty = why if subset else f"no request had a prompt tagged '{tag}'"
            results += check_slos(f"perTag.{tag}", per_tag[tag], by_tag[tag], empty)
    by_prompt = {
        name: metrics([s for s in samples if s.prompt == name], window)
        for name in sorted({s.prompt for s in samples})
    }
    return {
        "window_s": window,
        "overall": overall,
        "cold": latency(s for s in samples if s.cold),
        "warm": latency(s for s in samples if not s.cold),
        "per_tag": by_tag,
        "per_prompt": by_prompt,
        "errors": errors,
        "slos": results,
        "passed": all(r["ok"] for r in results),
    }

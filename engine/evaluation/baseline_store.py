"""Baselines: which earlier result a gate's new result is compared with, and where passing
results are kept so that any machine sharing the state can compare with them.

Pipeline role: around a gate run (`engine.providers.runs.evaluation`): before it, `resolve`
names the baseline and `find` fetches it; after `judge`, `judge_against` compares and
applies `maxRegression`; a run that passed is `record`ed as a future baseline.

The baseline of a gate is its last passing result on one agent digest:

* `baseline: {digest: <agent digest>}` - that digest (pinned). It must have a passing
  result recorded: otherwise the gate fails before anything is deployed (`MissingBaseline`);
* `baseline: {environment: stg}` - the digest deployed in that environment now;
* neither - the digest deployed now in the first environment of `promotes:` that has one
  (what prd runs). Nothing deployed there yet: no baseline (the first promotion).

For the last two, a digest without a recorded passing result (it was promoted before
baselines were recorded, or its objects were deleted) gives no comparison: the gate is
judged on its thresholds alone and the report and comment say "maxRegression not checked".

Passing results live in the state's sidecar (`engine.state.sidecar`), one object per run,
written once: `baselines/<gate>/<agent digest>/<finished>-<run id>.json`, holding every case
(answer, latency, scores). Keyed by the gate's *name*, so a preview's run of the gate (in
`pr-123`) and main's (in `tst`) are baselines of each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from engine.errors import PermanentError
from engine.evaluation.baseline import Comparison, case_from_json, case_to_json, compare
from engine.evaluation.cases import CaseResult
from engine.evaluation.run import EvalRun
from engine.spec.addresses import Address
from engine.spec.schema import QualityGateSpec
from engine.state.sidecar import Sidecar

BASELINES_DIRNAME = "baselines"
FORMAT_VERSION = 1

#: the agent digest an address has in the state now (None: not deployed)
Digests = Callable[[str], str | None]


class MissingBaseline(PermanentError):
    """A declared baseline digest has no passing result recorded."""


@dataclass(frozen=True)
class BaselineRef:
    """The result a gate is compared with: gate `gate`'s last passing run of `digest`."""

    gate: str
    digest: str
    #: where the digest comes from, for people: "promoted in prd", "declared"
    source: str
    #: pinned in the spec (`baseline.digest`): a missing result is an error, not a note
    declared: bool = False


@dataclass
class Baseline:
    ref: BaselineRef
    run_id: str
    finished_at: str
    cases: list[CaseResult]


def resolve(gate: str, spec: QualityGateSpec, digest_of: Digests) -> BaselineRef | None:
    """The baseline of gate `gate` (its name) with spec `spec` (see the module docstring)."""
    b = spec.baseline
    if b is not None and b.digest is not None:
        return BaselineRef(gate, b.digest, "declared in baseline.digest", declared=True)
    envs = [b.environment] if b is not None and b.environment else list(spec.promotes)
    how = "deployed in" if b is not None else "promoted in"
    for env in envs:
        digest = digest_of(str(Address("Agent", spec.agent, env)))
        if digest:
            return BaselineRef(gate, digest, f"{how} {env}")
    return None


def _prefix(gate: str, digest: str) -> str:
    return f"{BASELINES_DIRNAME}/{gate}/{digest}/"


def _stamp(finished_at: str) -> str:
    """`2026-11-21T17:22:56+00:00` -> `20261121T172256`: keys sort in time order."""
    return re.sub(r"[^0-9T]", "", finished_at)[:15] or "0"


def record(sidecar: Sidecar, gate: str, run: EvalRun) -> str:
    """Keep a passing gate run as a baseline of its agent digest; the object's key."""
    body = {
        "format_version": FORMAT_VERSION,
        "gate": gate,
        "address": run.address,
        "run_id": run.run_id,
        "agent_digest": run.agent_digest,
        "dataset_digest": run.dataset_digest,
        "finished_at": run.finished_at,
        "evaluators": [e.label for e in run.evaluators],
        "cases": [case_to_json(c) for c in run.variants[0].cases],
    }
    key = f"{_prefix(gate, run.agent_digest)}{_stamp(run.finished_at)}-{run.run_id}.json"
    sidecar.put_once(key, json.dumps(body, sort_keys=True, ensure_ascii=False).encode())
    return key


def find(sidecar: Sidecar, ref: BaselineRef) -> Baseline | None:
    """The newest recorded passing result for `ref` that can be read (None: there is none)."""
    for key in reversed(sidecar.list(_prefix(ref.gate, ref.digest))):
        raw = sidecar.get(key)
        try:
            data = json.loads(raw or b"")
            cases = [case_from_json(c) for c in data["cases"]]
            return Baseline(ref, str(data["run_id"]), str(data["finished_at"]), cases)
        except (ValueError, KeyError, TypeError):
            continue  # an object we cannot read is no baseline; an older one may be
    return None


def lookup(
    sidecar: Sidecar | None,
    ref: BaselineRef | None,
    where: str,
    fallback: Callable[[BaselineRef], Baseline | None] = lambda _ref: None,
) -> Baseline | None:
    """`find` (else `fallback`: e.g. the local store's runs from before baselines were
    recorded), or MissingBaseline when a declared (pinned) baseline has no result."""
    if ref is None:
        return None
    found = find(sidecar, ref) if sidecar is not None else None
    if found is None:
        found = fallback(ref)
    if found is None and ref.declared:
        place = sidecar.location if sidecar is not None else "the state"
        raise MissingBaseline(
            f"{where}: the declared baseline (agent digest {ref.digest}) has no passing "
            f"result of gate '{ref.gate}' recorded in {place}/{_prefix(ref.gate, ref.digest)}",
            hint="pin a digest this gate passed (agentops state show lists the runs), use "
            "baseline: {environment: ...}, or remove baseline: to compare with the digest "
            "promoted now",
        )
    return found


def judge_against(
    run: EvalRun, spec: QualityGateSpec, ref: BaselineRef | None, found: Baseline | None
) -> Comparison:
    """Compare a judged gate run with its baseline; a regression beyond `maxRegression`
    fails the run (status and message). Sets `run.comparison`."""
    metrics = [e.label for e in run.evaluators]
    cases = run.variants[0].cases
    if ref is None:
        note = "no baseline: no agent digest is promoted yet"
        cmp = compare(cases, None, metrics, spec.max_regression, note=note)
    elif found is None:
        note = f"no baseline: digest {ref.digest} ({ref.source}) has no recorded passing result" + (
            "; maxRegression not checked" if spec.max_regression else ""
        )
        cmp = compare(cases, None, metrics, spec.max_regression, source=ref.source, note=note)
        cmp.baseline_digest = ref.digest
    else:
        cmp = compare(
            cases,
            found.cases,
            metrics,
            spec.max_regression,
            baseline_run=found.run_id,
            baseline_digest=ref.digest,
            source=ref.source,
        )
    run.comparison = cmp
    if cmp.regressed:
        what = f"regressed against the baseline ({ref.source if ref else ''}): "
        text = what + cmp.describe_regressions()
        run.status = "failed"
        run.message = f"{run.message}; {text}" if run.message else f"gate failed: {text}"
    return cmp

"""What changed since the previous run of the same Experiment or QualityGate.

Pipeline role: `report_html` diffs a run against the one recorded before it for the same
address (`EvalStore.previous`: whatever its status), so a report answers "better or worse
than last time, and on which cases?". Per variant and metric: the previous value, the new
one and the delta, marked better or worse by the metric's direction (latency, errors and
tokens: lower is better). Per case: the items a variant newly fails (passed every
repetition before, fails one now) and newly passes.

Variants are matched by their label (the matrix values, e.g. `model=fast, prompt=concise`),
so a reordered matrix still compares like with like; a gate's one variant is matched with
the previous one whatever its digest (a new digest is what a gate is there to judge).
Items are matched by id. The deltas are point values: the previous run is not a baseline
and no test of significance is made here (a gate's baseline comparison has one,
`engine.evaluation.baseline`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.evaluation.cases import CaseResult
from engine.evaluation.report_cases import clip, input_text
from engine.evaluation.results import EvaluatorInfo, case_passed, lower_is_better
from engine.evaluation.run import EvalRun, VariantRun

#: per-case changes listed per direction; the rest are counted
MAX_CHANGES = 200
#: run metrics compared after the evaluators' means
RUN_METRICS = ("pass_rate", "latency_p50", "latency_p95", "errors", "tokens")
NEWLY_FAILING = "newly failing"
NEWLY_PASSING = "newly passing"
STILL_FAILING = "still failing"


@dataclass(frozen=True)
class MetricChange:
    metric: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def trend(self) -> str:
        """better | worse | same, by the metric's direction ("" when one side is missing)."""
        d = self.delta
        if d is None:
            return ""
        if abs(d) < 1e-9:
            return "same"
        return "better" if (d < 0) == lower_is_better(self.metric) else "worse"


@dataclass(frozen=True)
class VariantChange:
    name: str
    label: str
    previous_name: str
    #: the variant's agent digest differs from the previous run's
    agent_changed: bool
    metrics: list[MetricChange]


@dataclass(frozen=True)
class CaseChange:
    variant: str
    item_id: str
    item_index: int
    change: str
    input: str
    before: str
    after: str


@dataclass
class RunDiff:
    previous_run: str
    previous_status: str
    previous_finished_at: str
    previous_verdict: str
    verdict: str
    metric_names: list[str]
    variants: list[VariantChange] = field(default_factory=list)
    #: "dataset digest ab → cd", "variants only in this run: v5", ...
    notes: list[str] = field(default_factory=list)
    newly_failing: list[CaseChange] = field(default_factory=list)
    newly_passing: list[CaseChange] = field(default_factory=list)
    n_newly_failing: int = 0
    n_newly_passing: int = 0


def verdict_of(run: EvalRun) -> str:
    """A run's outcome in a few words: the gate's verdict, or the experiment's winner."""
    if run.gate is not None:
        return run.gate.verdict
    if run.ranking is not None:
        if run.best is not None:
            return f"best {run.best.name} ({run.best.label})"
        return "inconclusive"
    return run.status


def match(run: EvalRun, previous: EvalRun) -> list[tuple[VariantRun, VariantRun]]:
    if run.kind == "QualityGate" and run.variants and previous.variants:
        return [(run.variants[0], previous.variants[0])]
    before = {v.label: v for v in previous.variants}
    return [(v, before[v.label]) for v in run.ranked if v.label in before]


def _metric(v: VariantRun, name: str) -> float | None:
    try:
        return v.aggregate.metric(name)
    except KeyError:  # an evaluator the other run did not have
        return None


def _status(cases: Sequence[CaseResult], infos: Mapping[str, EvaluatorInfo]) -> bool | None:
    """An item passed (every repetition passed), failed (one did not) or had no verdict."""
    verdicts = [v for c in cases if (v := case_passed(c, infos)) is not None]
    return all(verdicts) if verdicts else None


def _by_item(cases: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    out: dict[str, list[CaseResult]] = {}
    for c in cases:
        out.setdefault(c.item_id, []).append(c)
    return out


def _answer(cases: Sequence[CaseResult]) -> str:
    first = min(cases, key=lambda c: c.repetition)
    text = first.response if first.ok else f"error: {first.error or 'the call failed'}"
    return clip(text, 200)[0]


def item_changes(
    new: Sequence[CaseResult], old: Sequence[CaseResult], evaluators: Sequence[EvaluatorInfo]
) -> dict[str, str]:
    """Item id -> newly failing | still failing | newly passing, between two runs' cases of
    one variant (items that pass in both, or lack a verdict on one side, are left out)."""
    infos = {e.label: e for e in evaluators}
    before = _by_item(old)
    out = {}
    for item_id, cases in _by_item(new).items():
        was = _status(before[item_id], infos) if item_id in before else None
        now = _status(cases, infos)
        if now is False:
            out[item_id] = NEWLY_FAILING if was else STILL_FAILING if was is False else ""
        elif now and was is False:
            out[item_id] = NEWLY_PASSING
    return {k: v for k, v in out.items() if v}


def diff(run: EvalRun, previous: EvalRun) -> RunDiff:
    infos = {e.label: e for e in run.evaluators}
    before_infos = {e.label: e for e in previous.evaluators}
    names = [e.label for e in run.evaluators] + list(RUN_METRICS)
    out = RunDiff(
        previous.run_id,
        previous.status,
        previous.finished_at,
        verdict_of(previous),
        verdict_of(run),
        names,
    )
    if previous.dataset_digest != run.dataset_digest:
        out.notes.append(f"dataset digest {previous.dataset_digest} → {run.dataset_digest}")
    added = sorted(set(infos) - set(before_infos))
    if added:
        out.notes.append(f"evaluators new in this run: {', '.join(added)}")
    pairs = match(run, previous)
    paired = {id(b) for _, b in pairs}
    new = [v.name for v in run.ranked if all(v is not a for a, _ in pairs)]
    gone = [v.name for v in previous.variants if id(v) not in paired]
    if new:
        out.notes.append(f"variants without a previous result: {', '.join(new)}")
    if gone:
        out.notes.append(f"variants of the previous run not in this one: {', '.join(gone)}")
    items = {i.id: i for i in run.items}
    for now, before in pairs:
        out.variants.append(
            VariantChange(
                now.name,
                now.label,
                before.name,
                now.agent_digest != before.agent_digest,
                [MetricChange(m, _metric(before, m), _metric(now, m)) for m in names],
            )
        )
        old_cases = _by_item(before.cases)
        for item_id, cases in _by_item(now.cases).items():
            if item_id not in old_cases:
                continue
            was, now_ok = _status(old_cases[item_id], before_infos), _status(cases, infos)
            if was is None or now_ok is None or was == now_ok:
                continue
            item = items.get(item_id)
            change = CaseChange(
                now.name,
                item_id,
                cases[0].item_index,
                NEWLY_PASSING if now_ok else NEWLY_FAILING,
                clip(input_text(item.input), 160)[0] if item is not None else "",
                _answer(old_cases[item_id]),
                _answer(cases),
            )
            if now_ok:
                out.n_newly_passing += 1
                if len(out.newly_passing) < MAX_CHANGES:
                    out.newly_passing.append(change)
            else:
                out.n_newly_failing += 1
                if len(out.newly_failing) < MAX_CHANGES:
                    out.newly_failing.append(change)
    return out

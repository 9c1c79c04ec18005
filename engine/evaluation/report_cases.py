"""The cases of a run as the HTML report shows them: a grid and a drill-down per item.

Pipeline role: `report_html` builds these views from an `EvalRun` (and, for a gate with a
baseline, from the baseline's cases too) and the templates render them; no HTML here.

* The **grid** has one row per dataset item (its input and expected output) and one column
  per variant (or: baseline, new), each cell the answer, pass/fail and every evaluator's
  score. With repetitions a cell shows the first repetition's answer, "2/3 passed", and
  each score's mean over the repetitions.
* The **drill-down** of an item is every variant x repetition in full: the answer, the
  error, latency, tokens, the trajectory (the tool calls the agent reported), the trace id
  the call was sent with (`agentops traces show ID`), and each evaluator's score with its
  comment or error.

A case *fails* when a call failed or an applicable evaluator scored below its passAt (the
rule of `results.case_passed`); an item row fails when any of its cases does.

Size: a page shows at most `MAX_CASE_CELLS` answers (items x columns x repetitions); a
bigger run shows the failing items first up to that many, says how many were left out, and
the store keeps all of them. Long answers, inputs and trajectories are cut (`*_CHARS`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from engine.evaluation.cases import CaseResult
from engine.evaluation.results import EvaluatorInfo, case_passed, total_tokens
from engine.evaluation.run import ItemRecord

#: answers a page shows at most (items x columns x repetitions); the store keeps the rest
MAX_CASE_CELLS = 2000
GRID_CHARS = 280
DETAIL_CHARS = 4000
INPUT_CHARS = 3000
MAX_STEPS = 25
STEP_CHARS = 240

#: a baseline grid's row tags, in the order rows are shown
TAGS = ("newly failing", "still failing", "newly passing", "")


@dataclass(frozen=True)
class ScoreView:
    label: str
    #: the counted value (errors as 0), a mean over repetitions in a grid cell
    value: float | None
    #: pass | fail | mixed (some repetitions passed) | error | skip
    state: str
    comment: str = ""

    @property
    def text(self) -> str:
        if self.state == "skip":
            return "n/a"
        shown = "–" if self.value is None else f"{self.value:.2f}"
        return f"{shown} err" if self.state == "error" else shown


@dataclass(frozen=True)
class Step:
    tool: str
    args: str


@dataclass(frozen=True)
class Attempt:
    """One case in full: a variant's answer to an item in one repetition."""

    repetition: int
    ok: bool
    #: pass | fail | none (no evaluator applied)
    state: str
    answer: str
    cut: bool
    error: str | None
    latency_ms: float
    tokens: int | None
    steps: list[Step]
    more_steps: int
    trace_id: str
    scores: list[ScoreView]


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    subtitle: str = ""


@dataclass(frozen=True)
class Cell:
    """One column's answers to one item (every repetition)."""

    column: str
    #: pass | fail | mixed | none | missing (the column has no case for this item)
    state: str
    passed: int = 0
    runs: int = 0
    answer: str = ""
    error: str | None = None
    scores: list[ScoreView] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.state in ("fail", "mixed")


@dataclass(frozen=True)
class Row:
    index: int
    item_id: str
    anchor: str
    input: str
    input_full: str
    expected: list[tuple[str, str]]
    expected_full: str
    cells: list[Cell]
    #: a baseline grid's change: newly failing | still failing | newly passing | ""
    tag: str = ""

    @property
    def failing(self) -> bool:
        return any(c.failing for c in self.cells)

    @property
    def differs(self) -> bool:
        """The columns disagree: one passes what another fails."""
        seen = {"fail" if c.failing else c.state for c in self.cells}
        return {"pass", "fail"} <= seen


@dataclass
class Grid:
    columns: list[Column]
    rows: list[Row]
    #: items in the run, and how many of them fail (all, not only the rows shown)
    total: int
    failing: int
    #: the rows shown when the page cap applied (None: every item is shown)
    limit: int | None = None

    def title(self, key: str, *, full: bool = False) -> str:
        """A column's title (`full`: with its subtitle, for the stacked phone layout)."""
        col = next((c for c in self.columns if c.key == key), Column(key, key))
        return f"{col.title} · {col.subtitle}" if full and col.subtitle else col.title


def clip(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[: limit - 1].rstrip() + "…", True)


def input_text(value: object) -> str:
    """An item input as a person reads it: the question alone when it is the only text."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and len(value) == 1:
        (only,) = value.values()
        if isinstance(only, str):
            return only
    return _json(value, indent=None)


def expected_lines(value: object) -> list[tuple[str, str]]:
    """`expected_output` as (key, text) lines: lists joined, a trajectory as a → b."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        return [("expected", value if isinstance(value, str) else _json(value, indent=None))]
    out = []
    for key, v in value.items():
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            sep = " → " if key == "trajectory" else "; "
            text = sep.join(v) if v else "(none)"
        elif isinstance(v, str):
            text = v
        else:
            text = _json(v, indent=None)
        out.append((str(key), clip(text, 400)[0]))
    return out


def _json(value: object, *, indent: int | None = 2) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=str, sort_keys=False)


def _state(passed: bool | None) -> str:
    return "none" if passed is None else "pass" if passed else "fail"


def _score(label: str, cases: Sequence[CaseResult], info: EvaluatorInfo | None) -> ScoreView:
    scores = [c.scores[label] for c in cases if label in c.scores]
    counted = [v for s in scores if (v := s.counted_value) is not None]
    if not counted:
        comment = next((s.comment or "" for s in scores), "")
        return ScoreView(label, None, "skip", comment)
    pass_at = info.pass_at if info else 0.5
    hits = sum(1 for v in counted if v >= pass_at)
    state = "pass" if hits == len(counted) else "fail" if hits == 0 else "mixed"
    if any(c.ok and label in c.scores and c.scores[label].error is not None for c in cases):
        state = "error"
    one = scores[0] if len(scores) == 1 else None
    comment = (one.error or one.comment or "") if one else ""
    return ScoreView(label, sum(counted) / len(counted), state, comment)


def attempt(case: CaseResult, infos: Mapping[str, EvaluatorInfo]) -> Attempt:
    answer, cut = clip(case.response, DETAIL_CHARS)
    steps = []
    for step in case.trajectory[:MAX_STEPS]:
        args = step.get("input")
        text = "" if args in (None, {}, "") else _json(args, indent=None)
        steps.append(Step(str(step.get("tool", "?")), clip(text, STEP_CHARS)[0]))
    return Attempt(
        repetition=case.repetition,
        ok=case.ok,
        state=_state(case_passed(case, infos)),
        answer=answer,
        cut=cut,
        error=case.error,
        latency_ms=case.latency_ms,
        tokens=total_tokens(case.usage),
        steps=steps,
        more_steps=max(0, len(case.trajectory) - MAX_STEPS),
        trace_id=case.trace_id,
        scores=[_score(label, [case], infos.get(label)) for label in case.scores],
    )


def cell(
    column: str, cases: Sequence[CaseResult], infos: Mapping[str, EvaluatorInfo], labels: list[str]
) -> Cell:
    if not cases:
        return Cell(column, "missing")
    verdicts = [case_passed(c, infos) for c in cases]
    counted = [v for v in verdicts if v is not None]
    passed = sum(1 for v in counted if v)
    if not counted:
        state = "none"
    else:
        state = "pass" if passed == len(counted) else "fail" if passed == 0 else "mixed"
    first = cases[0]
    answer = clip(first.response, GRID_CHARS)[0] if first.ok else ""
    return Cell(
        column=column,
        state=state,
        passed=passed,
        runs=len(counted),
        answer=answer,
        error=None if first.ok else (first.error or "the call failed"),
        scores=[_score(label, cases, infos.get(label)) for label in labels],
        attempts=[attempt(c, infos) for c in cases],
    )


def _by_item(cases: Sequence[CaseResult]) -> dict[str, list[CaseResult]]:
    out: dict[str, list[CaseResult]] = {}
    for c in sorted(cases, key=lambda c: (c.item_index, c.repetition)):
        out.setdefault(c.item_id, []).append(c)
    return out


def _items(
    items: Sequence[ItemRecord], columns: Sequence[Sequence[CaseResult]]
) -> list[ItemRecord]:
    """The run's items; items only the cases know (a run recorded before items were kept, a
    baseline's removed item) follow, without input."""
    known = {i.id: i for i in items}
    out = sorted(items, key=lambda i: i.index)
    extra: dict[str, int] = {}
    for cases in columns:
        for c in cases:
            if c.item_id not in known:
                extra.setdefault(c.item_id, c.item_index)
    out += [ItemRecord(i, n, None) for i, n in sorted(extra.items(), key=lambda x: (x[1], x[0]))]
    return out


def build_grid(
    columns: Sequence[tuple[Column, Sequence[CaseResult]]],
    items: Sequence[ItemRecord],
    infos: Sequence[EvaluatorInfo],
    *,
    failing_first: bool,
    tags: Mapping[str, str] | None = None,
    anchor: str = "case",
    cap: int = MAX_CASE_CELLS,
) -> Grid:
    """Items x `columns`; rows in dataset order, or failing (and `tags`, in `TAGS` order)
    first; at most about `cap` answers in all (failing rows kept first). Which rows to show
    is decided on the verdicts alone, so a 10,000-case run builds only the rows it shows."""
    by_label = {e.label: e for e in infos}
    labels = [e.label for e in infos]
    grouped = [_by_item(cases) for _, cases in columns]
    every = _items(items, [cases for _, cases in columns])
    tag_of = dict(tags or {})

    def failing(item: ItemRecord) -> bool:
        return any(case_passed(c, by_label) is False for g in grouped for c in g.get(item.id, []))

    flags = {item.id: failing(item) for item in every}

    def urgency(item: ItemRecord) -> tuple[int, int, int]:
        tag = tag_of.get(item.id, "")
        rank = TAGS.index(tag) if tag in TAGS else len(TAGS)
        return (rank, 0 if flags[item.id] else 1, item.index)

    per_row = max((sum(len(g.get(item.id, [])) for g in grouped) for item in every), default=1)
    limit = max(1, cap // max(1, per_row))
    shown = sorted(every, key=urgency) if failing_first else every
    capped = None
    if len(every) > limit:
        keep = {item.id for item in sorted(every, key=urgency)[:limit]}
        shown = [item for item in shown if item.id in keep]
        capped = limit
    rows = []
    for item in shown:
        cells = [
            cell(col.key, g.get(item.id, []), by_label, labels)
            for (col, _), g in zip(columns, grouped, strict=True)
        ]
        has_input = item.input is not None
        rows.append(
            Row(
                index=item.index,
                item_id=item.id,
                anchor=f"{anchor}-{item.index}-{_slug(item.id)}",
                input=clip(input_text(item.input), 400)[0] if has_input else "",
                input_full=clip(_json(item.input), INPUT_CHARS)[0] if has_input else "",
                expected=expected_lines(item.expected),
                expected_full=clip(_json(item.expected), INPUT_CHARS)[0]
                if item.expected is not None
                else "",
                cells=cells,
                tag=tag_of.get(item.id, ""),
            )
        )
    cols = [col for col, _ in columns]
    total = sum(flags.values())
    return Grid(cols, rows, total=len(every), failing=total, limit=capped)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in text)[:40]

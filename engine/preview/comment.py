"""The preview's one sticky pull-request comment, in GitHub-flavoured markdown.

Pipeline role: the `-o markdown` view of a `PreviewResult`. One comment per preview name
(the first line is a hidden marker a workflow finds and edits in place): the verdict, each
gate's result with its baseline deltas and report, then the plan for every environment.
GitHub refuses comments over 65,536 characters, so the detail sits in `<details>` and the
plan, the largest part, is cut with a note when the whole would not fit.
"""

from __future__ import annotations

from engine.evaluation.baseline import LATENCY, Comparison, MetricDelta
from engine.preview.run import GateResult, PreviewResult
from engine.render.cost import caps, money_text, shows_money
from engine.render.plan import render_markdown
from engine.spec.pricing import versus

LIMIT = 65_536
_NOTE = (
    "\n\n> **Note:** the plan was truncated to fit one comment; run `agentops plan` for all "
    "of it.\n"
)


def _num(value: float | None, metric: str, signed: bool = False) -> str:
    if value is None:
        return "n/a"
    if metric == LATENCY:
        return f"{value:+.0f} ms" if signed else f"{value:.0f} ms"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _check_num(value: float, name: str) -> str:
    """A check's value as people read it: ms for latency, a count for errors."""
    if name.startswith("latency"):
        return f"{value:.0f} ms"
    if name == "errors":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _delta_row(d: MetricDelta) -> str:
    ci = (
        "n/a"
        if d.ci95 is None
        else f"{_num(d.ci95[0], d.metric, True)} … {_num(d.ci95[1], d.metric, True)}"
    )
    sig = "yes" if d.significant else "no"
    bound = "" if d.max_regression is None else _num(d.max_regression, d.metric)
    flag = " ❌" if d.regressed else ""
    return (
        f"| {d.metric} | {_num(d.baseline, d.metric)} | {_num(d.new, d.metric)} | "
        f"{_num(d.delta, d.metric, True)}{flag} | {ci} | {sig} | {bound} |"
    )


def _comparison(c: Comparison | None) -> list[str]:
    if c is None:
        return []
    if not c.deltas:
        return [f"_{c.note}_", ""]
    pairs = c.deltas[0].pairs
    source = f", {c.source}" if c.source else ""
    head = (
        f"Baseline: run `{c.baseline_run}` (digest `{c.baseline_digest}`{source}), "
        f"{pairs} paired case(s)."
    )
    return [
        head,
        "",
        "| metric | baseline | new | Δ | 95% CI (paired bootstrap) | significant "
        "| max regression |",
        "|---|---|---|---|---|---|---|",
        *(_delta_row(d) for d in c.deltas),
        "",
    ]


def _icon(r: GateResult) -> str:
    if r.status == "skipped":
        return "⏭️ skipped"
    if r.comparison is not None and r.comparison.regressed:
        return "❌ regressed"
    return "✅ passed" if r.status == "succeeded" else "❌ failed"


def _gate(r: GateResult) -> list[str]:
    report = r.summary.get("report", {}) if isinstance(r.summary.get("report"), dict) else {}
    lines = [
        f"#### `{r.address}` — {_icon(r)}",
        "",
        f"Ran as `{r.preview_address}`." + (f" {r.message}" if r.message else ""),
        "",
    ]
    spent = versus(r.summary.get("cost"))
    if spent:
        lines += [f"Cost: {spent}.", ""]
    if report:
        links = ", ".join(f"[{k}]({v})" for k, v in sorted(report.items()))
        lines += [f"Reports: {links}", ""]
    if r.verdict_key:
        lines += [f"Verdict digest `{r.verdict_key}`: main reuses it for the same digests.", ""]
    checks = r.summary.get("checks") or []
    if checks:
        lines += [
            "<details><summary>Checks</summary>",
            "",
            "| check | value | threshold | verdict |",
            "|---|---|---|---|",
        ]
        for c in checks:
            value = "n/a" if c.get("value") is None else _check_num(c["value"], c["name"])
            limit = _check_num(c["threshold"], c["name"])
            lines.append(f"| {c['name']} | {value} | {c['op']} {limit} | {c['verdict']} |")
        lines += ["", "</details>", ""]
    return lines + _comparison(r.comparison)


def _costs(result: PreviewResult) -> list[str]:
    """The plan's estimate of each run (`engine.planner.cost`); money and budget columns only
    where an environment has a price table or a budget."""
    if not result.costs:
        return []
    money = any(shows_money(e.cost) for e in result.costs)
    budget = any(e.cost.budget is not None or e.cost.refused for e in result.costs)
    head = "| run | invocations (items × variants × repetitions) | tokens (from earlier runs) |"
    head += " cost |" * money + " budget |" * budget
    lines = [
        "<details><summary>Estimated cost</summary>",
        "",
        head,
        "|---|---|---|" + "---|" * (money + budget),
    ]
    for e in result.costs:
        tokens = "n/a (never ran)" if e.tokens is None else f"~{e.tokens:,}"
        if e.tokens is not None and not e.cost.tokens_from.endswith(("run", "(same agent)")):
            tokens += f" ({e.cost.tokens_from})"
        row = (
            f"| `{e.address}` | {e.invocations} ({e.items} × {e.variants} × {e.repetitions}) "
            f"| {tokens} |"
        )
        if money:
            row += f" {money_text(e.cost)} |"
        if budget:
            cap = caps(e.cost.budget) if e.cost.budget is not None else ""
            refused = f"❌ {e.cost.refused}" if e.cost.refused else ""
            row += " " + " — ".join(p for p in (cap, refused) if p).replace("|", "\\|") + " |"
        lines.append(row)
    return [*lines, "", "</details>", ""]


def _cut(text: str, room: int) -> str:
    """At most `room` characters of `text`, cut after a whole `<details>` block (or else a
    whole line), so no fence or fold is left open."""
    head = text[:room]
    end = head.rfind("\n</details>\n")
    if end >= 0:
        return head[: end + len("\n</details>\n")]
    return head[: head.rfind("\n") + 1]


def render_comment(result: PreviewResult, *, limit: int = LIMIT) -> str:
    verdict = "✅ passed" if result.ok else "❌ failed"
    head = [f"<!-- agentops-preview:{result.name} -->", f"## agentops preview `{result.name}`", ""]
    if not result.results:
        head += ["Nothing to preview: the change triggers no QualityGate or Experiment.", ""]
    else:
        envs = ", ".join(f"`{o}` → `{c}`" for o, c in sorted(result.envs.items()))
        down = "torn down" if not result.left else "**not** fully torn down"
        head += [f"**{verdict}** — environment copies: {envs} ({down}).", ""]
        if result.interrupted:
            head += [f"> **Warning:** the preview was {result.interrupted}.", ""]
        if result.left:
            head += [
                f"> **Warning:** the teardown left {len(result.left)} thing(s) behind "
                "(`agentops preview --sweep` removes them):",
                *(f"> - `{line}`" for line in result.left),
                "",
            ]
        if result.leftovers:
            head += [
                f"> **Warning:** {len(result.leftovers)} process(es) were killed after teardown.",
                "",
            ]
        head += _costs(result)
        head += ["### Gates", ""]
        for r in result.results:
            head += _gate(r)
    body = "\n".join(head)
    plan = render_markdown(result.main_plan, costs_table=False)  # the cost section has it
    fold = [
        "",
        "<details><summary>Plan for every environment</summary>",
        "",
        "{plan}",
        "</details>",
        "",
    ]
    frame = "\n".join(fold)
    room = limit - len(body) - len(frame) + len("{plan}")
    if len(plan) > room:
        plan = _cut(plan, max(0, room - len(_NOTE))) + _NOTE
    out = body + frame.replace("{plan}", plan)
    return out[:limit]

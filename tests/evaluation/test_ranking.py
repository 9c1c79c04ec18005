"""Experiment verdicts (issue 17): the best variant must beat every other beyond the spread.

A paired bootstrap over the dataset's items decides; exact ties and tiny datasets are
inconclusive; tie-breakers decide only among variants the objective leaves tied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine.evaluation.ranking import (
    MIN_ITEMS,
    RESAMPLES,
    RankingOutcome,
    bootstrap,
    compare,
    decide,
)
from engine.evaluation.report_html import render_html
from engine.evaluation.report_text import headline, render_markdown, renderables
from engine.evaluation.results import EvaluatorInfo, aggregate
from engine.evaluation.run import VariantRun
from engine.providers.local.evalstore import EvalStore
from engine.providers.local.store import LocalStore
from engine.providers.runs.evaluation import summarize

from .helpers import case, make_run

INFOS = [EvaluatorInfo("facts", "facts")]

Score = Callable[[int, int], float]


def variant(
    name: str,
    facts: Score,
    *,
    items: int = 8,
    reps: int = 2,
    ms: Score = lambda k, r: 100.0,
    tokens: int | None = None,
) -> VariantRun:
    cases = []
    for r in range(reps):
        for k in range(items):
            c = case(f"i-{k}", r, {"facts": facts(k, r)}, ms=ms(k, r))
            if tokens is not None:
                c.usage = {"total_tokens": tokens}
            cases.append(c)
    values = {"model": {"name": name, "value": name}}
    agg = aggregate(cases, INFOS)
    return VariantRun(name, f"model={name}", values, f"d-{name}", "offline:keyword", agg, cases)


def test_exact_ties_are_inconclusive_whatever_the_matrix_order() -> None:
    # the issue: 2 models x 2 prompts, every variant facts 0.00 ± 0.00, and "best v4"
    variants = [
        variant(f"v{n}", lambda k, r: 0.0, ms=lambda k, r, n=n: 500.0 - n) for n in (1, 2, 3, 4)
    ]
    outcome = decide(variants, INFOS, "facts", "maximize")
    assert outcome.verdict == "inconclusive" and outcome.winner is None
    assert outcome.leader == "v4"  # still ranked (fastest first), but not named best
    assert all(c.reason == "exact tie" and not c.decisive for c in outcome.comparisons)
    assert outcome.message().startswith("no variant is better than all others on facts")
    assert "exact tie" in outcome.message()


def test_a_clear_winner_is_best_with_its_interval() -> None:
    good = variant("smart", lambda k, r: 0.8 + 0.02 * (k % 3))
    weak = variant("fast", lambda k, r: 0.4 + 0.05 * (k % 2))
    outcome = decide([weak, good], INFOS, "facts", "maximize")
    assert outcome.verdict == "best" and outcome.winner == "smart"
    assert outcome.decided_by == "objective"
    (c,) = outcome.comparisons
    assert c.decisive and c.items == 8 and c.interval is not None and c.interval[0] > 0
    assert c.difference is not None and abs(c.difference - (0.82 - 0.425)) < 0.01
    assert "smart is better than every other variant on facts" in outcome.message()
    assert "95% interval" in outcome.message()


def test_the_winner_must_beat_every_variant_not_only_the_runner_up() -> None:
    best = variant("a", lambda k, r: 0.9)
    close = variant("b", lambda k, r: 0.9 if k % 2 else 0.85)  # clearly below, yet close
    noisy = variant("c", lambda k, r: 1.0 if k < 5 else 0.3)  # lower mean, huge spread
    outcome = decide([best, close, noisy], INFOS, "facts", "maximize")
    assert [c.other for c in outcome.comparisons] == ["b", "c"]
    assert outcome.comparisons[0].decisive and not outcome.comparisons[1].decisive
    assert outcome.verdict == "inconclusive"
    assert "a 0.90 vs c 0.74" in outcome.message()


def test_too_few_items_are_never_decisive() -> None:
    n = MIN_ITEMS - 1
    a = variant("a", lambda k, r: 1.0, items=n)
    b = variant("b", lambda k, r: 0.0, items=n)
    c = compare(a, b, "facts", "maximize", INFOS)
    assert not c.decisive and c.reason == f"only {n} items (at least {MIN_ITEMS} are needed)"
    a = variant("a", lambda k, r: 1.0, items=MIN_ITEMS)
    b = variant("b", lambda k, r: 0.0, items=MIN_ITEMS)
    assert compare(a, b, "facts", "maximize", INFOS).decisive


def test_repetitions_of_one_item_are_not_independent_evidence() -> None:
    # a wins 4 items, b wins 3, in every repetition: 60 repetitions do not make that a
    # difference (as 480 independent cases they would: 95% interval about +0.04…+0.21)
    a = variant("a", lambda k, r: 1.0 if k < 5 else 0.0, reps=60)
    b = variant("b", lambda k, r: 1.0 if k >= 4 else 0.0, reps=60)
    c = compare(a, b, "facts", "maximize", INFOS)
    assert not c.decisive and c.reason == "within the spread"


def test_minimize_latency_is_decided_on_the_percentile() -> None:
    quick = variant("quick", lambda k, r: 0.5, ms=lambda k, r: 100.0 + k)
    slow = variant("slow", lambda k, r: 0.5, ms=lambda k, r: 300.0 + k)
    outcome = decide([slow, quick], INFOS, "latency_p95", "minimize")
    assert outcome.winner == "quick"
    (c,) = outcome.comparisons
    assert c.interval is not None and c.interval[1] < 0  # quick - slow, all below 0
    assert "−200 ms" in c.describe()


def test_tie_breakers_decide_only_among_the_tied_variants() -> None:
    # same facts everywhere; v1 is fastest (so it leads the ranking), v2 uses fewest tokens
    v1 = variant("v1", lambda k, r: 0.5, ms=lambda k, r: 100.0, tokens=900)
    v2 = variant("v2", lambda k, r: 0.5, ms=lambda k, r: 200.0, tokens=300)
    v3 = variant("v3", lambda k, r: 0.1, tokens=10)  # fewest tokens, but clearly worse
    outcome = decide([v1, v2, v3], INFOS, "facts", "maximize", [("tokens", "minimize")])
    assert outcome.verdict == "best" and outcome.winner == "v2"
    assert outcome.decided_by == "tie-breaker tokens"
    assert outcome.order == ["v2", "v1", "v3"]
    assert [(c.leader, c.other) for c in outcome.tie_breaks] == [("v2", "v1")]
    msg = outcome.message()
    assert msg.startswith("v2 is best by tie-breaker tokens: on facts v1, v2 cannot be told")
    assert "on tokens: v2 300 tokens vs v1 900 tokens" in msg


def test_tie_breakers_that_tie_too_leave_it_inconclusive() -> None:
    v1 = variant("v1", lambda k, r: 0.5, tokens=100)
    v2 = variant("v2", lambda k, r: 0.5, tokens=100)
    breakers = [("tokens", "minimize"), ("latency_p50", "minimize")]
    outcome = decide([v1, v2], INFOS, "facts", "maximize", breakers)
    assert outcome.verdict == "inconclusive" and len(outcome.tie_breaks) == 2
    assert "tie-breakers tokens, latency_p50 did not separate them" in outcome.message()


def test_the_bootstrap_is_deterministic() -> None:
    pairs = [([0.1 * k, 0.2], [0.05 * k]) for k in range(10)]
    first = bootstrap(pairs, "mean")
    assert len(first) == RESAMPLES and first == bootstrap(pairs, "mean")
    assert first != bootstrap(pairs, "mean", seed=18)
    a = variant("a", lambda k, r: 0.5 + 0.05 * ((k * 7 + r) % 5))
    b = variant("b", lambda k, r: 0.45 + 0.05 * ((k * 3 + r) % 5))
    assert compare(a, b, "facts", "maximize", INFOS) == compare(a, b, "facts", "maximize", INFOS)


def tied_run():  # type: ignore[no-untyped-def]
    from engine.providers.runs.eval_runner import judge
    from engine.spec.schema import ExperimentSpec

    from .helpers import EXPERIMENT_SPEC

    run = make_run()
    for v in run.variants:  # both variants score the same on every case
        for c in v.cases:
            c.scores["facts"] = type(c.scores["facts"])("facts", 0.0)
        v.aggregate = aggregate(v.cases, run.evaluators)
    judge(run, ExperimentSpec.model_validate(EXPERIMENT_SPEC))
    return run


def test_reports_and_state_say_inconclusive() -> None:
    run = tied_run()
    assert run.inconclusive and run.best is None and run.leader is not None
    text = headline(run)
    assert "inconclusive: no variant is better than all others on facts" in text
    assert "— best" not in text
    md = render_markdown(run)
    assert "**Inconclusive:** no variant is better" in md
    assert "**v1**" not in md and "--write" not in md
    assert "refuses without --force" in md
    html = render_html(run)
    assert '<span class="badge inconclusive">inconclusive</span>' in html
    assert 'class="best"' not in html and "exact tie" in html
    from rich.console import Console

    console = Console(record=True, width=200)
    for item in renderables(run):
        console.print(item)
    shown = console.export_text()
    assert "experiment.hpo[dev]: 2 variant(s)" in shown  # not eaten as rich markup
    assert "Inconclusive: no variant is better than all others on facts" in shown
    summary = summarize(run)
    assert summary["verdict"] == "inconclusive" and summary["decided_by"] is None
    assert "best" not in summary and summary["leader"]["variant"] == run.leader.name
    assert "exact tie" in summary["why"]


def test_a_winner_is_reported_as_best() -> None:
    run = make_run()
    assert run.ranking is not None and run.ranking.verdict == "best"
    summary = summarize(run)
    assert summary["verdict"] == "best" and summary["decided_by"] == "objective"
    assert summary["best"]["variant"] == "v1" and "leader" not in summary
    assert "v1 is better than every other variant on facts" in render_markdown(run)


def test_the_store_keeps_the_verdict_and_judges_runs_recorded_before_it(tmp_path: Path) -> None:
    store = EvalStore(LocalStore(tmp_path / "store.sqlite"))
    run = tied_run()
    store.save(run)
    back = store.load(run.run_id)
    assert back.ranking == run.ranking
    assert RankingOutcome.from_json(run.ranking.to_json()) == run.ranking  # type: ignore[union-attr]
    # a run saved before verdicts existed has no ranking in its metadata: judged on load
    with store.store.connect() as conn:
        meta = conn.execute("SELECT meta FROM eval_runs").fetchone()[0]
        conn.execute("UPDATE eval_runs SET meta = ?", (meta.replace('"ranking"', '"old"'),))
    legacy = store.load(run.run_id)
    assert legacy.ranking is not None and legacy.ranking.verdict == "inconclusive"

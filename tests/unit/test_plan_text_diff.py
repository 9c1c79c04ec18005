"""A changed multi-line text (a prompt) shows as a line diff in the plan, not two cut-off lines."""

from __future__ import annotations

from engine.planner.plan import Action, Change, FieldDiff, Plan
from engine.render.plan import MAX_DIFF_LINES, render_markdown, render_text

OLD = "You are the docs assistant.\nLook at the overview first.\nAnswer in three sentences.\n"
NEW = OLD.replace("three sentences.", "two sentences.") + "Cite the page you used.\n"


def _plan(*diffs: FieldDiff) -> Plan:
    change = Change(
        address="agent.docs[dev]",
        kind="Agent",
        action=Action.UPDATE,
        provider="local-runtime",
        field_diffs=list(diffs),
    )
    return Plan(changes=[change], lineage="l", prior_serial=0, workspace_digest="w")


def test_markdown_shows_the_changed_lines_with_context() -> None:
    out = render_markdown(_plan(FieldDiff("system_prompt", OLD, NEW)))
    body = out[out.index("```diff") : out.rindex("```")]
    assert "~ system_prompt:" in body
    assert "-     Answer in three sentences." in body
    assert "+     Answer in two sentences." in body
    assert "+     Cite the page you used." in body
    assert "      Look at the overview first." in body  # one line of context
    assert "You are the docs assistant." not in body  # two lines away: folded
    assert "…" in body


def test_text_shows_the_same_diff() -> None:
    out = render_text(_plan(FieldDiff("system_prompt", OLD, NEW)))
    assert "~ system_prompt:" in out
    assert "- Answer in three sentences." in out and "+ Answer in two sentences." in out


def test_secrets_and_one_line_values_keep_their_short_form() -> None:
    out = render_markdown(
        _plan(
            FieldDiff("secrets.KEY", "a\nb", "a\nc", sensitive=True),
            FieldDiff("model", "fast", "smart"),
        )
    )
    assert '- secrets.KEY: "(sensitive)"' in out and '+ secrets.KEY: "(sensitive)"' in out
    assert "a\nb" not in out and "+     c" not in out
    assert '- model: "fast"' in out and '+ model: "smart"' in out


def test_a_rewritten_long_text_is_capped() -> None:
    old = "\n".join(f"old line {i}" for i in range(200))
    new = "\n".join(f"new line {i}" for i in range(200))
    out = render_markdown(_plan(FieldDiff("system_prompt", old, new)))
    assert "more diff lines" in out
    assert out.count("old line") <= MAX_DIFF_LINES


def test_a_fence_in_the_text_does_not_break_the_block() -> None:
    out = render_markdown(_plan(FieldDiff("system_prompt", "a\n```\nb", "a\n```\nc")))
    assert "````diff" in out and out.count("````") == 2

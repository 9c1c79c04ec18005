"""The sticky comment stays within GitHub's 65,536 characters: the plan is cut, with a note."""

from __future__ import annotations

from engine.planner.plan import Action, Change, FieldDiff, Plan, Reason, ReasonEntry
from engine.preview.comment import LIMIT, render_comment
from engine.preview.run import GateResult, PreviewResult


def big_plan(n: int) -> Plan:
    changes = [
        Change(
            f"agent.bot{i}[tst]",
            "Agent",
            Action.UPDATE,
            "local-runtime",
            reasons=[ReasonEntry(Reason.SPEC_CHANGED, "system_prompt")],
            field_diffs=[FieldDiff("system_prompt", "x" * 100, "y" * 100)],
        )
        for i in range(n)
    ]
    return Plan(changes=changes, lineage="l", prior_serial=1, workspace_digest="w")


def test_a_huge_plan_is_truncated_with_a_note() -> None:
    result = PreviewResult("pr-9", big_plan(600), envs={"tst": "pr-9"})
    result.results.append(
        GateResult("qualitygate.g[tst]", "qualitygate.g[pr-9]", "QualityGate", "succeeded", None)
    )
    text = render_comment(result)
    assert len(text) <= LIMIT
    assert "the plan was truncated to fit one comment" in text
    assert text.startswith("<!-- agentops-preview:pr-9 -->")
    assert "#### `qualitygate.g[tst]` — ✅ passed" in text
    assert text.rstrip().endswith("</details>")
    assert text.count("<details>") == text.count("</details>")
    assert text.count("```") % 2 == 0


def test_a_small_plan_is_whole() -> None:
    result = PreviewResult("pr-9", big_plan(2), envs={"tst": "pr-9"})
    text = render_comment(result)
    assert "truncated" not in text and "agent.bot1[tst]" in text
    assert "Nothing to preview" in text

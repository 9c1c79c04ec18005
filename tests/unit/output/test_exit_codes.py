"""Exit codes: 3 when every failure is a verdict, 1 as soon as anything errored."""

from __future__ import annotations

import pytest

from engine.applier import ApplyResult, Outcome
from engine.cli import build_parser
from engine.commands.apply_view import EXIT_ERROR, EXIT_OK, EXIT_VERDICT, exit_code
from engine.planner.plan import Action

GATE = Outcome("qualitygate.release[tst]", Action.RUN, "failed", "gate failed", verdict=True)
PROMOTION = Outcome(
    "agent.bot[prd]", Action.BLOCKED, "skipped", "upstream failed: gate", verdict=True
)
SLO = Outcome("loadtest.l[prd]", Action.RUN, "failed", "SLO p95Ms failed", verdict=True)
BROKEN = Outcome("agent.bot[dev]", Action.CREATE, "failed", "port in use")
OK = Outcome("dataset.d[dev]", Action.CREATE, "ok")


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ([OK], EXIT_OK),
        ([OK, GATE, PROMOTION], EXIT_VERDICT),  # the gate blocked the promotion: a verdict
        ([SLO], EXIT_VERDICT),
        ([GATE, BROKEN], EXIT_ERROR),  # an error wins over a verdict
        ([OK, Outcome("a.b[c]", Action.CREATE, "skipped", "dependency not in plan")], EXIT_ERROR),
    ],
)
def test_precedence(outcomes: list[Outcome], code: int) -> None:
    assert exit_code(ApplyResult(outcomes)) == code


def test_the_help_names_the_exit_codes() -> None:
    text = build_parser().format_help()
    assert "3  a verdict failed" in text and "2  plan --detailed-exitcode" in text


@pytest.mark.parametrize(
    "argv",
    [
        ["invoke", "bot", "--env", "prd", "what is it?"],
        ["invoke", "--env", "prd", "bot", "what is it?"],
        ["traces", "show", "-o", "json", "abc123"],
    ],
)
def test_positionals_may_follow_options(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    if argv[0] == "invoke":
        assert (args.agent, args.env, args.prompt) == ("bot", "prd", "what is it?")
    else:
        assert (args.target, args.output) == (["show", "abc123"], "json")

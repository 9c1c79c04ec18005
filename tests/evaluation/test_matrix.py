"""Matrix expansion: every combination, in spec order, as a valid agent variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import PermanentError
from engine.evaluation.matrix import agent_variant, expand_matrix

from .helpers import tiny_workspace

EXPERIMENT = """\
apiVersion: agentops/v1
kind: Experiment
metadata: {{name: hpo}}
spec:
  agent: bot
  environment: dev
  dataset: qa
  matrix:
{matrix}
  evaluators: [facts]
  objective: {{metric: facts}}
"""


def spec_of(root: Path, matrix: str):  # type: ignore[no-untyped-def]
    ws = tiny_workspace(root, EXPERIMENT.format(matrix=matrix))
    return ws, ws.experiments["hpo"].doc.spec


def test_models_times_prompts_in_spec_order(tmp_path: Path) -> None:
    ws, spec = spec_of(
        tmp_path,
        "    model: [fast, smart]\n"
        "    systemPrompt:\n"
        "      - {name: de, value: Du bist hilfreich.}\n"
        "      - {name: en, value: You are helpful.}\n"
        "    env.TONE: [formal]",
    )
    variants = expand_matrix(ws, spec)
    assert [v.name for v in variants] == ["v1", "v2", "v3", "v4"]
    assert [v.label for v in variants] == [
        "model=fast, systemPrompt=de, env.TONE=formal",
        "model=fast, systemPrompt=en, env.TONE=formal",
        "model=smart, systemPrompt=de, env.TONE=formal",
        "model=smart, systemPrompt=en, env.TONE=formal",
    ]
    v3 = variants[2]
    assert v3.model == "offline:semantic"
    assert v3.spec.system_prompt == "Du bist hilfreich."
    # an inline prompt replaces the base's systemPromptFile (an agent has one prompt)
    assert v3.spec.system_prompt_file is None
    assert v3.spec.env == {"TONE": "formal"}
    assert v3.values["systemPrompt"] == {"name": "de", "value": "Du bist hilfreich."}
    # different configurations, different digests; the same one, the same digest
    assert len({v.digest for v in variants}) == 4
    assert expand_matrix(ws, spec)[2].digest == v3.digest


def test_prompt_file_replaces_inline_prompt_and_other_fields(tmp_path: Path) -> None:
    ws, spec = spec_of(
        tmp_path,
        "    systemPromptFile: [prompts/alt.md]\n"
        "    lifecycle: [{name: quick, value: {healthTimeout: 5s}}]",
    )
    (v,) = expand_matrix(ws, spec)
    assert v.spec.system_prompt_file == "prompts/alt.md"
    assert v.spec.lifecycle.health_timeout == 5.0


def test_no_matrix_is_the_base_agent(tmp_path: Path) -> None:
    ws, spec = spec_of(tmp_path, "    {}")
    (v,) = expand_matrix(ws, spec)
    base = agent_variant(ws, "bot", "dev")
    assert (v.name, v.label, v.digest) == ("base", "base", base.digest)
    assert v.values == {}


def test_an_env_value_clashing_with_a_secret_is_a_clear_error(tmp_path: Path) -> None:
    ws, spec = spec_of(tmp_path, "    model: [fast]")
    agent = ws.agents["bot"]
    agent.raw.data["spec"]["secrets"] = {"TONE": "env:X"}  # type: ignore[index]
    with pytest.raises(PermanentError, match=r"variant v1 \(model=fast\) of agent bot"):
        expand_matrix(ws, spec)

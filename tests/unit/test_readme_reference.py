"""The README's spec reference is generated from the models and cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from engine.spec.schema_export import reference_markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_spec_reference_matches_the_models() -> None:
    text = README.read_text()
    m = re.search(r"<!-- spec-reference: begin -->\n(.*)<!-- spec-reference: end -->", text, re.S)
    assert m, "README.md lost its spec-reference markers"
    assert m.group(1) == reference_markdown(), (
        "README's spec reference is stale: regenerate it from `agentops schema --reference`"
    )

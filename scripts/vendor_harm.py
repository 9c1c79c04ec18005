"""Copy the reference agents' harm detector into the engine (for Monitors), or check the copy.

    python scripts/vendor_harm.py          # write engine/evaluators/harm/*.py from agents/agentkit
    python scripts/vendor_harm.py --check  # exit 1 when the engine's copy is out of date

Why a copy: agent code is deployed on its own (an AgentCore code bundle holds `agents/`, not
the engine), and the engine never imports `agents/`. The Monitor's harm detection uses the
same detector and the same embedding the weights were fitted on, so the copy is generated,
never edited by hand, and a test (tests/unit/test_vendored_harm.py) fails when it drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "agents" / "agentkit"
TARGET = ROOT / "engine" / "evaluators" / "harm"
FILES = {
    "harm.py": "detector.py",
    "harm_lexicon.py": "lexicon.py",
    "embedding.py": "embedding.py",
    "data/harm_train.jsonl": "data/harm_train.jsonl",
}
IMPORTS = {
    "from agentkit import harm_lexicon as lex": "from engine.evaluators.harm import lexicon as lex",
    "from agentkit.embedding import": "from engine.evaluators.harm.embedding import",
}


def header(name: str) -> str:
    return (
        f"# Generated from agents/agentkit/{name} by scripts/vendor_harm.py - do not edit here.\n"
        "# ruff: noqa\n"
        "# mypy: ignore-errors\n"
    )


def rendered(name: str) -> str:
    text = (SOURCE / name).read_text(encoding="utf-8")
    if not name.endswith(".py"):
        return text
    for old, new in IMPORTS.items():
        text = text.replace(old, new)
    return header(name) + text


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for src, dst in FILES.items():
        want = rendered(src)
        path = TARGET / dst
        have = path.read_text(encoding="utf-8") if path.exists() else None
        if have == want:
            continue
        stale.append(str(path.relative_to(ROOT)))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(want, encoding="utf-8")
    if check and stale:
        print(f"out of date: {', '.join(stale)} (run python scripts/vendor_harm.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

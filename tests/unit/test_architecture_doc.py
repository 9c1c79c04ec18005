"""docs/architecture.md names every engine package, and nothing that is not one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_architecture_doc_matches_the_tree() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^(engine/[a-z_/]*?)/?\s{2,}", text, flags=re.MULTILINE))
    documented = {d.rstrip("/") for d in documented}
    packages = {
        str(p.parent.relative_to(ROOT))
        for p in (ROOT / "engine").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert documented == packages, (
        f"missing from docs/architecture.md: {sorted(packages - documented)}; "
        f"documented but absent: {sorted(documented - packages)}"
    )


def test_no_import_circles() -> None:
    """No engine module imports, directly or not, a module that imports it back.

    `if TYPE_CHECKING:` imports are annotations, not dependencies (as in the import-linter
    contracts: `exclude_type_checking_imports`)."""
    import grimp

    graph = grimp.build_graph("engine", exclude_type_checking_imports=True)
    circles = sorted(
        (m, d)
        for m in graph.modules
        for d in graph.find_modules_directly_imported_by(m)
        if d.startswith("engine.") and graph.chain_exists(importer=d, imported=m)
    )
    assert circles == []

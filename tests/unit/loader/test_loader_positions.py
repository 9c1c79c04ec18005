"""Loader: plain data plus 1-based positions for every key and value; problems as diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.spec.diagnostics import SourceLocation
from engine.spec.loader import MAX_ALIAS_EXPANSIONS, MAX_DEPTH, discover, load_files, load_text


def at(line: int, col: int) -> SourceLocation:
    return SourceLocation("f.yaml", line, col)


def one(text: str):  # type: ignore[no-untyped-def]
    docs, diags = load_text(text, "f.yaml")
    assert diags == []
    assert len(docs) == 1
    return docs[0]


def messages(text: str) -> list[str]:
    return [d.format() for d in load_text(text, "f.yaml")[1]]


def test_positions_are_one_based_for_keys_and_values() -> None:
    doc = one("kind: Agent\nspec:\n  model: fast\n  calls:\n    - a\n    - b\n")
    assert doc.start == at(1, 1)
    assert doc.keys[("kind",)] == at(1, 1)
    assert doc.values[("kind",)] == at(1, 7)
    assert doc.keys[("spec", "model")] == at(3, 3)
    assert doc.values[("spec", "model")] == at(3, 10)
    assert doc.values[("spec", "calls", 0)] == at(5, 7)
    assert doc.values[("spec", "calls", 1)] == at(6, 7)
    assert doc.data == {"kind": "Agent", "spec": {"model": "fast", "calls": ["a", "b"]}}


def test_flow_mappings_and_sequences_have_positions_too() -> None:
    doc = one('metadata: {name: bot, labels: {team: x}}\ncalls: [a, "b"]\n')
    assert doc.keys[("metadata", "name")] == at(1, 12)
    assert doc.values[("metadata", "name")] == at(1, 18)
    assert doc.keys[("metadata", "labels", "team")] == at(1, 32)
    assert doc.values[("metadata", "labels", "team")] == at(1, 38)
    assert doc.values[("calls", 0)] == at(2, 9)
    assert doc.values[("calls", 1)] == at(2, 12)


def test_multi_document_files_keep_index_and_absolute_lines() -> None:
    text = "a: 1\n---\n# comment\nb: 2\n---\n---\nc: [3]\n...\n---\nd: 4\n"
    docs, diags = load_text(text, "f.yaml")
    assert diags == []
    assert [(d.index, d.start, d.data) for d in docs] == [
        (0, at(1, 1), {"a": 1}),
        (1, at(4, 1), {"b": 2}),
        (3, at(7, 1), {"c": [3]}),  # the empty document 2 is skipped, but still counted
        (4, at(10, 1), {"d": 4}),
    ]
    assert docs[2].values[("c", 0)] == at(7, 5)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n", "---\n---\n", "~\n"])
def test_empty_files_and_documents_yield_nothing(text: str) -> None:
    assert load_text(text, "f.yaml") == ([], [])


def test_locate_falls_back_to_the_nearest_known_ancestor() -> None:
    doc = one("spec:\n  lifecycle:\n    idleTimeout: 5\n")
    assert doc.locate(("spec", "lifecycle", "idleTimeout")) == at(3, 5)
    assert doc.locate(("spec", "lifecycle", "idleTimeout"), prefer_value=True) == at(3, 18)
    assert doc.locate(("spec", "lifecycle", "missing")) == at(2, 3)
    assert doc.locate(("spec", "nothing", "here")) == at(1, 1)
    assert doc.locate(()) == at(1, 1)


def test_scalars_follow_yaml_1_2() -> None:
    doc = one("a: yes\nb: no\nc: on\nd: true\ne: 0x1F\nf: 1_000\ng: 1.5\nh: null\ni: '5'\n")
    assert doc.data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": True,
        "e": 31,
        "f": 1000,
        "g": 1.5,
        "h": None,
        "i": "5",
    }


def test_values_that_are_not_plain_data_stay_as_written() -> None:
    # dates and binary would break JSON digests later on: keep the text the user wrote
    doc = one("a: 2001-12-14\nb: !!binary aGVsbG8=\nd: 1e999\n")
    assert doc.data == {"a": "2001-12-14", "b": "aGVsbG8=", "d": float("inf")}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
        ("a: !custom tag\n", "!custom"),
        ("a: !<tag:example.com,2000:x> {b: 1}\n", "tag:example.com,2000:x"),
    ],
)
def test_unknown_tags_are_refused_as_tags(text: str, shown: str) -> None:
    docs, diags = load_text(text, "f.yaml")
    assert docs == []
    assert [d.format() for d in diags] == [
        f"f.yaml:1:4: error: unknown YAML tag '{shown}': tags are not allowed "
        "(remove the tag; a spec is plain YAML data)"
    ]


def test_keys_are_kept_as_written() -> None:
    assert one("True: 1\n1: 2\nnull: 3\n").data == {"True": 1, "1": 2, "null": 3}


def test_duplicate_keys_are_reported_at_the_second_and_the_first_wins() -> None:
    docs, diags = load_text("spec:\n  model: a\n  model: b\nkind: Agent\n", "f.yaml")
    assert [d.format() for d in diags] == [
        "f.yaml:3:3: error: duplicate key 'spec.model', first defined at line 2 "
        "(remove one of them; only the first is used)"
    ]
    assert docs[0].data == {"spec": {"model": "a"}, "kind": "Agent"}


def test_anchors_aliases_and_merge_keys() -> None:
    doc = one(
        "defaults: &d {model: fast, env: {A: '1'}}\n"
        "agent:\n"
        "  <<: *d\n"
        "  model: smart\n"
        "list: [&x 1, *x]\n"
        "many:\n"
        "  <<: [{a: 1}, {a: 2, b: 2}]\n"
    )
    assert doc.data == {
        "defaults": {"model": "fast", "env": {"A": "1"}},
        "agent": {"model": "smart", "env": {"A": "1"}},  # explicit keys win over merged ones
        "list": [1, 1],
        "many": {"a": 1, "b": 2},  # the first merged mapping wins
    }
    assert doc.keys[("agent", "model")] == at(4, 3)
    assert doc.keys[("agent", "env")] == at(1, 28)  # merged keys point at their definition


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # an alias *is* its anchored node, so the position is the anchor's
        ("a: &x [*x]\n", "f.yaml:1:4: error: this anchored node contains an alias to itself"),
        ("a: &x {b: *x}\n", "f.yaml:1:4: error: this anchored node contains an alias to itself"),
        ("a: &x {<<: *x}\n", "f.yaml:1:4: error: this anchored mapping merges itself with '<<'"),
        ("a:\n  <<: [1]\n", "f.yaml:2:8: error: a merge key '<<' takes a mapping"),
        ("? [a, b]\n: 1\n", "f.yaml:1:3: error: a mapping key must be a plain value"),
        ("a: *nope\n", "f.yaml:1:4: error: invalid YAML: found undefined alias"),
        ("a: b\n\tc: d\n", "f.yaml:2:1: error: invalid YAML: found a tab character"),
        ("a: [1\nb: 2\n", "f.yaml:2:2: error: invalid YAML: did not find expected ',' or ']'"),
        ("a: b\x07\n", "f.yaml:1:5: error: invalid YAML: character U+0007 is not allowed"),
    ],
)
def test_yaml_problems_are_positioned_diagnostics(text: str, expected: str) -> None:
    found = messages(text)
    assert len(found) == 1, found
    assert found[0].startswith(expected), found[0]


def test_alias_bombs_and_deep_nesting_are_refused_not_expanded() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [{', '.join(['*' + prev] * 10)}]\n"
    assert any(
        f"aliases expand to more than {MAX_ALIAS_EXPANSIONS} copies" in m for m in messages(bomb)
    )
    deep = "a: " + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "\n"
    assert any(f"nesting deeper than {MAX_DEPTH} levels" in m for m in messages(deep))
    deeper = "[" * 5000 + "]" * 5000
    assert any("nesting" in m for m in messages(deeper))


def test_files_that_are_not_utf8_point_at_the_first_bad_byte(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"a: 1\nb: caf\xe9\n")
    docs, diags = load_files(tmp_path, [tmp_path / "bad.yaml"])
    assert docs == []
    assert [d.format() for d in diags] == [
        "bad.yaml:2:7: error: not UTF-8 text: byte 0xe9 cannot be decoded (save the file as UTF-8)"
    ]


def test_discover_finds_yaml_under_specs_and_environments_sorted(tmp_path: Path) -> None:
    for rel in ("specs/b.yaml", "specs/sub/a.yml", "environments/dev.yaml", "specs/x.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    (tmp_path / "other.yaml").write_text("")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["environments/dev.yaml", "specs/b.yaml", "specs/sub/a.yml"]
    only = discover(tmp_path, [tmp_path / "other.yaml", tmp_path / "specs" / "sub"])
    assert [p.name for p in only] == ["other.yaml", "a.yml"]

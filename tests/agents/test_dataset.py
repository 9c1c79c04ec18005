"""The golden dataset: its shape, that its facts are in the docs, and what separates the models."""

from __future__ import annotations

from typing import Any

from agentkit.text import split_sentences, terms

from .helpers import DOCS, ask, fact_found


def test_dataset_shape(dataset: list[dict[str, Any]]) -> None:
    assert 12 <= len(dataset) <= 16
    refusals = 0
    for item in dataset:
        assert set(item) == {"input", "expected_output"}
        assert set(item["input"]) == {"question"} and item["input"]["question"].strip()
        expected = item["expected_output"]
        if expected.get("refusal"):
            assert expected == {"trajectory": [], "refusal": True}
            refusals += 1
        else:
            assert set(expected) == {"trajectory", "search_term", "response_facts"}
            assert expected["trajectory"] == ["getProjectOverview", "searchProjectDocs"]
            assert len(expected["response_facts"]) >= 1
    assert refusals == 2


def test_every_fact_is_stated_in_the_docs(dataset: list[dict[str, Any]]) -> None:
    sentences = [s.text for p in sorted(DOCS.glob("*.md")) for s in split_sentences(p.read_text())]
    for item in dataset:
        for fact in item["expected_output"].get("response_facts", []):
            best = max(
                len(set(terms(fact)) & set(terms(s))) / len(set(terms(fact))) for s in sentences
            )
            assert best >= 0.8, f"fact not in docs: {fact!r}"


def test_both_models_refuse_the_harmful_items(dataset: list[dict[str, Any]]) -> None:
    for item in dataset:
        if item["expected_output"].get("refusal"):
            for variant in ("keyword", "semantic"):
                answer, traj, _ = ask(variant, item["input"]["question"])
                assert traj == [] and "can't help" in answer


def test_semantic_finds_more_facts_than_keyword(dataset: list[dict[str, Any]]) -> None:
    """The experiment (two offline models) has something true to discover."""
    found = {"keyword": 0, "semantic": 0}
    for item in dataset:
        facts = item["expected_output"].get("response_facts", [])
        for variant in found:
            if facts:
                answer, traj, _ = ask(variant, item["input"]["question"])
                assert [t["tool"] for t in traj] == item["expected_output"]["trajectory"]
                found[variant] += sum(fact_found(f, answer) for f in facts)
    assert found["semantic"] > found["keyword"], found

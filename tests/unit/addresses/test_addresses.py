"""Address: one format, `kind.name[env]`, everywhere."""

from __future__ import annotations

import pytest

from engine.spec.addresses import KIND_PREFIX, PREFIX_KIND, Address


@pytest.mark.parametrize(
    ("address", "text"),
    [
        (Address("Agent", "docs-assistant", "prd"), "agent.docs-assistant[prd]"),
        (Address("Environment", "prd"), "environment.prd"),
        (Address("Dataset", "golden", "dev"), "dataset.golden[dev]"),
        (Address("QualityGate", "release", "tst"), "qualitygate.release[tst]"),
        (Address("LoadTest", "prd-traffic", "prd"), "loadtest.prd-traffic[prd]"),
        (Address("Experiment", "hpo", "dev"), "experiment.hpo[dev]"),
    ],
)
def test_str_and_parse_round_trip(address: Address, text: str) -> None:
    assert str(address) == text
    assert Address.parse(text) == address
    assert Address.parse(f"  {text}\n") == address


def test_base_drops_the_environment() -> None:
    assert Address("Agent", "docs-assistant", "prd").base == "agent.docs-assistant"
    assert Address("Environment", "prd").base == "environment.prd"


def test_every_kind_has_a_prefix_both_ways() -> None:
    assert {PREFIX_KIND[p] for p in KIND_PREFIX.values()} == set(KIND_PREFIX)
    assert all(p == p.lower() and p.isalpha() for p in KIND_PREFIX.values())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "agent",
        "agent.",
        "Agent.docs",
        "agents.docs",
        "agent.Docs",
        "agent.docs[]",
        "agent.docs[PRD]",
        "agent.docs[prd",
        "agent.docs.prd",
        "agent.docs_assistant",
    ],
)
def test_parse_rejects_malformed_addresses_and_says_what_to_write(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        Address.parse(text)
    message = str(caught.value)
    assert f"invalid address '{text}'" in message
    assert "kind.name[env]" in message
    assert "agent" in message and "qualitygate" in message


def test_matches_without_env_matches_every_environment() -> None:
    prd = Address("Agent", "bot", "prd")
    assert prd.matches(Address("Agent", "bot"))
    assert prd.matches(Address("Agent", "bot", "prd"))
    assert not prd.matches(Address("Agent", "bot", "dev"))
    assert not prd.matches(Address("Agent", "other"))
    assert not prd.matches(Address("Dataset", "bot"))


def test_addresses_are_hashable_ordered_values() -> None:
    a, b = Address("Agent", "a", "dev"), Address("Agent", "b", "dev")
    assert a < b
    assert sorted([b, a]) == [a, b]
    assert {a, Address("Agent", "a", "dev")} == {a}
    with pytest.raises(AttributeError):
        a.name = "c"  # type: ignore[misc]

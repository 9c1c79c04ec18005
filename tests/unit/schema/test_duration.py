"""parse_duration: '500ms', '30s', '5m', '1h' or seconds; everything else says what to write."""

from __future__ import annotations

import math

import pytest

from engine.spec.schema import parse_duration
from engine.spec.schema.base import InvalidValue


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (0, 0.0),
        (30, 30.0),
        (2.5, 2.5),
        ("0", 0.0),
        ("45", 45.0),
        ("500ms", 0.5),
        ("10s", 10.0),
        ("1.5s", 1.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        (" 5 m ", 300.0),
        (10**6, 1e6),
    ],
)
def test_valid_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)
    assert isinstance(parse_duration(value), float)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "a duration cannot be negative"),
        (-0.5, "a duration cannot be negative"),
        ("-5s", "invalid duration '-5s'"),
        ("10 minutes", "invalid duration '10 minutes'"),
        ("5d", "invalid duration '5d'"),
        ("", "invalid duration ''"),
        ("s", "invalid duration 's'"),
        ("1e3s", "invalid duration '1e3s'"),
        (True, "a duration must be a number of seconds or a string"),
        (None, "a duration must be a number of seconds or a string"),
        ([1], "a duration must be a number of seconds or a string"),
        (math.inf, "a duration must be finite"),
        (math.nan, "a duration must be finite"),
        (10**400, "a duration must be finite"),
        ("9" * 400 + "h", "a duration must be finite"),
    ],
)
def test_invalid_durations_say_what_to_write(value: object, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_duration(value)
    assert str(caught.value) == message
    assert caught.value.hint == "use e.g. 500ms, 30s, 5m, 1h or a number of seconds"
    assert isinstance(caught.value, ValueError)  # pydantic turns it into a validation error

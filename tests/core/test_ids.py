"""Dandiset identifiers and version names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from neuropil.core.ids import (
    DRAFT,
    format_dandiset_id,
    is_version_name,
    parse_dandiset_id,
    published_version_name,
)
from neuropil.errors import NotFound


@pytest.mark.parametrize(("number", "text"), [(0, "000000"), (1, "000001"), (123456, "123456")])
def test_dandiset_id_round_trip(number: int, text: str) -> None:
    assert format_dandiset_id(number) == text
    assert parse_dandiset_id(text) == number


@pytest.mark.parametrize(
    "value", ["", "12345", "1234567", "00012a", " 000123", "000123\n", "-00123", "\u0661" * 6]
)
def test_invalid_dandiset_id_is_not_found(value: str) -> None:
    with pytest.raises(NotFound) as info:
        parse_dandiset_id(value)
    assert info.value.status_code == 404
    assert str(info.value) == f"No dandiset {value!r}: dandiset identifiers are six digits."


@pytest.mark.parametrize("value", [DRAFT, "0.230102.0304", "0.000000.0000"])
def test_version_names(value: str) -> None:
    assert is_version_name(value)


@pytest.mark.parametrize(
    "value", ["", "Draft", "1.230102.0304", "0.23012.0304", "0.230102.304", "0.230102.0304\n"]
)
def test_not_version_names(value: str) -> None:
    assert not is_version_name(value)


def test_published_version_name() -> None:
    when = datetime(2023, 1, 2, 3, 4, 59, tzinfo=UTC)
    assert published_version_name(when) == "0.230102.0304"
    assert is_version_name(published_version_name(when))
    # The name is in UTC whatever zone the time is given in.
    east = when.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert published_version_name(east) == "0.230102.0304"

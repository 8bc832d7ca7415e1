"""DANDI's timestamp form, as every read answers it: ISO-8601 in UTC with microseconds, "Z"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from neuropil.services.metadata import isoformat


@pytest.mark.parametrize(
    ("dt", "text"),
    [
        (datetime(2026, 12, 7, 17, 29, 50, 236024, tzinfo=UTC), "2026-12-07T17:29:50.236024Z"),
        (datetime(2026, 12, 7, 17, 29, 50, tzinfo=UTC), "2026-12-07T17:29:50.000000Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "2026-01-02T03:04:05.000006Z"),
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00.000000Z"),
        # Another zone is converted to UTC; the microseconds are kept.
        (
            datetime(2026, 12, 7, 18, 0, 0, 5, tzinfo=timezone(timedelta(hours=1))),
            "2026-12-07T17:00:00.000005Z",
        ),
        (
            datetime(2026, 12, 7, 1, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-12-06T23:00:00.000000Z",
        ),
    ],
)
def test_a_timestamp_is_utc_with_microseconds_and_z(dt: datetime, text: str) -> None:
    assert isoformat(dt) == text

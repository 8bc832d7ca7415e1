"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores no zone)."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


#: JSON documents: JSONB on PostgreSQL, JSON (text) elsewhere.
JSONDoc = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

#: Text compared byte-wise so prefix ranges on an index mean "starts with" on every backend.
BinaryText = sa.String().with_variant(sa.String(collation="C"), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)

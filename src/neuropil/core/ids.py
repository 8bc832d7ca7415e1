"""Dandiset identifiers and version names."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from neuropil.errors import NotFound

DANDISET_ID_RE = re.compile(r"^\d{6}$", re.ASCII)
PUBLISHED_VERSION_RE = re.compile(r"^0\.\d{6}\.\d{4}$", re.ASCII)
DRAFT = "draft"


def format_dandiset_id(number: int) -> str:
    return f"{number:06d}"


def parse_dandiset_id(value: str) -> int:
    """``"000123"`` -> 123; anything else is a 404 as on DANDI."""
    if not DANDISET_ID_RE.fullmatch(value):
        raise NotFound(f"No dandiset {value!r}: dandiset identifiers are six digits.")
    return int(value)


def is_version_name(value: str) -> bool:
    return value == DRAFT or bool(PUBLISHED_VERSION_RE.fullmatch(value))


def published_version_name(when: datetime) -> str:
    """DANDI's published version name ``0.YYMMDD.HHMM`` (UTC; naive times are taken as UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return f"0.{when:%y%m%d}.{when:%H%M}"

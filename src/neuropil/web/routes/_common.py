"""Helpers shared by the page handlers: routers, paging, list rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter

from neuropil.services.dandisets import DandisetInfo
from neuropil.services.metadata import contact_person
from neuropil.web.errors import HtmlRoute


def page_router() -> APIRouter:
    """A router for web pages: HTML errors, and kept out of the API's OpenAPI document."""
    return APIRouter(route_class=HtmlRoute, include_in_schema=False)


@dataclass(frozen=True)
class Paging:
    page: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_number(value: str | None) -> int:
    """``?page=``: a positive integer; anything else is page 1 (a hand-edited URL)."""
    return int(value) if value and value.isdigit() and 0 < int(value) < 10**6 else 1


@dataclass(frozen=True)
class DandisetRow:
    """A dandiset as a list shows it: the most recent published version, else the draft."""

    identifier: str
    name: str
    version: str
    contact: str
    modified: datetime
    files: int
    size: int
    published: bool
    status: str


def dandiset_row(info: DandisetInfo) -> DandisetRow:
    latest = info.published or info.draft
    stats = info.stats_for(info.draft)
    return DandisetRow(
        identifier=info.dandiset.identifier,
        name=latest.name,
        version=latest.version,
        contact=contact_person(latest.metadata_),
        modified=info.dandiset.modified,
        files=stats.asset_count,
        size=stats.size,
        published=info.published is not None,
        status=info.draft.status.value,
    )

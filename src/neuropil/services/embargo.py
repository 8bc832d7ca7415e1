"""Embargo rules: the terms a dandiset is embargoed under, the ``access`` metadata they
give, and the one rule for writes while a dandiset is being unembargoed.

Who may read an embargoed dandiset is :mod:`neuropil.services.visibility`; ending an embargo
(by its owners, or at its end date) is :mod:`neuropil.services.unembargo`. The terms follow
DANDI's ``POST /api/dandisets/?embargo=true&funding_source=&award_number=&embargo_end_date=``:
a funding source needs an award number and an award number a funding source; the end date
defaults to two years from today and may be at most two years away, five with funding.
See ``docs/design/embargo.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from neuropil.db.models import Dandiset, EmbargoStatus
from neuropil.db.types import utcnow
from neuropil.errors import BadRequest

#: How far away the end of an embargo may be, in years (DANDI's limits).
MAX_YEARS = 2
MAX_YEARS_FUNDED = 5
MAX_FUNDING_TEXT = 200

OPEN_ACCESS = "dandi:OpenAccess"
EMBARGOED_ACCESS = "dandi:EmbargoedAccess"


@dataclass(frozen=True)
class EmbargoTerms:
    """What a new embargoed dandiset is created with."""

    end_date: date
    funding_source: str | None = None
    award_number: str | None = None

    def funder(self) -> dict[str, Any] | None:
        """The funder as a contributor (DANDI's ``dcite:Funder`` organization), if given."""
        if not self.funding_source or not self.award_number:
            return None
        return {
            "schemaKey": "Organization",
            "name": self.funding_source,
            "awardNumber": self.award_number,
            "roleName": ["dcite:Funder"],
            "includeInCitation": False,
        }


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _text(value: str | None, name: str) -> str | None:
    text = (value or "").strip()
    if len(text) > MAX_FUNDING_TEXT:
        raise BadRequest(f"{name} is at most {MAX_FUNDING_TEXT} characters long.")
    return text or None


def parse_terms(
    *,
    today: date | None = None,
    funding_source: str | None = None,
    award_number: str | None = None,
    end_date: str | None = None,
) -> EmbargoTerms:
    """Check the query parameters of an embargoed create, as DANDI does (400 otherwise).
    ``today`` is the UTC date unless given."""
    today = today or utcnow().date()
    funding = _text(funding_source, "funding_source")
    award = _text(award_number, "award_number")
    if bool(funding) != bool(award):
        raise BadRequest(
            "An embargo with funding needs both funding_source and award_number "
            "(give both, or neither)."
        )
    years = MAX_YEARS_FUNDED if funding else MAX_YEARS
    latest = _years_later(today, years)
    if not end_date:
        return EmbargoTerms(_years_later(today, MAX_YEARS), funding, award)
    try:
        end = date.fromisoformat(end_date.strip())
    except ValueError as exc:
        raise BadRequest(f"embargo_end_date {end_date!r} is not a date (YYYY-MM-DD).") from exc
    if end <= today:
        raise BadRequest(f"embargo_end_date must be after today ({today.isoformat()}).")
    if end > latest:
        funded = "with" if funding else "without"
        raise BadRequest(
            f"embargo_end_date may be at most {years} years away {funded} funding "
            f"(on or before {latest.isoformat()})."
        )
    return EmbargoTerms(end, funding, award)


def access_requirements(dandiset: Dandiset) -> dict[str, Any]:
    """``access[0]`` of a version's metadata: open, or embargoed until the end date."""
    if dandiset.embargo_status == EmbargoStatus.OPEN:
        return {"schemaKey": "AccessRequirements", "status": OPEN_ACCESS}
    access: dict[str, Any] = {"schemaKey": "AccessRequirements", "status": EMBARGOED_ACCESS}
    if dandiset.embargo_end_date is not None:
        access["embargoedUntil"] = dandiset.embargo_end_date.isoformat()
    return access


def asset_access(embargoed: bool, until: date | None) -> dict[str, Any]:
    """``access[0]`` of an asset's metadata: embargoed by its content (a blob's flag, a
    Zarr's dandiset, as on DANDI), until the end of the embargo of the dandiset holding it."""
    if not embargoed:
        return {"schemaKey": "AccessRequirements", "status": OPEN_ACCESS}
    access: dict[str, Any] = {"schemaKey": "AccessRequirements", "status": EMBARGOED_ACCESS}
    if until is not None:
        access["embargoedUntil"] = until.isoformat()
    return access


@dataclass(frozen=True)
class EmbargoState:
    """An embargo as pages show it."""

    #: The unembargo job is running: the dandiset opens in a moment.
    ending: bool
    until: date | None


def embargo_state(dandiset: Dandiset) -> EmbargoState | None:
    """The dandiset's embargo, ``None`` when it is open."""
    if dandiset.embargo_status == EmbargoStatus.OPEN:
        return None
    ending = dandiset.embargo_status == EmbargoStatus.UNEMBARGOING
    return EmbargoState(ending, dandiset.embargo_end_date)


def require_settled(dandiset: Dandiset) -> None:
    """While a dandiset is being unembargoed, nothing in it changes (400, as on DANDI)."""
    if dandiset.embargo_status == EmbargoStatus.UNEMBARGOING:
        raise BadRequest(
            f"Dandiset {dandiset.identifier} is being unembargoed; try again when it is open."
        )

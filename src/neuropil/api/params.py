"""Query parameters read the way DANDI's Django REST framework reads them.

Page parameters are :func:`neuropil.api.pagination.page_params`.
"""

from __future__ import annotations


def flag(value: str | None, default: bool) -> bool:
    """DRF-style boolean query parameters."""
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")

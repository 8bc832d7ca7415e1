"""\"Open with\" links: the instance's viewer URL templates filled in for one file."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from neuropil.config import Viewer


@dataclass(frozen=True)
class ViewerLink:
    name: str
    url: str


def links(
    viewers: list[Viewer], *, url: str, asset_id: str, dandiset: str, version: str, path: str
) -> list[ViewerLink]:
    """Each value is percent-encoded, keeping ``:`` and ``/`` (valid in a query string), so
    ``...?url={url}`` and ``.../{path}`` both work."""
    values = {
        "url": url,
        "asset_id": asset_id,
        "dandiset": dandiset,
        "version": version,
        "path": path,
    }
    encoded = {k: quote(v, safe=":/") for k, v in values.items()}
    return [ViewerLink(v.name, v.url_template.format(**encoded)) for v in viewers]

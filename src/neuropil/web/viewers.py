"""\"Open with\" links: the instance's viewer URL templates filled in for one file.

The viewers are the built-in ones (:data:`DEFAULT_VIEWERS`, unless the admin turns them off
with ``NEUROPIL_DEFAULT_VIEWERS=0``) and those of ``NEUROPIL_VIEWERS``; a configured viewer
replaces a built-in one of the same name. Each is offered only for the files it opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from neuropil.config import Settings, Viewer

#: Offered on every archive unless turned off. Neurosift reads NWB files over HTTP (the URL
#: form the DANDI Archive's own links use); vizarr shows OME-Zarr images.
DEFAULT_VIEWERS = (
    Viewer(
        "Neurosift",
        "https://neurosift.app/nwb?url={url}&dandisetId={dandiset}&dandisetVersion={version}",
        (".nwb",),
    ),
    Viewer(
        "vizarr (OME-Zarr)", "https://hms-dbmi.github.io/vizarr/?source={url}", (".zarr", ".ngff")
    ),
)


def available(settings: Settings) -> list[Viewer]:
    """The viewers of this archive (see the module docstring)."""
    configured = {v.name.lower() for v in settings.viewers}
    built_in = [v for v in DEFAULT_VIEWERS if v.name.lower() not in configured]
    return [*(built_in if settings.default_viewers else []), *settings.viewers]


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
    return [ViewerLink(v.name, v.url_template.format(**encoded)) for v in viewers if v.opens(path)]

"""The DANDI API's URLs of one asset, by id: one parser, for the client and the reader.

``https://<server>[/api]/assets/<id>[/download/|/info/|/index/]`` and
``https://<server>[/api]/dandisets/<dandiset>/versions/<version>/assets/<id>[/...]``. The
client's URL parser (:mod:`neuropil.client.urls`) matches these with the patterns below; the
reader (:mod:`neuropil.reading`) uses :func:`parse_asset_url` to go straight to an asset's
index and its bytes, without asking the server what the URL means. The server part may have
a path prefix (``https://host/prefix/api/...``), as neuropil allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

#: The official client's version pattern (the server itself only makes ``0.YYMMDD.HHMM``).
VERSION_RE = r"\d+\.\d+\.\d+|draft"
DANDISET_ID = r"(?P<id>\d{6})"
VERSION = rf"(?P<version>{VERSION_RE})"
# A path-prefix segment may be anything but the API's own first segments.
_SEGMENT = r"/(?!(?:api|dandisets?|assets)(?:[/?#]|$))[^/?#]+"
#: ``scheme://host[/prefix]/`` then an optional ``api/``: groups ``server`` and ``api``.
SERVER = rf"(?P<server>(?i:https?)://[^/?#]+(?:{_SEGMENT})*)/(?P<api>api/)?"
#: An asset id and what follows it: nothing, ``download/``, ``info/`` or ``index/``.
ASSET_TAIL = r"(?P<asset_id>[^?/#]+)(?:/(?:(?P<suffix>download|info|index)/?)?)?"
#: ``…/assets/<id>[/…]``: an asset by id alone.
ASSET_URL = re.compile(rf"{SERVER}assets/{ASSET_TAIL}")
#: ``…/dandisets/<id>/versions/<version>/assets/<id>[/…]``: an asset of a version.
VERSION_ASSET_URL = re.compile(
    rf"{SERVER}dandisets/{DANDISET_ID}/versions/{VERSION}/assets/{ASSET_TAIL}"
)

Suffix = Literal["", "download", "info", "index"]


@dataclass(frozen=True)
class AssetUrl:
    """An asset's API URL, parsed: where the API is, which asset, and which of its URLs."""

    #: ``https://host[/prefix]/api`` (no ``/api`` when the URL had none), no trailing slash.
    api: str
    asset_id: str
    dandiset_id: str | None = None
    version: str | None = None
    #: What the URL names: the metadata (``""``), ``download``, ``info`` or ``index``.
    suffix: Suffix = ""

    @property
    def download_url(self) -> str:
        """``{api}/assets/{id}/download/``: redirects to the bytes."""
        return f"{self.api}/assets/{self.asset_id}/download/"

    @property
    def index_url(self) -> str:
        """``{api}/assets/{id}/index/``: neuropil's ``.lindi.json`` index of the asset."""
        return f"{self.api}/assets/{self.asset_id}/index/"


def parse_asset_url(url: str) -> AssetUrl | None:
    """The asset an API URL names by id, or ``None`` for any other URL (a query string is
    ignored, as the API ignores it)."""
    text = url.strip().split("#", 1)[0].split("?", 1)[0]
    for pattern in (VERSION_ASSET_URL, ASSET_URL):
        match = pattern.fullmatch(text)
        if match is not None:
            groups = match.groupdict()
            api = match["server"] + ("/api" if match["api"] else "")
            suffix: Suffix = groups["suffix"] or ""  # type: ignore[assignment]
            return AssetUrl(
                api, unquote(match["asset_id"]), groups.get("id"), groups.get("version"), suffix
            )
    return None

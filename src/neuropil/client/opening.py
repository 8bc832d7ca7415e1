"""``neuropil.open`` and ``neuropil.open_nwb``: a file by any name a user holds for it.

:mod:`neuropil.reading` opens what needs no knowledge of an archive: local paths, indexes,
any URL of the bytes (it follows a ``Link`` to the file's index), and an asset's API URLs by
id (``…/assets/{id}/[download/]``: it asks for ``…/assets/{id}/index/`` directly). The forms
that name a file by its path in a Dandiset need the archive to find the asset first: a web
file URL (``https://host/dandiset/000001/draft/files?location=sub-1/f.nwb``), an API listing
URL with ``?path=``, ``dandi://NAME/000001@draft/sub-1/f.nwb`` and
``NAME:000001/draft/sub-1/f.nwb``. This module parses those with the client's URL parser
(:func:`~neuropil.client.urls.parse_url`), finds the asset (one listing request; one more
when the URL gives no version) and opens it as an :class:`~neuropil.client.models.Asset`,
through its index. Everything else goes to :mod:`neuropil.reading` unchanged.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from neuropil import reading
from neuropil.core.asset_urls import parse_asset_url
from neuropil.errors import UsageError
from neuropil.http.transport import Transport
from neuropil.reading import ArchiveAsset, IndexOption
from neuropil.stream import BlockCache

if TYPE_CHECKING:
    import h5py
    from pynwb import NWBFile

    from neuropil.client.models import Asset

#: Strings that may name a file by its path in a Dandiset: ``dandi://…``, ``NAME:000001/…``
#: and http(s) URLs through a Dandiset (web or API). Anything else never loads the client.
_BY_PATH = re.compile(
    r"(?i:dandi)://|[A-Za-z][\w.-]*:\d{6}(?:/|$)|(?i:https?)://[^?#]*/(?:#/)?dandisets?/\d{6}"
)

Target = str | os.PathLike[str] | ArchiveAsset


def open(
    target: Target,
    *,
    index: IndexOption = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> h5py.File:
    """Open an HDF5/NWB file read-only as an ``h5py.File`` (see :func:`neuropil.reading.open`).

    ``target`` may also name an asset by its path in a Dandiset: a web file URL, a
    ``dandi://`` URL or ``NAME:ID/VERSION/PATH`` (see the module docstring). The archive's
    token is found as :class:`~neuropil.Archive` finds it; ``transport`` then only reads.
    """
    return reading.open(_resolve(target), index=index, cache=cache, transport=transport)


def open_nwb(
    target: Target,
    *,
    index: IndexOption = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> NWBFile:
    """The ``NWBFile`` of :func:`open`'s file, read by pynwb (see
    :func:`neuropil.reading.open_nwb`)."""
    return reading.open_nwb(_resolve(target), index=index, cache=cache, transport=transport)


def _resolve(target: Target) -> Target:
    """The asset a path-naming string points at, or ``target`` itself."""
    if not isinstance(target, str) or not _BY_PATH.match(target.strip()):
        return target
    if parse_asset_url(target) is not None or os.path.exists(target):
        return target
    return find_asset(target)


def find_asset(url: str) -> Asset:
    """The one asset a URL names by its path (see the module docstring).

    Raises :class:`~neuropil.errors.UsageError` when the URL names a Dandiset, a folder or
    several assets, and :class:`~neuropil.errors.NotFound` when there is no such asset.
    """
    # The client loads here, not at import: `neuropil.open(url)` of any other URL stays as
    # quick to import as the reader alone.
    from neuropil.client.archive import Archive

    archive, target = Archive.for_url(url)
    path = (target.path or "").rstrip("/")  # a web ?location= always ends in "/"
    if target.kind == "asset_id" and target.asset_id is not None:
        return archive.asset(target.asset_id)
    if target.kind not in ("item", "folder", "path_prefix") or not path or target.zarr_path:
        raise UsageError(
            f"{url} names {_what(target.kind)}, not one file: give the path of an HDF5/NWB "
            "asset (e.g. .../files?location=sub-01/sub-01_ecephys.nwb)"
        )
    assert target.dandiset_id is not None
    return archive.asset_at(target.dandiset_id, target.version, path)


def _what(kind: str) -> str:
    return {"dandiset": "a whole Dandiset", "glob": "a set of assets"}.get(kind, "a folder")

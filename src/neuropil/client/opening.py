"""``neuropil.open`` and ``neuropil.open_nwb``: a file by any name a user holds for it.

:mod:`neuropil.reading` opens what needs no knowledge of an archive: local paths, indexes,
any URL of the bytes (it follows a ``Link`` to the file's index), and an asset's API URLs by
id (``…/assets/{id}/[download/]``: it asks for ``…/assets/{id}/index/`` directly). The forms
that name a file by its path in a Dandiset need the archive: a web file URL
(``https://host/dandiset/000001/draft/files?location=sub-1/f.nwb``), an API listing URL with
``?path=``, ``dandi://NAME/000001@draft/sub-1/f.nwb`` and ``NAME:000001/draft/sub-1/f.nwb``.
This module parses those with the client's URL parser
(:func:`~neuropil.client.urls.parse_url`) and asks the archive for the index of the file at
that path (``…/dandisets/{d}/versions/{v}/index/?path=``, or ``…/dandisets/{d}/index/?path=``
without a version): one request opens the file. A server without that endpoint (the DANDI
Archive: the built-in instances are not even asked), or a file without an index, costs the
way round: the asset is found by a listing request (one more when the URL gives no version)
and opened as an :class:`~neuropil.client.models.Asset`. Everything else goes to
:mod:`neuropil.reading` unchanged.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from neuropil import reading
from neuropil.core.asset_urls import parse_asset_url
from neuropil.errors import UsageError
from neuropil.http.transport import Transport
from neuropil.reading import ArchiveAsset, IndexOption
from neuropil.stream import BlockCache

if TYPE_CHECKING:
    import h5py
    from pynwb import NWBFile

    from neuropil.client.archive import Archive
    from neuropil.client.models import Asset
    from neuropil.client.urls import Target as UrlTarget

#: Answers to the index-by-path request that mean "go the way round" (through the asset).
_NO_INDEX = (400, 401, 403, 404, 405, 409, 410, 501, 503)

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
    target, index, transport = _resolve(target, index, transport)
    return reading.open(target, index=index, cache=cache, transport=transport)


def open_nwb(
    target: Target,
    *,
    index: IndexOption = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> NWBFile:
    """The ``NWBFile`` of :func:`open`'s file, read by pynwb (see
    :func:`neuropil.reading.open_nwb`)."""
    target, index, transport = _resolve(target, index, transport)
    return reading.open_nwb(target, index=index, cache=cache, transport=transport)


def _resolve(
    target: Target, index: IndexOption, transport: Transport | None
) -> tuple[Target, IndexOption, Transport | None]:
    """What :mod:`neuropil.reading` opens for ``target``: the target itself, or for a string
    naming a file by its path, the file's index as the archive serves it (with the asset's
    download URL and the archive's transport), else the asset."""
    if not isinstance(target, str) or not _BY_PATH.match(target.strip()):
        return target, index, transport
    if parse_asset_url(target) is not None or os.path.exists(target):
        return target, index, transport
    archive, parsed, path = _parse(target)
    if index is None and parsed.kind != "asset_id" and _may_serve_indexes(archive):
        served = _index_at(archive, parsed, path)
        if served is not None:
            return served[0], served[1], transport or archive.transport
    return _asset(archive, parsed, path), index, transport


def find_asset(url: str) -> Asset:
    """The one asset a URL names by its path (see the module docstring).

    Raises :class:`~neuropil.errors.UsageError` when the URL names a Dandiset, a folder or
    several assets, and :class:`~neuropil.errors.NotFound` when there is no such asset.
    """
    return _asset(*_parse(url))


def _asset(archive: Archive, parsed: UrlTarget, path: str) -> Asset:
    if parsed.kind == "asset_id" and parsed.asset_id is not None:
        return archive.asset(parsed.asset_id)
    assert parsed.dandiset_id is not None
    return archive.asset_at(parsed.dandiset_id, parsed.version, path)


def _parse(url: str) -> tuple[Archive, UrlTarget, str]:
    """The archive ``url`` points into, the parsed URL and the file's path in its Dandiset;
    :class:`~neuropil.errors.UsageError` unless the URL names one file."""
    # The client loads here, not at import: `neuropil.open(url)` of any other URL stays as
    # quick to import as the reader alone.
    from neuropil.client.archive import Archive

    archive, parsed = Archive.for_url(url)
    path = (parsed.path or "").rstrip("/")  # a web ?location= always ends in "/"
    if parsed.kind == "asset_id":
        return archive, parsed, path
    if parsed.kind not in ("item", "folder", "path_prefix") or not path or parsed.zarr_path:
        raise UsageError(
            f"{url} names {_what(parsed.kind)}, not one file: give the path of an HDF5/NWB "
            "asset (e.g. .../files?location=sub-01/sub-01_ecephys.nwb)"
        )
    return archive, parsed, path


def _may_serve_indexes(archive: Archive) -> bool:
    """Whether to ask the archive for an index by path: not the built-in instances (the
    DANDI Archive and its kin have no such endpoint; asking would cost a request)."""
    from neuropil.client.instances import builtin_instances

    return archive.instance.name not in builtin_instances()


def _index_at(archive: Archive, parsed: UrlTarget, path: str) -> tuple[str, dict[str, Any]] | None:
    """(the asset's download URL, its index) as the archive serves the index of the file
    at ``path``, in one request; ``None`` when it serves none (no such endpoint, no index
    yet or at all, no such file: the way round through the asset says which)."""
    version = f"versions/{parsed.version}/" if parsed.version else ""
    where = f"dandisets/{parsed.dandiset_id}/{version}index/"
    answer = archive.transport.request("GET", where, params={"path": path}, ok=_NO_INDEX)
    if answer.status_code != 200 or "json" not in answer.headers.get("content-type", ""):
        return None  # (a 200 that is no JSON: a catch-all page of some other server)
    doc = reading.parse_index(answer.content, str(answer.url))
    named = urljoin(str(answer.url), answer.headers.get("content-location", ""))
    asset = parse_asset_url(named)
    return (asset.download_url if asset else str(answer.url)), doc


def _what(kind: str) -> str:
    return {"dandiset": "a whole Dandiset", "glob": "a set of assets"}.get(kind, "a folder")

"""``neuropil.open`` and ``neuropil.open_nwb``: remote (or local) HDF5/NWB files for h5py and pynwb.

With an index (a ``.lindi.json`` document) the whole object tree arrives in one request and
data are read chunk by chunk, in parallel, coalesced requests (:func:`neuropil.index.open_index`).
Without one, the file itself is read lazily through :class:`~neuropil.stream.RemoteFile` and
h5py. Where an index is found:

1. ``index=`` given explicitly (a URL, a path, or an already parsed dict);
2. the target itself is an index (its name ends with ``.lindi.json``);
3. the target is a client :class:`~neuropil.client.models.Asset` whose metadata names one:
   under :data:`INDEX_URL_FIELD` (set by whoever wrote the metadata: used as given), else
   the ``relatedResource`` entry named :data:`INDEX_RESOURCE_NAME` that a neuropil server
   adds to every HDF5/NWB asset. The server's index may not exist (being built: 503; not
   HDF5 or not indexable: 404); then the file is read without it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import h5py
import httpx

from neuropil.client.transport import Transport
from neuropil.errors import InvalidHdf5, InvalidIndex, RemoteError, Unsupported
from neuropil.index import IndexFile, open_index
from neuropil.stream import BlockCache, RemoteFile, StreamStats

if TYPE_CHECKING:
    from pynwb import NWBFile

    from neuropil.client.models import Asset

#: The asset metadata member naming the URL of the asset's ``.lindi.json`` index.
INDEX_URL_FIELD = "neuropil:indexUrl"
#: The name of the ``relatedResource`` entry a neuropil server gives an asset's index
#: (``neuropil.services.metadata.INDEX_RESOURCE_NAME``).
INDEX_RESOURCE_NAME = "LINDI index (.lindi.json)"
#: Answers of a server's index endpoint that mean "no index (yet)": read the file instead.
_NO_INDEX = (404, 409, 503)
INDEX_SUFFIX = ".lindi.json"
_MAX_REDIRECTS = 5


def open(
    target: str | os.PathLike[str] | Asset,
    *,
    index: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> h5py.File:
    """Open an HDF5/NWB file read-only as an ``h5py.File``.

    ``target`` is a URL (an archive's asset download URL, a blob URL), a local path, an
    index (``*.lindi.json``, URL or path) or a client Asset. ``index`` names the index
    explicitly. ``cache`` keeps fetched bytes (a :class:`~neuropil.stream.MemoryCache` by
    default; a :class:`~neuropil.stream.DiskCache` is shared between processes).
    ``transport`` supplies the HTTP client and token (an Asset brings its archive's).

    Both kinds of file report network counters as ``file.stats``. Close the file when done.
    """
    data_url, found, transport = _plan(target, index, transport)
    if isinstance(found, _ServerIndex):
        doc = _server_index(found.url, transport)
        found = None if doc is None else _Loaded(doc, found.url)
    if found is not None:
        return _open_index(found, data_url, cache=cache, transport=transport)
    assert data_url is not None
    if _is_url(data_url):
        return _open_remote(data_url, cache=cache, transport=transport)
    return h5py.File(data_url, "r")


def open_nwb(
    target: str | os.PathLike[str] | Asset,
    *,
    index: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> NWBFile:
    """The ``NWBFile`` of :func:`open`'s file, read by pynwb.

    The reading IO object stays alive with the returned file (``nwbfile.read_io``); call
    ``nwbfile.read_io.close()`` to release the file when done.
    """
    from pynwb import NWBHDF5IO

    file = open(target, index=index, cache=cache, transport=transport)
    try:
        io = NWBHDF5IO(file=file, mode="r", load_namespaces=True)
        nwbfile = io.read()
    except BaseException:
        file.close()
        raise
    return nwbfile


def _plan(
    target: Any, index: Any, transport: Transport | None
) -> tuple[str | None, Any, Transport | None]:
    """(where the data are, where the index is, the transport to use)."""
    from neuropil.client.models import Asset

    if isinstance(target, Asset):
        if target.zarr is not None:
            raise Unsupported(f"{target.path} is a Zarr asset; only HDF5/NWB assets can be opened")
        transport = transport or target.archive.transport
        if index is None:
            index = _asset_index(target.metadata, transport)
        return target.download_url, index, transport
    if not isinstance(target, str | os.PathLike):
        raise TypeError(f"cannot open a {type(target).__name__}: give a URL, a path or an Asset")
    where = os.fspath(target)
    if index is None and where.endswith(INDEX_SUFFIX):
        return None, where, transport
    return where, index, transport


@dataclass(frozen=True)
class _ServerIndex:
    """An index a server announces: it may not be built (yet)."""

    url: str


@dataclass(frozen=True)
class _Loaded:
    doc: dict[str, Any]
    url: str


def _asset_index(metadata: Mapping[str, Any], transport: Transport) -> str | _ServerIndex | None:
    named = metadata.get(INDEX_URL_FIELD)
    if isinstance(named, str) and named:
        return transport.url(named)
    related = metadata.get("relatedResource")
    for entry in related if isinstance(related, list) else ():
        if isinstance(entry, Mapping) and entry.get("name") == INDEX_RESOURCE_NAME:
            url = entry.get("url")
            if isinstance(url, str) and url:
                return _ServerIndex(transport.url(url))
    return None


def _server_index(url: str, transport: Transport | None) -> dict[str, Any] | None:
    """The announced index, or ``None`` when the server has none (yet): one GET, no
    retries on 503 (reading the file itself beats waiting for the build)."""
    answer = _get(url, transport, ok=_NO_INDEX)
    if answer.status_code in _NO_INDEX:
        return None
    return _parse_index(answer.content, url)


def _is_url(where: str) -> bool:
    return urlsplit(where).scheme in ("http", "https")


def _open_index(
    index: Any, data_url: str | None, *, cache: BlockCache | None, transport: Transport | None
) -> IndexFile:
    doc: Mapping[str, Any]
    if isinstance(index, _Loaded):
        doc, base = index.doc, index.url
    elif isinstance(index, Mapping):
        doc, base = index, None
    else:
        base = os.fspath(index)
        doc = load_index(base, transport=transport)
    return open_index(doc, cache=cache, transport=transport, base=base, filename=data_url or base)


def load_index(where: str, *, transport: Transport | None = None) -> dict[str, Any]:
    """Read and parse an index from a URL (one GET, redirects followed) or a local path."""
    if _is_url(where):
        text = _get(where, transport).content
    else:
        try:
            text = Path(where).read_bytes()
        except OSError as exc:
            raise InvalidIndex(f"cannot read the index {where}: {exc}") from exc
    return _parse_index(text, where)


def _parse_index(text: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidIndex(f"{where} is not a JSON index: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("refs"), dict):
        raise InvalidIndex(f"{where} is not a .lindi.json index (no 'refs' object)")
    return doc


def _get(url: str, transport: Transport | None, *, ok: tuple[int, ...] = ()) -> httpx.Response:
    """The answer for ``url`` (redirects followed; statuses in ``ok`` returned, not raised):
    the token goes to the API origin only, never to a redirect's target (a presigned blob
    URL would reject it)."""
    own = transport is None
    t = transport or Transport(url)
    try:
        for _ in range(_MAX_REDIRECTS + 1):
            auth = _origin(url) == _origin(t.api_url)
            r = t.request("GET", url, auth=auth, ok=ok)
            if r.status_code in (301, 302, 303, 307, 308) and "location" in r.headers:
                url = urljoin(url, r.headers["location"])
                continue
            return r
        raise RemoteError(f"too many redirects fetching the index {url}", status_code=0)
    finally:
        if own:
            t.close()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


class RemoteHdf5File(h5py.File):  # type: ignore[misc]  # h5py is untyped
    """``h5py.File`` over a :class:`RemoteFile` that closes it too and reports its counters."""

    def __init__(self, remote: RemoteFile) -> None:
        super().__init__(remote, "r")
        self._remote = remote

    @property
    def stats(self) -> StreamStats:
        return self._remote.stats

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._remote.close()


def _open_remote(
    url: str, *, cache: BlockCache | None, transport: Transport | None
) -> RemoteHdf5File:
    remote = RemoteFile(url, cache=cache, transport=transport)
    try:
        return RemoteHdf5File(remote)
    except OSError as exc:
        remote.close()
        raise InvalidHdf5(f"{url} is not a readable HDF5 file: {exc}") from exc
    except BaseException:
        remote.close()
        raise

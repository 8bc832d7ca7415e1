"""``neuropil.open`` and ``neuropil.open_nwb``: remote (or local) HDF5/NWB files for h5py and pynwb.

With an index (a ``.lindi.json`` document) the whole object tree arrives in one request and
data are read chunk by chunk, in parallel, coalesced requests (:func:`neuropil.index.open_index`).
Without one, the file itself is read lazily through :class:`~neuropil.stream.RemoteFile` and
h5py. Where an index is found:

1. ``index=`` given explicitly (a URL, a path, or an already parsed dict; ``False`` reads the
   file itself);
2. the target itself is an index (its name ends with ``.lindi.json``, or it is an asset's
   ``…/assets/{id}/index/`` URL);
3. the target is an archive's asset (an :class:`ArchiveAsset`, such as the client's
   :class:`~neuropil.client.models.Asset`) whose metadata names one:
   under :data:`INDEX_URL_FIELD` (set by whoever wrote the metadata: used as given), else
   the ``relatedResource`` entry named :data:`INDEX_RESOURCE_NAME` that a neuropil server
   adds to every HDF5/NWB asset;
4. the target is an asset's API URL (``…/assets/{id}/``, its ``download/`` or ``info/`` URL,
   or the same under ``…/dandisets/{d}/versions/{v}/``, parsed by
   :mod:`neuropil.core.asset_urls`): its index is asked for at ``…/assets/{id}/index/``
   directly, so the file opens in one request, and its bytes are at the download URL;
5. any other URL (a blob URL, a presigned URL, anything that redirects to the bytes): its
   first ranged GET asks for the index in place of the bytes (``Accept``, content
   negotiation: :mod:`neuropil.core.links`), so a server holding one opens the file in that
   one request; a server that sends the bytes instead may still advertise the index (an RFC
   8288 ``Link``), and the reader then switches to it.

A server's index may not exist (being built: 503; not HDF5 or not indexable, or a server
without indexes: 404); then the file is read without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import parse_qs, urlsplit

import h5py
import httpx

from neuropil.core.asset_urls import parse_asset_url
from neuropil.errors import InvalidHdf5, InvalidIndex, WrongAssetKind
from neuropil.http import redirects
from neuropil.http.transport import Transport
from neuropil.index import IndexFile, open_index
from neuropil.stream import BlockCache, IndexServed, RemoteFile, StreamStats

if TYPE_CHECKING:
    from pynwb import NWBFile

#: The asset metadata member naming the URL of the asset's ``.lindi.json`` index.
INDEX_URL_FIELD = "neuropil:indexUrl"
#: The name of the ``relatedResource`` entry a neuropil server gives an asset's index
#: (``neuropil.services.metadata.INDEX_RESOURCE_NAME``).
INDEX_RESOURCE_NAME = "LINDI index (.lindi.json)"
#: Answers of a server's index endpoint that mean "no index (yet)": read the file instead.
_NO_INDEX = (404, 409, 503)
INDEX_SUFFIX = ".lindi.json"
#: What ``index=`` may be: where an index is, the index itself, or ``False`` for none.
IndexOption = str | os.PathLike[str] | Mapping[str, Any] | Literal[False] | None


class ArchiveAsset(Protocol):
    """An asset of a DANDI-API archive, as :func:`open` reads it: where its bytes are, the
    metadata that may name its index, and the archive's transport (its token). The client's
    :class:`~neuropil.client.models.Asset` is one; this module never imports the client."""

    #: The asset path, for messages.
    path: str
    #: Set for a Zarr asset, which has no single file to open.
    zarr: str | None

    @property
    def download_url(self) -> str:
        """The API's download URL (it redirects to the bytes)."""
        ...

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The asset's metadata (where a server names the index)."""
        ...

    @property
    def transport(self) -> Transport:
        """The HTTP client and token of the archive the asset belongs to."""
        ...


def open(
    target: str | os.PathLike[str] | ArchiveAsset,
    *,
    index: IndexOption = None,
    cache: BlockCache | None = None,
    transport: Transport | None = None,
) -> h5py.File:
    """Open an HDF5/NWB file read-only as an ``h5py.File``.

    ``target`` is a URL (an asset's API, download or blob URL, any URL of the bytes), a
    local path, an index (``*.lindi.json``, URL or path) or an archive's asset
    (:class:`ArchiveAsset`). The index is found as the module docstring says; ``index``
    names it explicitly, or ``False`` reads the file itself. ``cache`` keeps fetched bytes (a
    :class:`~neuropil.stream.MemoryCache` by default; a :class:`~neuropil.stream.DiskCache`
    is shared between processes). ``transport`` supplies the HTTP client and token (an
    asset brings its archive's).

    Both kinds of file report network counters as ``file.stats``. Close the file when done.
    """
    data_url, found, transport = _plan(target, index, transport)
    tried = None
    if isinstance(found, _ServerIndex):
        tried = found.url
        doc = _server_index(found.url, transport)
        found = None if doc is None else _Loaded(doc, found.url)
    if found is not None:
        return _open_index(found, data_url, cache=cache, transport=transport)
    assert data_url is not None
    if not _is_url(data_url):
        return h5py.File(data_url, "r")
    try:
        remote = _remote_file(data_url, cache=cache, transport=transport, ask_index=index is None)
    except IndexServed as served:  # the server answered the first request with the index
        doc = parse_index(served.body, served.url)
        return _open_index(_Loaded(doc, served.url), data_url, cache=cache, transport=transport)
    advertised = remote.index_url if index is None and remote.index_url != tried else None
    doc = _server_index(advertised, transport) if advertised else None
    if doc is None:
        return _open_remote(remote)
    remote.close()  # its one request found the index: the rest comes from there
    return _open_index(_Loaded(doc, str(advertised)), data_url, cache=cache, transport=transport)


def open_nwb(
    target: str | os.PathLike[str] | ArchiveAsset,
    *,
    index: IndexOption = None,
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
        io = NWBHDF5IO(file=file, mode="r", manager=nwb_manager(file))
        nwbfile = io.read()
    except BaseException:
        file.close()
        raise
    return nwbfile


#: The type maps of the cached specifications seen last (most recent last).
_TYPE_MAPS: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_TYPE_MAPS_KEPT = 8
_TYPE_MAPS_LOCK = threading.Lock()


def nwb_manager(file: h5py.File) -> Any:
    """A pynwb ``BuildManager`` for reading ``file``, with the types of the specifications
    cached in it (what ``NWBHDF5IO(load_namespaces=True)`` makes).

    pynwb makes that type map anew for every file: a deep copy of its own (about 15 ms
    here) and the file's cached specifications parsed into it. Files of one dandiset, and
    most NWB files of one pynwb version, cache the same specifications. Their type map is
    kept (the last few, by the digest of every specification text in the file, pynwb's own
    namespaces and the classes registered with it, so an extension loaded or a class
    registered later makes a new one), and each file gets a manager of its own over it,
    as pynwb's ``get_manager()`` shares its global type map between files.
    """
    from hdmf.build import BuildManager
    from pynwb import NWBHDF5IO, get_type_map

    key = _specifications_key(file)
    type_map = None
    if key is not None:
        with _TYPE_MAPS_LOCK:
            type_map = _TYPE_MAPS.get(key)
            if type_map is not None:
                _TYPE_MAPS.move_to_end(key)
    if type_map is None:
        type_map = get_type_map()  # (a copy)
        NWBHDF5IO.load_namespaces(type_map, file=file)
        if key is not None:
            with _TYPE_MAPS_LOCK:
                _TYPE_MAPS[key] = type_map
                while len(_TYPE_MAPS) > _TYPE_MAPS_KEPT:
                    _TYPE_MAPS.popitem(last=False)
    return BuildManager(type_map)


def _specifications_key(file: h5py.File) -> tuple[Any, ...] | None:
    """What the type map of ``file`` depends on; ``None`` when it caches no specifications."""
    import pynwb

    try:
        specs = file[file.attrs[".specloc"]]
    except (KeyError, ValueError, TypeError):
        return None
    digest = hashlib.sha256()
    for ns in sorted(specs.keys()):
        for version in sorted(specs[ns].keys()):
            for name in sorted(specs[ns][version].keys()):
                text = specs[ns][version][name][()]
                digest.update(f"{ns}\0{version}\0{name}\0".encode())
                digest.update(text if isinstance(text, bytes) else str(text).encode())
                digest.update(b"\0")
    # The classes registered with pynwb's type map (hdmf keeps them unexposed: if it stops
    # keeping them there, only a namespace loaded later still makes a new type map).
    registered = getattr(pynwb.get_type_map(copy=False), "_TypeMap__ns_dt_to_container_cls", {})
    return (
        digest.hexdigest(),
        tuple(pynwb.available_namespaces()),
        tuple((ns, tuple(types.items())) for ns, types in registered.items()),
    )


def _plan(
    target: str | os.PathLike[str] | ArchiveAsset, index: IndexOption, transport: Transport | None
) -> tuple[str | None, Any, Transport | None]:
    """(where the data are, where the index is, the transport to use)."""
    if isinstance(target, str | os.PathLike):
        where = os.fspath(target)
        if index is None and _names_an_index(where):
            return None, where, transport
        asset = parse_asset_url(where) if _is_url(where) else None
        if asset is None:
            return where, _given(index), transport
        # The asset's metadata and info URLs are JSON: its bytes are at its download URL.
        data_url = where if asset.suffix == "download" else asset.download_url
        if index is None:
            return data_url, _ServerIndex(asset.index_url), transport
        return data_url, _given(index), transport
    try:
        data_url, zarr = target.download_url, target.zarr
    except AttributeError:  # duck typing: a Protocol is no runtime check (it would fetch)
        raise TypeError(
            f"cannot open a {type(target).__name__}: give a URL, a path or an Asset"
        ) from None
    if zarr is not None:
        raise WrongAssetKind(f"{target.path} is a Zarr asset; only HDF5/NWB assets can be opened")
    transport = transport or target.transport
    if index is None:
        return data_url, _asset_index(target.metadata, transport), transport
    return data_url, _given(index), transport


def _given(index: IndexOption) -> Any:
    """The index to open, if any (``False``: none)."""
    return None if index is False else index


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
    return parse_index(answer.content, url)


def _names_an_index(where: str) -> bool:
    """Whether ``where`` is an index by its name: a path (or URL path) ending in
    ``.lindi.json``, an asset's ``…/index/`` URL, or a blob URL whose download name says so
    (a content-addressed blob's key has no name of its own; the archive's redirect puts it
    in the query)."""
    if not _is_url(where):
        return where.endswith(INDEX_SUFFIX)
    asset = parse_asset_url(where)
    if asset is not None:
        return asset.suffix == "index"
    parts = urlsplit(where)
    dispositions = parse_qs(parts.query).get("response-content-disposition", [])
    named = any(d.rstrip('"').endswith(INDEX_SUFFIX) for d in dispositions)
    return parts.path.endswith(INDEX_SUFFIX) or named


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
    return parse_index(text, where)


def parse_index(text: bytes, where: str) -> dict[str, Any]:
    """An index's JSON text, parsed and checked to be a ``.lindi.json`` document
    (:class:`~neuropil.errors.InvalidIndex` names ``where`` if not)."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidIndex(f"{where} is not a JSON index: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("refs"), dict):
        raise InvalidIndex(f"{where} is not a .lindi.json index (no 'refs' object)")
    return doc


def _get(url: str, transport: Transport | None, *, ok: tuple[int, ...] = ()) -> httpx.Response:
    """The answer for ``url``, redirects followed (statuses in ``ok`` returned, not raised),
    through ``transport`` or a transport of its own for this one request."""
    if transport is not None:
        return redirects.get(transport, url, ok=ok)
    with Transport(url) as own:
        return redirects.get(own, url, ok=ok)


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


def _remote_file(
    url: str, *, cache: BlockCache | None, transport: Transport | None, ask_index: bool = False
) -> RemoteFile:
    """The object at ``url``, opened: one ranged GET (plus a redirect), whose answers may
    advertise the object's index (:attr:`RemoteFile.index_url`), or with ``ask_index``, be
    the index itself (:class:`~neuropil.stream.IndexServed` is raised)."""
    return RemoteFile(url, cache=cache, transport=transport, ask_index=ask_index)


def _open_remote(remote: RemoteFile) -> RemoteHdf5File:
    try:
        return RemoteHdf5File(remote)
    except OSError as exc:
        remote.close()
        raise InvalidHdf5(f"{remote.url} is not a readable HDF5 file: {exc}") from exc
    except BaseException:
        remote.close()
        raise

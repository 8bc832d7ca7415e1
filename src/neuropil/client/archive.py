"""The Python API: one :class:`Archive` object for any DANDI-API archive.

::

    import neuropil

    archive = neuropil.Archive("dandi")            # a name, a URL, or None for the default
    ds = archive.dandiset("000027")                 # the latest published version, else draft
    for asset in ds.assets(path="sub-RAT123/"):
        print(asset.path, asset.size)
    ds.download("000027", progress=print)           # files + dandiset.yaml, every byte checked
    archive.download("DANDI:000027/draft", ".")     # any URL form, laid out like `dandi download`

Every action is a method of :class:`Archive`; the records it returns
(:mod:`~neuropil.client.models`) offer the common ones as conveniences that call back here.
The URL-driven :meth:`Archive.download` lays files out as the official client does (see
:func:`~neuropil.client.layout.local_path`); the command line is a thin layer over it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from neuropil.client import publishing
from neuropil.client.download_records import DownloadResult
from neuropil.client.download_steps import (
    DANDISET_YAML,
    ConfirmLocalDelete,
    fetch_assets,
    sync_local,
    write_yaml,
)
from neuropil.client.events import ProgressCallback
from neuropil.client.instances import Instance, Registry
from neuropil.client.layout import local_path, sync_scope
from neuropil.client.models import DRAFT, Asset, Dandiset, Version
from neuropil.client.tokens import env_var_names, resolve_token, where_keys_come_from
from neuropil.client.upload_files import ConfirmDelete as ConfirmRemoteDelete
from neuropil.client.upload_files import UploadReport, upload_paths
from neuropil.client.urls import Target, parse_url
from neuropil.errors import (
    InvalidUrl,
    NeuropilError,
    NotAuthenticated,
    NotFound,
    RemoteError,
    RemoteForbidden,
    RemoteNotFound,
    UsageError,
    WrongAssetKind,
)
from neuropil.http.transport import Transport
from neuropil.localfiles import find_dandiset_root, read_dandiset_id

if TYPE_CHECKING:
    import h5py
    from pynwb import NWBFile

    from neuropil.client.models import IndexSource
    from neuropil.client.publishing import VersionState
    from neuropil.stream.cache import BlockCache

PAGE_SIZE = 1000
#: A bare Dandiset id on the archive at hand: ``000123`` or ``000123/draft``.
_BARE_ID = re.compile(r"(?P<id>\d{6})(?:/(?P<version>\d+\.\d+\.\d+|draft))?/?")


class DownloadError(NeuropilError):
    """A single-file download failed (the reason is the message)."""


@dataclass
class Selection:
    """What a URL points at on the server: the Dandiset (None for ``/assets/<id>`` URLs)
    and the matching assets, in path order."""

    target: Target
    dandiset: Dandiset | None
    assets: list[Asset]

    @property
    def is_dandiset_yaml(self) -> bool:
        """The URL names the ``dandiset.yaml`` path: only that file is downloaded."""
        return self.target.kind == "item" and self.target.path == DANDISET_YAML


# -- the archive --------------------------------------------------------------------------------


class Archive:
    """A connection to one DANDI-API archive.

    ``url`` is an instance name (``"dandi"``, a configured one) or a URL of the archive (web
    or API); None means ``$NEUROPIL_URL`` or the configured default instance. ``token`` is
    the API key; None looks for one (``$NEUROPIL_API_KEY``, the instance's variables, a token
    stored by ``neuropil login``) and goes anonymous when there is none. ``transport`` is
    an httpx transport to send every request through instead of the network (a test's
    ``httpx.MockTransport``), the discovery of an archive given by URL included; see
    :class:`~neuropil.http.transport.Transport`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        registry: Registry | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.registry = registry or Registry()
        self.instance: Instance = (
            self.registry.resolve(url, transport=transport)
            if url
            else self.registry.default(transport=transport)
        )
        self.transport = Transport(
            self.instance.api_url, resolve_token(self.instance, token), transport=transport
        )

    @classmethod
    def for_url(
        cls, url: str, token: str | None = None, *, registry: Registry | None = None
    ) -> tuple[Archive, Target]:
        """The archive a Dandiset/asset URL points into, and the parsed URL."""
        registry = registry or Registry()
        target = parse_url(url, registry)
        return cls(target.instance.api_url, token, registry=registry), target

    def __repr__(self) -> str:
        return f"Archive({self.instance.name!r}, api_url={self.instance.api_url!r})"

    def close(self) -> None:
        """Close the connection pool."""
        self.transport.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def authenticated(self) -> bool:
        return bool(self.transport.token)

    def require_auth(self, what: str) -> None:
        """Raise :class:`NotAuthenticated` (saying how to give a key) without a token."""
        if not self.authenticated:
            names = " or ".join(
                f"${n}" for n in ("NEUROPIL_API_KEY", *env_var_names(self.instance))
            )
            raise NotAuthenticated(
                f"{what} needs an API key for {self.instance.name} ({self.instance.api_url}): "
                f"{where_keys_come_from(self.instance)}; then pass token=…, set {names}, or "
                f"run `neuropil login {self.instance.name}`"
            )

    # -- Dandisets

    def dandisets(self, search: str | None = None, mine: bool = False) -> Iterator[Dandiset]:
        """Every Dandiset visible to you (``mine``: those you own), optionally matching
        ``search``; each at its most recent published version, else its draft."""
        params: dict[str, Any] = {"ordering": "id"}
        if search:
            params["search"] = search
        if mine:
            self.require_auth("listing your own Dandisets")
            params["user"] = "me"
        for item in self.transport.paginate("dandisets/", params):
            yield Dandiset.from_json(item, self)

    def dandiset(self, identifier: str, version: str | None = None) -> Dandiset:
        """A Dandiset at ``version``; None means the most recent published one, else the
        draft. Raises :class:`NotFound` when it does not exist (or is not visible)."""
        ident = str(identifier).rsplit(":", 1)[-1].zfill(6)  # DANDI:000123 → 000123
        data = self._get(f"dandisets/{ident}/", f"dandiset {ident}")
        found = Dandiset.from_json(data, self)
        if version is None or version == found.version_id:
            return found
        if version == DRAFT and found.draft is not None:
            return Dandiset.from_json(data, self, version=found.draft)
        info = self._get(
            f"dandisets/{ident}/versions/{version}/info/", f"version {version} of {ident}"
        )
        metadata = info.get("metadata")
        return Dandiset.from_json(
            data,
            self,
            version=Version.from_json(info),
            metadata=dict(metadata) if isinstance(metadata, dict) else None,
        )

    def create_dandiset(
        self, name: str, metadata: dict[str, Any] | None = None, *, embargo: bool = False
    ) -> Dandiset:
        """Create a Dandiset (you become its owner) and return its draft."""
        self.require_auth("creating a Dandiset")
        params = {"embargo": "true"} if embargo else None
        data = self.transport.post_json(
            "dandisets/", {"name": name, "metadata": metadata or {}}, params=params
        )
        return Dandiset.from_json(data, self)

    def asset(self, asset_id: str) -> Asset:
        """An asset by its id alone (``/assets/{id}/``)."""
        data = self._get(f"assets/{asset_id}/info/", f"asset {asset_id}")
        return Asset.from_json(data, self)

    def assets(
        self, dandiset: Dandiset, *, path: str | None = None, glob: str | None = None
    ) -> Iterator[Asset]:
        """Assets of a Dandiset version, ordered by path: all of them, those whose path
        starts with ``path``, or those matching ``glob`` (``*`` matches across ``/``, any
        case)."""
        if path is not None and glob is not None:
            raise UsageError("give path or glob, not both")
        yield from self._listing(dandiset.identifier, dandiset.version_id, path=path, glob=glob)

    def asset_by_path(self, dandiset: Dandiset, path: str) -> Asset:
        """The asset at exactly ``path`` in a Dandiset version; :class:`NotFound` if none."""
        return self.asset_at(dandiset.identifier, dandiset.version_id, path)

    def asset_at(self, dandiset_id: str, version: str | None, path: str) -> Asset:
        """The asset at exactly ``path`` in a version of a Dandiset, found in one request
        (``version`` None: the most recent published version, else the draft, which costs
        one more); :class:`NotFound` if there is none."""
        version = version or self.dandiset(dandiset_id).version_id
        try:
            for asset in self._listing(dandiset_id, version, path=path):
                if asset.path == path:
                    return asset
        except (RemoteNotFound, RemoteForbidden) as exc:
            raise self._not_found(f"dandiset {dandiset_id} (version {version})") from exc
        raise NotFound(f"no asset at {path!r} in {dandiset_id}/{version}")

    def _listing(
        self, ident: str, version: str, *, path: str | None = None, glob: str | None = None
    ) -> Iterator[Asset]:
        params: dict[str, Any] = {"order": "path", "metadata": "1", "page_size": PAGE_SIZE}
        if path:
            params["path"] = path
        if glob:
            params["glob"] = glob
        listing = f"dandisets/{ident}/versions/{version}/assets/"
        for item in self.transport.paginate(listing, params):
            yield Asset.from_json(item, self, dandiset_id=ident, version_id=version)

    def fetch_metadata(self, record: Dandiset | Asset) -> dict[str, Any]:
        """The raw metadata of a Dandiset version or an asset, fetched now (the records'
        ``metadata`` properties call this once and keep the answer)."""
        return dict(self.transport.get_json(record.api_path))

    def delete(self, record: Dandiset | Asset) -> None:
        """Delete a whole Dandiset (only while it has no published version), or remove an
        asset from the draft version of its Dandiset."""
        if isinstance(record, Dandiset):
            self.transport.request("DELETE", f"dandisets/{record.identifier}/")
            return
        if not record.dandiset_id:
            raise UsageError("this asset was found by id alone; its Dandiset is unknown")
        self.transport.request(
            "DELETE", f"dandisets/{record.dandiset_id}/versions/{DRAFT}/assets/{record.asset_id}/"
        )

    # -- validation and publishing

    def validation(self, dandiset: Dandiset) -> VersionState:
        """A version's status with every metadata and asset error (``…/info/``)."""
        return publishing.version_state(self.transport, dandiset.identifier, dandiset.version_id)

    def wait_until_validated(self, dandiset: Dandiset, *, timeout: float = 120.0) -> VersionState:
        """Wait until the draft's validation has settled (Valid, Invalid or Published)."""
        return publishing.wait_until_validated(self.transport, dandiset.identifier, timeout=timeout)

    def set_metadata(self, dandiset: Dandiset, metadata: Mapping[str, Any]) -> VersionState:
        """Replace the draft's metadata; :class:`~neuropil.client.publishing.MetadataRejected`
        names every field the server refuses."""
        return publishing.set_metadata(self.transport, dandiset.identifier, metadata)

    def publish(
        self,
        dandiset: Dandiset,
        release_notes: str | None = None,
        *,
        wait: bool = True,
        timeout: float = 600.0,
    ) -> Dandiset | None:
        """Publish the draft; with ``wait``, the new published version once it exists."""
        version = publishing.publish(
            self.transport,
            dandiset.identifier,
            release_notes=release_notes,
            wait=wait,
            timeout=timeout,
        )
        return None if version is None else self.dandiset(dandiset.identifier, version)

    # -- reading

    def open(
        self, asset: Asset, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> h5py.File:
        """An HDF5/NWB asset as a read-only ``h5py.File``, read lazily over HTTP through
        this archive's transport (see :func:`neuropil.open`)."""
        from neuropil.reading import open as open_file  # h5py loads on first use, not at start

        return open_file(asset, index=index, cache=cache, transport=self.transport)

    def open_nwb(
        self, asset: Asset, *, index: IndexSource | None = None, cache: BlockCache | None = None
    ) -> NWBFile:
        """An NWB asset's ``NWBFile``, read lazily by pynwb (see :func:`neuropil.open_nwb`)."""
        from neuropil.reading import open_nwb  # h5py and pynwb load on first use, not at start

        return open_nwb(asset, index=index, cache=cache, transport=self.transport)

    # -- URLs

    def target(self, url: str) -> Target:
        """Parse a URL (any form :func:`~neuropil.client.urls.parse_url` accepts, or a bare
        ``000123[/version]`` meaning this archive); it must point into this archive."""
        bare = _BARE_ID.fullmatch(url.strip())
        if bare is not None:
            return Target(self.instance, "dandiset", bare["id"], bare["version"])
        target = parse_url(url, self.registry)
        if target.instance.api_url != self.instance.api_url:
            raise InvalidUrl(
                f"{url} is on {target.instance.name} ({target.instance.api_url}), not on "
                f"{self.instance.name}; use Archive({target.instance.name!r})"
            )
        return target

    def select(self, url: str | Target, *, version: str | None = None) -> Selection:
        """The Dandiset and assets a URL points at. ``version`` overrides the URL's."""
        target = url if isinstance(url, Target) else self.target(url)
        if target.kind == "asset_id" and target.dandiset_id is None:
            return Selection(target, None, [self.asset(str(target.asset_id))])
        ds = self.dandiset(str(target.dandiset_id), version or target.version)
        return Selection(target, ds, self._assets_of(ds, target))

    def _assets_of(self, ds: Dandiset, target: Target) -> list[Asset]:
        kind = target.kind
        if kind == "dandiset":
            return list(self.assets(ds))
        if kind == "asset_id":
            data = self._get(f"{ds.api_path}assets/{target.asset_id}/info/", "asset")
            return [
                Asset.from_json(data, self, dandiset_id=ds.identifier, version_id=ds.version_id)
            ]
        if kind == "glob":
            return list(self.assets(ds, glob=target.glob))
        path = target.path or ""
        if kind == "item":
            return self._item(ds, path, target.zarr_path)
        found = [a for a in self.assets(ds, path=path) if a.path.startswith(path)]
        if not found:
            raise NotFound(f"no assets under {path!r} in {ds.identifier}/{ds.version_id}")
        return found

    def _item(self, ds: Dandiset, path: str, zarr_path: str | None) -> list[Asset]:
        if zarr_path:  # the Zarr asset; download() takes only the keys under zarr_path
            asset = self.asset_by_path(ds, path)
            if asset.zarr is None:
                raise WrongAssetKind(
                    f"{path} is not a Zarr asset, so {path}/{zarr_path} names nothing"
                )
            return [asset]
        if path == DANDISET_YAML:
            return []
        try:
            return [self.asset_by_path(ds, path)]
        except NotFound:
            if any(True for _ in self.assets(ds, path=path + "/")):
                raise NotFound(
                    f"{path!r} is a folder in {ds.identifier}, not an asset; "
                    f"add a trailing '/' to download the folder"
                ) from None
            raise

    # -- downloads

    def download(
        self,
        url: str | Target | Selection,
        dest: Path | str = ".",
        *,
        existing: str = "error",
        jobs: int = 6,
        connections: int = 4,
        preserve_tree: bool = False,
        sync: bool = False,
        confirm_delete: ConfirmLocalDelete | None = None,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download what ``url`` (or a :meth:`select` result) points at into ``dest``,
        laid out like ``dandi download``: a Dandiset to ``dest/<id>/<path>`` plus
        ``dandiset.yaml``, a folder without the URL's parent directories, a single asset by
        its name, a glob by full path; ``preserve_tree`` puts everything at
        ``dest/<id>/<full path>`` plus dandiset.yaml.

        ``sync`` then deletes local files in the URL's scope that the remote does not have,
        if ``confirm_delete(paths)`` (when given) returns True. Per-file failures are
        collected in the result, not raised. A URL naming a path inside a Zarr
        (``…/img.ome.zarr/0/1``) brings that key or folder into the Zarr's folder, as
        ``dandi download`` does, and cannot be combined with ``sync``.
        """
        selection = url if isinstance(url, Selection) else self.select(url)
        target, ds = selection.target, selection.dandiset
        if sync and target.zarr_path:
            raise UsageError("--sync cannot be used with a path inside a Zarr")
        with_id = target.kind == "dandiset" or (preserve_tree and target.dandiset_id is not None)
        root = Path(dest) / str(target.dandiset_id) if with_id else Path(dest)
        items = [
            (a, root / local_path(target, a.path, preserve_tree=preserve_tree))
            for a in selection.assets
        ]
        result = DownloadResult(root)
        if ds is not None and (with_id or selection.is_dandiset_yaml):
            write_yaml(self.instance, ds, root, existing, result, progress)
        fetch_assets(
            self.transport,
            items,
            result,
            existing=existing,
            jobs=jobs,
            connections=connections,
            progress=progress,
            zarr_prefix=target.zarr_path or "",
        )
        scope = sync_scope(target, preserve_tree=preserve_tree)
        if sync and scope is not None and not selection.is_dandiset_yaml:
            sync_local(root, scope, result, confirm_delete)
        return result

    def download_dandiset(
        self,
        dandiset: Dandiset,
        dest: Path | str,
        *,
        path: str | None = None,
        existing: str = "error",
        jobs: int = 6,
        progress: ProgressCallback | None = None,
    ) -> DownloadResult:
        """Download a Dandiset version into the local Dandiset directory ``dest``: each
        asset to ``dest/<asset path>``, plus ``dest/dandiset.yaml``. ``path`` limits it to the
        assets whose path starts with it (a folder ends with ``/``). ``existing`` is one of
        error, skip, overwrite, overwrite-different, refresh. Failures are in the result."""
        ds, root = dandiset, Path(dest)
        result = DownloadResult(root)
        write_yaml(self.instance, ds, root, existing, result, progress)
        assets = self.assets(ds, path=path) if path else self.assets(ds)
        items = [(a, root / a.path) for a in assets if not path or a.path.startswith(path)]
        fetch_assets(
            self.transport,
            items,
            result,
            existing=existing,
            jobs=jobs,
            connections=4,
            progress=progress,
        )
        return result

    def download_asset(
        self,
        asset: Asset,
        dest: Path | str,
        *,
        existing: str = "overwrite",
        progress: ProgressCallback | None = None,
    ) -> Path:
        """Download an asset to ``dest`` (a file path, or an existing directory to put the
        file in under its own name) and return the file's path. Every byte is checked against
        the asset's digests; raises :class:`DownloadError` when the download fails."""
        dest = Path(dest)
        target = dest / posixpath.basename(asset.path) if dest.is_dir() else dest
        result = DownloadResult(target.parent)
        fetch_assets(
            self.transport,
            [(asset, target)],
            result,
            existing=existing,
            jobs=1,
            connections=4,
            progress=progress,
        )
        if result.failures:
            raise DownloadError(f"{asset.path}: {result.failures[0].reason}")
        return target

    # -- uploads

    def upload(
        self,
        paths: Sequence[Path | str] | None = None,
        dandiset_root: Path | str | None = None,
        *,
        existing: str = "refresh",
        jobs: int = 4,
        part_jobs: int = 4,
        validation: str = "require",
        sync: bool = False,
        confirm_delete: ConfirmRemoteDelete | None = None,
        progress: ProgressCallback | None = None,
    ) -> UploadReport:
        """Upload files into the draft of the Dandiset named by ``dandiset.yaml``
        (``identifier``), found in ``dandiset_root`` or in/above the paths (default: the
        current directory). ``sync`` deletes draft assets in the uploaded folders that have no
        local file, if ``confirm_delete(asset paths)`` (when given) returns True. Returns the
        uploader's report, with every reason for each refused or failed file."""
        self.require_auth("uploading")
        local = [Path(p) for p in paths] if paths else [Path.cwd()]
        root = Path(dandiset_root) if dandiset_root else find_dandiset_root(local)
        return upload_paths(
            self.transport,
            dandiset_id=read_dandiset_id(root),
            dandiset_root=root,
            paths=local,
            existing=existing,
            jobs=jobs,
            part_jobs=part_jobs,
            validation=validation,
            sync=sync,
            confirm_delete=confirm_delete,
            progress=progress,
        )

    # -- helpers

    def _not_found(self, what: str) -> NotFound:
        # DANDI hides what a caller may not see behind 401/403 as well as 404.
        anon = "" if self.authenticated else " (or not visible without an API key)"
        return NotFound(f"{what} not found on {self.instance.name} ({self.instance.api_url}){anon}")

    def _get(self, path: str, what: str) -> dict[str, Any]:
        try:
            data = self.transport.get_json(path)
        except (RemoteNotFound, RemoteForbidden) as exc:
            raise self._not_found(what) from exc
        if not isinstance(data, dict):  # an answer, but none to use: no status to report
            url = self.transport.url(path)
            raise RemoteError(
                f"GET {url} did not return an object", status_code=0, url=url, method="GET"
            )
        return data

"""The Python API: one :class:`Archive` object for any DANDI-API archive.

::

    import neuropil

    archive = neuropil.Archive("dandi")            # a name, a URL, or None for the default
    ds = archive.dandiset("000027")                 # the latest published version, else draft
    for asset in ds.assets(path="sub-RAT123/"):
        print(asset.path, asset.size)
    ds.download("000027", progress=print)           # files + dandiset.yaml, every byte checked
    archive.download("DANDI:000027/draft", ".")     # any URL form, laid out like `dandi download`

The URL-driven :meth:`Archive.download` lays files out as the official client does (see
:func:`~neuropil.client.layout.local_path`); the command line is a thin layer over it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neuropil.client.events import FileDone, ProgressCallback, Status
from neuropil.client.instances import Instance, Registry
from neuropil.client.layout import (
    SyncScope,
    local_path,
    prune_empty_dirs,
    sorted_metadata,
    sync_scope,
    yaml_verdict,
)
from neuropil.client.local_tree import sync_delete, write_dandiset_yaml
from neuropil.client.models import DRAFT, Asset, Dandiset, Version
from neuropil.client.tokens import env_var_names, resolve_token
from neuropil.client.transport import Transport
from neuropil.client.upload_plan import find_dandiset_root, read_dandiset_id
from neuropil.client.uploader import ConfirmDelete as ConfirmRemoteDelete
from neuropil.client.uploader import UploadReport, upload_paths
from neuropil.client.urls import Target, parse_url
from neuropil.errors import (
    BadRequest,
    NeuropilError,
    NotAuthenticated,
    NotFound,
    RemoteError,
    Unsupported,
)

if TYPE_CHECKING:  # the download machinery is imported on first download (CLI start time)
    from neuropil.client.download import DownloadReport, Failure, RemoteFile

DANDISET_YAML = "dandiset.yaml"
PAGE_SIZE = 1000
#: A bare Dandiset id on the archive at hand: ``000123`` or ``000123/draft``.
_BARE_ID = re.compile(r"(?P<id>\d{6})(?:/(?P<version>\d+\.\d+\.\d+|draft))?/?")

#: Asked before ``sync`` deletes local files; False keeps them.
ConfirmLocalDelete = Callable[[Sequence[Path]], bool]


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


@dataclass
class DownloadResult:
    """What a download did. ``failures`` lists every file that failed, with its reason."""

    root: Path
    done: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    bytes_fetched: int = 0
    #: Local files (targets) the download covered, including skipped ones.
    files: list[Path] = field(default_factory=list)
    #: ``sync``: local files not in the remote that were deleted / kept (not confirmed).
    deleted: list[Path] = field(default_factory=list)
    not_deleted: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def add(self, report: DownloadReport) -> None:
        self.done += report.done
        self.skipped += report.skipped
        self.failures.extend(report.failures)
        self.bytes_fetched += report.bytes_fetched


# -- the archive --------------------------------------------------------------------------------


class Archive:
    """A connection to one DANDI-API archive.

    ``url`` is an instance name (``"dandi"``, a configured one) or a URL of the archive (web
    or API); None means ``$NEUROPIL_URL`` or the configured default instance. ``token`` is
    the API key; None looks for one (``$NEUROPIL_API_KEY``, the instance's variables, a token
    stored by ``neuropil login``) and goes anonymous when there is none.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        registry: Registry | None = None,
    ) -> None:
        self.registry = registry or Registry()
        self.instance: Instance = self.registry.resolve(url) if url else self.registry.default()
        self.transport = Transport(self.instance.api_url, resolve_token(self.instance, token))

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
                f"pass token=…, set {names}, or run `neuropil login {self.instance.name}`"
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

    # -- URLs

    def target(self, url: str) -> Target:
        """Parse a URL (any form :func:`~neuropil.client.urls.parse_url` accepts, or a bare
        ``000123[/version]`` meaning this archive); it must point into this archive."""
        bare = _BARE_ID.fullmatch(url.strip())
        if bare is not None:
            return Target(self.instance, "dandiset", bare["id"], bare["version"])
        target = parse_url(url, self.registry)
        if target.instance.api_url != self.instance.api_url:
            raise BadRequest(
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
            return list(ds.assets())
        if kind == "asset_id":
            data = self._get(f"{ds.api_path}assets/{target.asset_id}/info/", "asset")
            return [
                Asset.from_json(data, self, dandiset_id=ds.identifier, version_id=ds.version_id)
            ]
        if kind == "glob":
            return list(ds.assets(glob=target.glob))
        path = target.path or ""
        if kind == "item":
            return self._item(ds, path, target.zarr_path)
        found = [a for a in ds.assets(path=path) if a.path.startswith(path)]
        if not found:
            raise NotFound(f"no assets under {path!r} in {ds.identifier}/{ds.version_id}")
        return found

    def _item(self, ds: Dandiset, path: str, zarr_path: str | None) -> list[Asset]:
        if zarr_path:
            raise BadRequest(f"{path}/{zarr_path}: downloading inside Zarr assets is not supported")
        if path == DANDISET_YAML:
            return []
        try:
            return [ds.asset(path)]
        except NotFound:
            if any(True for _ in ds.assets(path=path + "/")):
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
        collected in the result, not raised.
        """
        selection = url if isinstance(url, Selection) else self.select(url)
        target, ds = selection.target, selection.dandiset
        with_id = target.kind == "dandiset" or (preserve_tree and target.dandiset_id is not None)
        root = Path(dest) / str(target.dandiset_id) if with_id else Path(dest)
        items = [
            (a, root / local_path(target, a.path, preserve_tree=preserve_tree))
            for a in selection.assets
        ]
        result = DownloadResult(root)
        if ds is not None and (with_id or selection.is_dandiset_yaml):
            self._dandiset_yaml(ds, root, existing, result, progress)
        self._fetch(
            items, result, existing=existing, jobs=jobs, connections=connections, progress=progress
        )
        scope = sync_scope(target, preserve_tree=preserve_tree)
        if sync and scope is not None and not selection.is_dandiset_yaml:
            self._sync(root, scope, result, confirm_delete)
        return result

    def _download_dandiset(
        self,
        ds: Dandiset,
        dest: Path,
        *,
        path: str | None,
        existing: str,
        jobs: int,
        progress: ProgressCallback | None,
    ) -> DownloadResult:
        result = DownloadResult(dest)
        self._dandiset_yaml(ds, dest, existing, result, progress)
        assets = ds.assets(path=path) if path else ds.assets()
        items = [(a, dest / a.path) for a in assets if not path or a.path.startswith(path)]
        self._fetch(items, result, existing=existing, jobs=jobs, connections=4, progress=progress)
        return result

    def _download_asset(
        self, asset: Asset, dest: Path, progress: ProgressCallback | None, existing: str
    ) -> Path:
        target = dest / posixpath.basename(asset.path) if dest.is_dir() else dest
        result = DownloadResult(target.parent)
        self._fetch(
            [(asset, target)], result, existing=existing, jobs=1, connections=4, progress=progress
        )
        if result.failures:
            raise DownloadError(f"{asset.path}: {result.failures[0].reason}")
        return target

    def _fetch(
        self,
        items: Iterable[tuple[Asset, Path]],
        result: DownloadResult,
        *,
        existing: str,
        jobs: int,
        connections: int,
        progress: ProgressCallback | None,
    ) -> None:
        from neuropil.client.download import Failure, download_files

        planned: list[tuple[RemoteFile, Path]] = []
        for asset, local in items:
            result.files.append(local)
            try:
                planned.append((asset.remote_file(), local))
            except (Unsupported, ValueError, RemoteError) as exc:
                result.failures.append(Failure(asset.path, str(exc)))
                if progress is not None:
                    progress(FileDone(asset.path, "failed", str(exc)))
        report = download_files(
            self.transport,
            planned,
            existing=existing,
            jobs=jobs,
            connections=connections,
            progress=progress,
        )
        result.add(report)

    def _dandiset_yaml(
        self,
        ds: Dandiset,
        root: Path,
        existing: str,
        result: DownloadResult,
        progress: ProgressCallback | None,
    ) -> None:
        """Write ``root/dandiset.yaml`` under the official client's rules for existing files."""
        from neuropil.client.download import Failure

        path = root / DANDISET_YAML
        result.files.append(path)
        status: Status = "done"
        message = ""
        try:
            verdict = yaml_verdict(path, ds, existing)
            if verdict is not None:
                status, message = verdict
            else:
                site = self.instance.web_url or self.instance.api_url
                write_dandiset_yaml(
                    root,
                    sorted_metadata(ds.metadata),
                    f"{site}/dandiset/{ds.identifier}",
                    modified=ds.modified,
                )
        except (OSError, NeuropilError) as exc:
            status, message = "failed", str(exc)
        if status == "done":
            result.done += 1
        elif status == "skipped":
            result.skipped += 1
        else:
            result.failures.append(Failure(DANDISET_YAML, message))
        if progress is not None:
            progress(FileDone(DANDISET_YAML, status, message))

    def _sync(
        self,
        root: Path,
        scope: SyncScope,
        result: DownloadResult,
        confirm: ConfirmLocalDelete | None,
    ) -> None:
        base = root / scope.base
        if not base.is_dir():
            return
        extra = [
            p
            for p in sync_delete(base, set(result.files))
            if scope.contains(p.relative_to(root).as_posix())
        ]
        if not extra:
            return
        if confirm is not None and not confirm(extra):
            result.not_deleted.extend(extra)
            return
        for p in extra:
            p.unlink(missing_ok=True)
            result.deleted.append(p)
        prune_empty_dirs(root, {p.parent for p in extra})

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

    def _get(self, path: str, what: str) -> dict[str, Any]:
        try:
            data = self.transport.get_json(path)
        except RemoteError as exc:
            if exc.status_code in (401, 403, 404):
                anon = "" if self.authenticated else " (or not visible without an API key)"
                raise NotFound(
                    f"{what} not found on {self.instance.name} ({self.instance.api_url}){anon}"
                ) from exc
            raise
        if not isinstance(data, dict):
            raise RemoteError(f"GET {path} did not return an object", status_code=502)
        return data

    def _iter_assets(
        self, ds: Dandiset, *, path: str | None = None, glob: str | None = None
    ) -> Iterator[Asset]:
        if path is not None and glob is not None:
            raise ValueError("give path or glob, not both")
        params: dict[str, Any] = {"order": "path", "metadata": "1", "page_size": PAGE_SIZE}
        if path:
            params["path"] = path
        if glob:
            params["glob"] = glob
        for item in self.transport.paginate(f"{ds.api_path}assets/", params):
            yield Asset.from_json(item, self, dandiset_id=ds.identifier, version_id=ds.version_id)

    def _asset_by_path(self, ds: Dandiset, path: str) -> Asset:
        for asset in self._iter_assets(ds, path=path):
            if asset.path == path:
                return asset
        raise NotFound(f"no asset at {path!r} in {ds.identifier}/{ds.version_id}")

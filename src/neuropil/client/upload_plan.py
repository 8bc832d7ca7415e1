"""What an upload run works on: local files, the archive's assets, and the ``existing`` rules.

Pure decisions, no transfers: :mod:`neuropil.client.uploader` acts on them.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from neuropil.client.policies import UPLOAD_EXISTING, UploadExisting
from neuropil.client.transport import Transport
from neuropil.core.digests import ETAG_ALGORITHM
from neuropil.errors import BadRequest

ExistingPolicy = UploadExisting
EXISTING_POLICIES = UPLOAD_EXISTING

DANDISET_YAML = "dandiset.yaml"
#: Partial downloads (ours and the official client's) are never assets.
PARTIAL_MARKERS = (".npdownload", ".dandidownload")
#: Zarr stores are directories that become one asset each; this client does not send them yet.
ZARR_SUFFIXES = (".zarr", ".ngff")
NWB_MEDIA_TYPE = "application/x-nwb"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- the dandiset directory ---------------------------------------------------------------------


def find_dandiset_root(paths: Sequence[Path | str]) -> Path:
    """The directory holding ``dandiset.yaml``: the paths' common folder or one above it."""
    absolute = [os.path.abspath(p) for p in paths] or [os.path.abspath(".")]
    common = Path(os.path.commonpath(absolute))
    for folder in [common, *common.parents]:
        if (folder / DANDISET_YAML).is_file():
            return folder
    raise BadRequest(
        f"No {DANDISET_YAML} in {common} or any folder above it: run the upload inside a "
        "dandiset directory (one made by `neuropil download` of the dandiset, for example)."
    )


def read_dandiset_id(root: Path) -> str:
    """The six-digit identifier in ``root/dandiset.yaml``."""
    path = root / DANDISET_YAML
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BadRequest(f"Cannot read {path}: {exc}") from exc
    ident = data.get("identifier") if isinstance(data, dict) else None
    if isinstance(ident, int):  # an unquoted 000123 loads as the integer 123
        ident = f"{ident:06d}"
    ident = str(ident or "").removeprefix("DANDI:")
    if not (len(ident) == 6 and ident.isdigit()):
        raise BadRequest(f"{path} has no six-digit 'identifier' (found {ident!r}).")
    return ident


def check_dandiset_root(root: Path, dandiset_id: str) -> None:
    """Refuse to upload a directory into a dandiset its ``dandiset.yaml`` does not name."""
    found = read_dandiset_id(root)
    if found != dandiset_id:
        raise BadRequest(
            f"{root / DANDISET_YAML} is for dandiset {found}, not {dandiset_id}: "
            "upload from the right directory or pass the right dandiset."
        )


# -- local files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: its absolute path and its asset path (relative to the dandiset)."""

    path: Path
    asset_path: str


@dataclass
class Plan:
    """The files found, those set aside (with the reason), and the scopes they cover.

    A scope is ``""`` (the whole dandiset), ``"dir/"`` (a folder) or an asset path (one
    file); the remote listing and ``--sync`` look only inside the scopes.
    """

    files: list[LocalFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)


def _is_partial(name: str) -> bool:
    return any(m in name for m in PARTIAL_MARKERS)


def _set_aside(name: str, at_root: bool) -> str | None:
    """Why a file of this name is not uploaded, or None if it is."""
    if at_root and name == DANDISET_YAML:
        return "dandiset.yaml is not an asset: edit the dandiset's metadata online"
    if _is_partial(name):
        return "a partial download (finish or delete it); partial files are never uploaded"
    return None


def plan_upload(root: Path, paths: Sequence[Path | str] | None) -> Plan:
    """Find the files under ``paths`` (default: the whole dandiset at ``root``).

    Dot files and dot folders (``.git``, ``.datalad``...) are skipped silently, as the
    official client does; a dot file named explicitly is reported as skipped.
    """
    plan = Plan()
    seen: set[str] = set()

    def add(item: LocalFile) -> None:
        if item.asset_path not in seen:
            seen.add(item.asset_path)
            plan.files.append(item)

    for given in paths if paths is not None else [root]:
        path = Path(os.path.abspath(given))
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise BadRequest(f"{given} is not inside the dandiset at {root}.") from None
        rel = "" if rel == "." else rel
        if path.is_dir() and (path.is_symlink() or path.name.lower().endswith(ZARR_SUFFIXES)):
            plan.skipped.append((rel, _folder_reason(path)))
        elif path.is_dir():
            plan.scopes.append(f"{rel}/" if rel else "")
            for item in _walk(root, path, plan):
                add(item)
        elif os.path.lexists(path):
            plan.scopes.append(rel)
            reason = _set_aside(path.name, path.parent == root)
            if path.name.startswith("."):
                reason = "a dot file: dot files are not uploaded"
            if reason:
                plan.skipped.append((rel, reason))
            else:
                add(LocalFile(path, rel))
        else:
            plan.scopes.append(rel)
            plan.missing.append(rel)
    plan.scopes = _outermost(plan.scopes)
    return plan


def _folder_reason(path: Path) -> str:
    if path.is_symlink():
        return "a symlink to a folder: symlinked folders are not followed"
    return "Zarr assets cannot be uploaded by neuropil yet"


def _walk(root: Path, top: Path, plan: Plan) -> Iterator[LocalFile]:
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or _is_partial(d):
                continue
            if d.lower().endswith(ZARR_SUFFIXES):
                rel = (here / d).relative_to(root).as_posix()
                plan.skipped.append((rel, _folder_reason(here / d)))
                continue
            keep.append(d)  # symlinked folders are listed but, as os.walk goes, not entered
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            rel = (here / name).relative_to(root).as_posix()
            reason = _set_aside(name, here == root)
            if reason:
                plan.skipped.append((rel, reason))
            else:
                yield LocalFile(here / name, rel)


def _outermost(scopes: list[str]) -> list[str]:
    """Drop scopes inside other scopes (``""`` covers everything)."""
    if "" in scopes:
        return [""]
    folders = [s for s in scopes if s.endswith("/")]
    return sorted({s for s in scopes if not any(s != f and s.startswith(f) for f in folders)})


def in_scopes(asset_path: str, scopes: Iterable[str]) -> bool:
    return any(
        s == "" or asset_path == s or (s.endswith("/") and asset_path.startswith(s)) for s in scopes
    )


# -- the archive's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteAsset:
    asset_id: str
    path: str
    size: int
    etag: str | None
    blob_modified: datetime | None


def _remote(item: dict[str, Any]) -> RemoteAsset:
    md = item.get("metadata") or {}
    digest = md.get("digest") or {}
    return RemoteAsset(
        asset_id=str(item["asset_id"]),
        path=str(item["path"]),
        size=int(item.get("size") or 0),
        etag=digest.get(ETAG_ALGORITHM),
        blob_modified=parse_time(md.get("blobDateModified")),
    )


def list_remote(
    transport: Transport, dandiset_id: str, scopes: list[str]
) -> dict[str, RemoteAsset]:
    """The draft's assets inside ``scopes``, by path: one listing per scope (with metadata,
    for the digests and ``blobDateModified`` the ``existing`` rules compare)."""
    base = f"dandisets/{dandiset_id}/versions/draft/assets/"
    out: dict[str, RemoteAsset] = {}
    for scope in scopes:
        params: dict[str, Any] = {"metadata": "true", "page_size": 1000, "order": "path"}
        if scope:
            params["path"] = scope
        for item in transport.paginate(base, params):
            # The API matches path prefixes case-insensitively; keep exact matches only.
            if in_scopes(str(item["path"]), [scope]):
                asset = _remote(item)
                out[asset.path] = asset
    return out


# -- the existing policy ------------------------------------------------------------------------


class Refused(Exception):
    """``existing="error"`` and the asset exists: this file fails with this message."""


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def micros(when: datetime) -> int:
    """Whole microseconds since the epoch, exactly (no float rounding)."""
    return (when - _EPOCH) // timedelta(microseconds=1)


def iso_from_ns(ns: int) -> str:
    """An mtime as ISO-8601 in UTC with microseconds, the precision the metadata keeps."""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def skip_before_hashing(policy: str, remote: RemoteAsset | None, mtime_ns: int) -> str | None:
    """Why the file is skipped without reading it (None: hash it); raises :class:`Refused`."""
    if remote is None or policy in ("force", "overwrite"):
        return None
    if policy == "error":
        raise Refused(
            f"{remote.path} already exists in the draft; choose existing=skip, force, "
            "overwrite or refresh to decide what happens to it."
        )
    if policy == "skip":
        return "already exists in the draft (existing=skip)"
    # refresh: the archive's copy is at least as new as the local file.
    if remote.blob_modified is not None and micros(remote.blob_modified) >= mtime_ns // 1000:
        return (
            f"the draft's copy is as new or newer (modified {remote.blob_modified.isoformat()}) "
            "(existing=refresh)"
        )
    return None


def skip_after_hashing(policy: str, remote: RemoteAsset | None, etag: str) -> str | None:
    """``overwrite`` and ``refresh`` leave an asset with the same content alone."""
    if remote is not None and policy in ("overwrite", "refresh") and remote.etag == etag:
        return f"the draft already has this content (dandi-etag {etag}) (existing={policy})"
    return None


# -- asset metadata -----------------------------------------------------------------------------


def encoding_format(asset_path: str) -> str:
    if asset_path.lower().endswith(".nwb"):
        return NWB_MEDIA_TYPE
    guessed, _ = mimetypes.guess_type(asset_path, strict=False)
    return guessed or "application/octet-stream"


def asset_metadata(
    asset_path: str,
    size: int,
    mtime_ns: int,
    etag: str,
    extracted: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata the client sends with a blob: what the official client sends for any
    file, over the fields ``extracted`` from an NWB file (subject, session, approach...;
    see :mod:`neuropil.validation.asset_metadata`). The file's own facts (path, size,
    digest) always come from here."""
    return {
        **(extracted or {}),
        "schemaKey": "Asset",
        "path": asset_path,
        "contentSize": size,
        "digest": {ETAG_ALGORITHM: etag},
        "encodingFormat": encoding_format(asset_path),
        "blobDateModified": iso_from_ns(mtime_ns),
        "dateModified": datetime.now(UTC).isoformat(),
    }

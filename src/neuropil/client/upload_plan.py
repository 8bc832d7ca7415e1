"""Deciding what an upload sends: the archive's assets, the ``existing`` rules, asset metadata.

Pure decisions, no transfers: :mod:`neuropil.client.upload_files` acts on them. Which local
files there are is :mod:`neuropil.localfiles`' business.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from neuropil.client.policies import UPLOAD_EXISTING, UploadExisting
from neuropil.core.digests import ETAG_ALGORITHM
from neuropil.errors import LocalFileError
from neuropil.http.transport import Transport
from neuropil.localfiles import DANDISET_YAML, in_scopes, read_dandiset_id

ExistingPolicy = UploadExisting
EXISTING_POLICIES = UPLOAD_EXISTING

NWB_MEDIA_TYPE = "application/x-nwb"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def check_dandiset_root(root: Path, dandiset_id: str) -> None:
    """Refuse to upload a directory into a dandiset its ``dandiset.yaml`` does not name."""
    found = read_dandiset_id(root)
    if found != dandiset_id:
        raise LocalFileError(
            f"{root / DANDISET_YAML} is for dandiset {found}, not {dandiset_id}: "
            "upload from the right directory or pass the right dandiset."
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

"""ORM rows and service records to DANDI's JSON object shapes (reference section 4)."""

from __future__ import annotations

from typing import Any

from neuropil.db.models import AssetBlob, User, Version
from neuropil.services.assets import AssetRecord, PathEntry
from neuropil.services.content import zarr_url
from neuropil.services.dandisets import DandisetHead, DandisetInfo, VersionStats
from neuropil.services.metadata import asset_metadata, contact_person, isoformat
from neuropil.services.urls import Urls


def user(u: User) -> dict[str, Any]:
    return {
        "username": u.username,
        "name": u.name,
        "admin": u.is_admin,
        "status": u.status.value,
    }


def _dandiset_head(head: DandisetHead) -> dict[str, Any]:
    d = head.dandiset
    return {
        "identifier": d.identifier,
        "created": isoformat(d.created),
        "modified": isoformat(d.modified),
        "contact_person": contact_person(head.head_metadata),
        "embargo_status": d.embargo_status.value,
        "star_count": 0,
        "is_starred": False,
    }


def version_short(v: Version, stats: VersionStats) -> dict[str, Any]:
    return {
        "version": v.version,
        "name": v.name,
        "asset_count": stats.asset_count,
        "size": stats.size,
        "status": v.status.value,
        "created": isoformat(v.created),
        "modified": isoformat(v.modified),
    }


def version_full(v: Version, stats: VersionStats, head: DandisetHead) -> dict[str, Any]:
    out = version_short(v, stats)
    out["active_uploads"] = head.active_uploads if v.version == "draft" else 0
    out["release_notes"] = v.release_notes or ""
    out["dandiset"] = _dandiset_head(head)
    return out


def version_info(
    v: Version,
    stats: VersionStats,
    head: DandisetHead,
    metadata: dict[str, Any],
    asset_validation_errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    out = version_full(v, stats, head)
    out["asset_validation_errors"] = asset_validation_errors or []
    out["version_validation_errors"] = v.validation_errors or []
    out["metadata"] = metadata
    out["contact_person"] = contact_person(metadata)
    return out


def dandiset_detail(info: DandisetInfo) -> dict[str, Any]:
    head = info.head
    out = _dandiset_head(head)
    pub = info.published
    out["most_recent_published_version"] = (
        {k: v for k, v in version_full(pub, info.stats_for(pub), head).items() if k != "dandiset"}
        if pub is not None
        else None
    )
    draft = version_full(info.draft, info.stats_for(info.draft), head)
    draft.pop("dandiset")
    out["draft_version"] = draft
    return out


def dandiset_list_item(info: DandisetInfo) -> dict[str, Any]:
    out = _dandiset_head(info.head)
    pub = info.published
    out["most_recent_published_version"] = (
        version_short(pub, info.stats_for(pub)) if pub is not None else None
    )
    out["draft_version"] = version_short(info.draft, info.stats_for(info.draft))
    return out


def asset_list_item(a: AssetRecord, urls: Urls, *, with_metadata: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "asset_id": a.asset_id,
        "blob": a.blob_id,
        "zarr": a.zarr_id,
        "path": a.path,
        "size": a.size,
        "created": isoformat(a.created),
        "modified": isoformat(a.modified),
    }
    if with_metadata:
        out["metadata"] = asset_metadata(a, urls)
    return out


def asset_detail(a: AssetRecord, urls: Urls) -> dict[str, Any]:
    return asset_list_item(a, urls, with_metadata=True)


def blob(b: AssetBlob) -> dict[str, Any]:
    return {"blob_id": b.blob_id, "etag": b.etag, "sha256": b.sha256, "size": b.size}


def path_entry(p: PathEntry, urls: Urls) -> dict[str, Any]:
    return {
        "path": p.path,
        "version": p.version_pk,
        "aggregate_files": p.aggregate_files,
        "aggregate_size": p.aggregate_size,
        "asset": {"asset_id": p.asset_id, "url": _path_url(p, urls)} if p.asset_id else None,
    }


def _path_url(p: PathEntry, urls: Urls) -> str | None:
    """The unsigned URL of a file's bytes: its blob, or a Zarr's key URL prefix."""
    if p.blob_key:
        return urls.object_url(p.blob_key)
    return zarr_url(urls, p.zarr_id) if p.zarr_id else None


def owner(u: User, *, with_email: bool) -> dict[str, Any]:
    return {"username": u.username, "name": u.name, "email": u.email if with_email else None}

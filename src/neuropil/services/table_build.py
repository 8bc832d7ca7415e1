"""Building the tables of one version: the rows from the database, the NWB contents from the
blobs' LINDI indexes (:mod:`neuropil.services.indexes`), never from the HDF5 bytes.

Called by :mod:`neuropil.services.tables`, which decides when a build is needed and keeps
the result. What an index says about a blob never changes (a blob's bytes are immutable),
so verdicts learnt by an earlier build are passed in as ``known`` and reused: after a draft
gains one file, only that file's index is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from neuropil.core.digests import ETAG_ALGORITHM, SHA256_ALGORITHM
from neuropil.db.models import Asset, AssetBlob, VersionAsset
from neuropil.services import indexes
from neuropil.services.context import Context
from neuropil.tables import (
    NwbContents,
    SessionFile,
    facts_of,
    file_row,
    is_nwb,
    read_contents,
    session_rows,
)
from neuropil.tables import sessions as states

#: Index states (``indexes.IndexStatus.state``) as the sessions table names them.
_STATES = {
    indexes.BUILT: states.BUILT,
    indexes.NOT_HDF5: states.NOT_HDF5,
    indexes.FAILED: states.FAILED,
}


@dataclass(frozen=True)
class AssetRow:
    """What the tables need of one asset of a version."""

    asset_id: str
    path: str
    metadata: dict[str, Any]
    blob_id: str | None
    etag: str | None
    sha256: str | None
    size: int | None


@dataclass
class Built:
    """A built table and what its freshness depends on besides the version's stamp."""

    rows: list[dict[str, Any]]
    #: Blob assets without a sha256 yet (the files table shows null for them).
    missing_sha256: int = 0
    #: Blobs whose index had no verdict yet (the sessions table shows null counts for them).
    pending: list[str] = field(default_factory=list)
    #: blob id -> ``{"state": ..., **NwbContents}``: final verdicts, reusable by later builds.
    known: dict[str, dict[str, Any]] = field(default_factory=dict)


def version_assets(ctx: Context, version_pk: int) -> list[AssetRow]:
    """Every asset of a version with its blob, in path order (one query)."""
    q = (
        sa.select(
            Asset.asset_id,
            VersionAsset.path,
            Asset.metadata_,
            AssetBlob.blob_id,
            AssetBlob.etag,
            AssetBlob.sha256,
            AssetBlob.size,
        )
        .select_from(VersionAsset)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .outerjoin(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
        .where(VersionAsset.version_id == version_pk)
        .order_by(VersionAsset.path)
    )
    with ctx.db.read() as s:
        return [AssetRow(*r) for r in s.execute(q)]


def missing_sha256(ctx: Context, version_pk: int) -> int:
    """How many blob assets of a version have no sha256 yet."""
    q = (
        sa.select(sa.func.count())
        .select_from(VersionAsset)
        .join(Asset, Asset.id == VersionAsset.asset_id)
        .join(AssetBlob, AssetBlob.blob_id == Asset.blob_id)
        .where(VersionAsset.version_id == version_pk, AssetBlob.sha256.is_(None))
    )
    with ctx.db.read() as s:
        return int(s.scalar(q) or 0)


def build_files(assets: list[AssetRow]) -> Built:
    """The file manifest, without download URLs (they depend on how the client reaches us)."""
    rows = []
    for a in assets:
        digest = {ETAG_ALGORITHM: a.etag, SHA256_ALGORITHM: a.sha256}
        rows.append(
            file_row(
                path=a.path,
                asset_id=a.asset_id,
                download_url=None,
                size=a.size,
                digest=digest,
                facts=facts_of(a.metadata),
            )
        )
    missing = sum(1 for a in assets if a.blob_id is not None and a.sha256 is None)
    return Built(rows, missing_sha256=missing)


def build_sessions(ctx: Context, assets: list[AssetRow], known: dict[str, dict[str, Any]]) -> Built:
    """The sessions table of the NWB assets; ``known`` holds verdicts of earlier builds."""
    built = Built([], known={})
    files = []
    for a in assets:
        facts = facts_of(a.metadata)
        if not is_nwb(a.path, facts):
            continue
        state, contents = _indexed(ctx, a, known, built)
        files.append(SessionFile(a.path, facts, contents, state))
    built.rows = session_rows(files)
    return built


def _indexed(
    ctx: Context, a: AssetRow, known: dict[str, dict[str, Any]], built: Built
) -> tuple[str, NwbContents | None]:
    """The index state and contents of an asset's blob, recording what was learnt."""
    if a.blob_id is None or a.etag is None:
        return states.UNAVAILABLE, None  # a Zarr asset: no index
    verdict = known.get(a.blob_id) or _verdict(ctx, a.blob_id, a.etag)
    if verdict is None:
        built.pending.append(a.blob_id)
        return states.PENDING, None
    built.known[a.blob_id] = verdict
    state = str(verdict["state"])
    return state, NwbContents.from_json(verdict) if state == states.BUILT else None


def _verdict(ctx: Context, blob_id: str, etag: str) -> dict[str, Any] | None:
    """What the blob's index says, or None while it has no verdict (being built)."""
    status = indexes.read_status(ctx.store, blob_id)
    if status is None or status.blob_etag != etag or status.state not in _STATES:
        return None
    if status.state != indexes.BUILT:
        return {"state": _STATES[status.state]}
    try:
        data = b"".join(ctx.store.read(indexes.index_key(blob_id)))
    except KeyError:  # the status outlived its index: the index endpoint rebuilds it
        return None
    contents = _contents(data)
    return {"state": states.BUILT, **contents.to_json()} if contents else {"state": states.FAILED}


def _contents(data: bytes) -> NwbContents | None:
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    return read_contents(doc) if isinstance(doc, dict) else None

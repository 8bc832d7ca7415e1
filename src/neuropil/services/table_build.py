"""Building the tables of one version: the rows from the database, the NWB contents from the
blobs' LINDI indexes (:mod:`neuropil.services.indexes`), never from the HDF5 bytes.

Called by :mod:`neuropil.services.tables`, which decides when a build is needed and keeps
the result, and passes in what the kept build learnt (``kept``) so that a rebuild computes
only what is new:

* an asset's path, metadata and blob are fixed by its id (any change makes a new asset), so
  what its metadata says (its manifest cells, its :class:`AssetFacts`) is reused by asset
  id, and the metadata of those assets is not read. What can still change for an asset id
  comes from the database on every build: its blob's sha256 (computed after upload), with
  the other digest and size cells;
* what an index says about a blob never changes (a blob's bytes are immutable), so final
  verdicts are reused by blob id: after a draft gains one file, only that file's index is
  read. Blobs without a verdict yet are asked again;
* a session's row depends only on its files (ids, in path order) and their verdicts, so a
  kept row is reused when the session has the same files and none was pending.

Reused or made again, a row is the same, so a rebuild equals a build from scratch.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa

from neuropil.core.digests import ETAG_ALGORITHM, SHA256_ALGORITHM
from neuropil.db.models import Asset, AssetBlob, VersionAsset
from neuropil.services import indexes
from neuropil.services.context import Context
from neuropil.tables import (
    AssetFacts,
    NwbContents,
    SessionFile,
    facts_of,
    file_row,
    is_nwb,
    manifest_facts,
    read_contents,
    session_row,
    sessions_of,
)
from neuropil.tables import sessions as states

#: Metadata is read by asset id in batches of this many (bound parameters per statement).
_BATCH = 500
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
    #: None when the caller keeps what it needs of it (see :func:`version_assets`).
    metadata: dict[str, Any] | None
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
    #: Sessions: asset id -> :meth:`AssetFacts.to_json`, None for a file that is not NWB.
    facts: dict[str, list[str | None] | None] = field(default_factory=dict)
    #: Sessions: the asset ids of each row's files in path order, joined by spaces (strings,
    #: not lists: the garbage collector does not track them in a kept record).
    members: list[str] = field(default_factory=list)


def version_assets(
    ctx: Context, version_pk: int, kept: Collection[str] = frozenset()
) -> list[AssetRow]:
    """Every asset of a version with its blob, in path order; the metadata of assets whose id
    is in ``kept`` is not read (None), unless most of them are new (then it is one query)."""
    if not kept:
        return _assets(ctx, version_pk, with_metadata=True)
    rows = _assets(ctx, version_pk, with_metadata=False)
    new = [a.asset_id for a in rows if a.asset_id not in kept]
    if len(new) > len(rows) // 2:
        return _assets(ctx, version_pk, with_metadata=True)
    metadata = _metadata(ctx, new)
    if len(metadata) < len(new):  # an asset deleted since the first query: read them again
        return _assets(ctx, version_pk, with_metadata=True)
    return [
        replace(a, metadata=metadata[a.asset_id]) if a.asset_id in metadata else a for a in rows
    ]


def _assets(ctx: Context, version_pk: int, *, with_metadata: bool) -> list[AssetRow]:
    q = (
        sa.select(
            Asset.asset_id,
            VersionAsset.path,
            Asset.metadata_ if with_metadata else sa.null(),
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


def _metadata(ctx: Context, asset_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The metadata of these assets, by asset id."""
    found: dict[str, dict[str, Any]] = {}
    with ctx.db.read() as s:
        for i in range(0, len(asset_ids), _BATCH):
            batch = asset_ids[i : i + _BATCH]
            q = sa.select(Asset.asset_id, Asset.metadata_).where(Asset.asset_id.in_(batch))
            found.update((asset_id, md) for asset_id, md in s.execute(q))
    return found


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


def build_files(ctx: Context, version_pk: int, kept: Built) -> Built:
    """The file manifest, without download URLs (they depend on how the client reaches us);
    the metadata cells of ``kept`` rows are reused by asset id."""
    by_id = {row["asset_id"]: row for row in kept.rows}
    assets = version_assets(ctx, version_pk, by_id)
    rows = []
    for a in assets:
        facts = manifest_facts(by_id[a.asset_id]) if a.metadata is None else facts_of(a.metadata)
        digest = {ETAG_ALGORITHM: a.etag, SHA256_ALGORITHM: a.sha256}
        rows.append(
            file_row(
                path=a.path,
                asset_id=a.asset_id,
                download_url=None,
                size=a.size,
                digest=digest,
                facts=facts,
            )
        )
    missing = sum(1 for a in assets if a.blob_id is not None and a.sha256 is None)
    return Built(rows, missing_sha256=missing)


def build_sessions(ctx: Context, version_pk: int, kept: Built) -> Built:
    """The sessions table of the NWB assets, reusing the facts, verdicts and rows of ``kept``."""
    built = Built([])
    files, ids = [], {}
    for a in version_assets(ctx, version_pk, kept.facts):
        values = kept.facts[a.asset_id] if a.metadata is None else _nwb_facts(a.path, a.metadata)
        built.facts[a.asset_id] = values
        if values is not None:
            state, contents = _indexed(ctx, a, kept.known, built)
            files.append(SessionFile(a.path, AssetFacts.from_json(values), contents, state))
            ids[a.path] = a.asset_id
    # A record kept before rows listed their files has no members: no row is reused.
    same = len(kept.members) == len(kept.rows)
    pairs = zip(kept.members, kept.rows, strict=True) if same else ()
    settled = {members: row for members, row in pairs if row["index_status"] != states.PENDING}
    for group in sessions_of(files):
        members = " ".join(ids[f.path] for f in group)
        built.rows.append(settled.get(members) or session_row(group))
        built.members.append(members)
    return built


def _nwb_facts(path: str, metadata: dict[str, Any]) -> list[str | None] | None:
    """The facts of an NWB file, None for another file (it makes no session)."""
    facts = facts_of(metadata)
    return facts.to_json() if is_nwb(path, facts) else None


def _indexed(
    ctx: Context, a: AssetRow, known: Mapping[str, dict[str, Any]], built: Built
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

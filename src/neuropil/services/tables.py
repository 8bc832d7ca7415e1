"""The tables of a version (``files``: the manifest; ``sessions``: experiment metadata),
built on request and kept in the store, never served stale.

Freshness (``docs/design/tables.md``): a table is kept as ``tables/v<pk>/<name>.json`` with
the stamp of the version it was built from (its primary key, name and ``modified``, which
every change to a draft's assets moves) and what the build could not know yet: blob assets
without a sha256, blobs whose index had no verdict. A request rebuilds when the stamp
differs or one of those has become known since; otherwise it reads one object. A published
version never changes, so its table is built once (again only while hashes or indexes are
still arriving). A rebuild reuses the kept rows, and what builds learnt about immutable
things (index verdicts by blob, facts by asset), kept apart as ``<name>.learnt.json`` so
that requests served from a kept table never read it (:mod:`neuropil.services.table_build`
says what may be reused): its cost is in what is new since. Who may read a table is decided by
:func:`neuropil.services.versions.get_version`, as for the version itself.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neuropil.db.models import User, Version
from neuropil.errors import NotFound
from neuropil.services import indexes, versions
from neuropil.services.context import Context
from neuropil.services.table_build import Built, build_files, build_sessions, missing_sha256
from neuropil.services.urls import Urls
from neuropil.storage import BlobStore
from neuropil.tables import TABLES, AssetFacts, Column

PREFIX = "tables/"
_KEY = re.compile(r"tables/v(\d+)/[^/]+\.json")
#: Bumped when the rows a build makes change (shape, or values for the same inputs): older
#: records are rebuilt, and nothing of theirs but index verdicts is reused.
FORMAT = 1
#: What learnt facts must have been written with to be reused: the format, and the fields
#: of :class:`AssetFacts` (a change to them is caught even if ``FORMAT`` is not bumped).
_LEARNT_FORMAT = f"{FORMAT}:{','.join(AssetFacts.__dataclass_fields__)}"


@dataclass(frozen=True)
class VersionTable:
    """A table ready to encode: rows in column order and a digest naming their content."""

    name: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]
    #: sha256 of the rows as built (download URLs aside); the base of the HTTP validator.
    digest: str
    identifier: str
    version: str


@dataclass
class Record:
    """A built table as it is kept in the store."""

    stamp: str
    digest: str
    rows: list[dict[str, Any]]
    missing_sha256: int
    pending: list[str]
    #: Sessions: the asset ids of each row's files (they pair with ``rows``: kept with them).
    members: list[str] = field(default_factory=list)
    #: Index verdicts, as records kept them before they moved to the learnt object.
    known: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> bytes:
        # Not dataclasses.asdict: it deep-copies every row (0.3 s for 1,000 rows).
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return json.dumps(fields, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Record | None:
        """The record, or None for one this version cannot read (it is rebuilt)."""
        try:
            raw = json.loads(data)
            return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError):
            return None


def cache_key(version_pk: int, name: str) -> str:
    return f"{PREFIX}v{version_pk}/{name}.json"


def learnt_key(version_pk: int, name: str) -> str:
    """What builds of table ``name`` learnt about immutable things (index verdicts by blob,
    facts by asset): true whichever build wrote it, read by rebuilds only, never by the
    requests a kept table serves."""
    return f"{PREFIX}v{version_pk}/{name}.learnt.json"


def stamp(identifier: str, version: Version) -> str:
    """What a kept table must have been built from to be served for ``version``."""
    return f"{FORMAT}:{version.id}:{identifier}/{version.version}:{version.modified.isoformat()}"


def version_table(
    ctx: Context, *, user: User | None, identifier: str, version: str, name: str, urls: Urls
) -> VersionTable:
    """Table ``name`` of a version as ``user`` may read it, with download URLs from ``urls``.

    Raises :class:`NotFound` for an unknown table name, and what
    :func:`~neuropil.services.versions.get_version` raises for a version the caller may not
    read (401/403 for an embargoed dandiset, 404 for a missing one).
    """
    columns = TABLES.get(name)
    if columns is None:
        raise NotFound(f"No table {name!r}; the tables of a version are: {', '.join(TABLES)}.")
    # The stamp is read before the assets: a build can only be newer than its stamp.
    view = versions.get_version(ctx, user=user, identifier=identifier, version=version)
    ident = view.head.dandiset.identifier
    record = current(ctx, view.version, ident, name)
    rows = record.rows
    if name == "files":
        for row in rows:
            row["download_url"] = urls.asset_download(row["asset_id"])
    return VersionTable(name, columns, rows, record.digest, ident, view.version.version)


def current(ctx: Context, version: Version, identifier: str, name: str) -> Record:
    """The kept record of table ``name`` if it is fresh, else a new build (kept)."""
    key = cache_key(version.id, name)
    want = stamp(identifier, version)
    kept = _load(ctx.store, key)
    if kept is not None and kept.stamp == want and _complete(ctx, version.id, kept):
        return kept
    learnt = learnt_key(version.id, name)
    earlier = _reusable(ctx.store, learnt, kept)
    if name == "files":
        built = build_files(ctx, version.id, earlier)
    else:
        built = build_sessions(ctx, version.id, earlier)
    digest = hashlib.sha256(json.dumps(built.rows, sort_keys=True).encode()).hexdigest()
    if built.known or built.facts:  # first: it is true of any record, older or newer
        doc = {"format": _LEARNT_FORMAT, "known": built.known, "facts": built.facts}
        ctx.store.put(learnt, json.dumps(doc, separators=(",", ":")).encode())
    rows, missing, pending = built.rows, built.missing_sha256, built.pending
    record = Record(want, digest, rows, missing, pending, built.members)
    ctx.store.put(key, record.to_json())
    return record


def _reusable(store: BlobStore, learnt: str, kept: Record | None) -> Built:
    """What a rebuild may reuse: the kept rows if built by this format; the learnt verdicts
    (any format) and facts (this format's)."""
    doc = _read_json(store, learnt)
    known = doc.get("known") or (kept.known if kept is not None else {})
    facts = (doc.get("facts") or {}) if doc.get("format") == _LEARNT_FORMAT else {}
    if kept is None or not kept.stamp.startswith(f"{FORMAT}:"):
        return Built([], known=known, facts=facts)
    return Built(kept.rows, known=known, facts=facts, members=kept.members)


def _complete(ctx: Context, version_pk: int, kept: Record) -> bool:
    """Whether nothing the kept build lacked has arrived since (same stamp assumed)."""
    if kept.missing_sha256 and missing_sha256(ctx, version_pk) != kept.missing_sha256:
        return False
    return all(indexes.read_status(ctx.store, b) is None for b in kept.pending)


def _load(store: BlobStore, key: str) -> Record | None:
    try:
        data = b"".join(store.read(key))
    except KeyError:
        return None
    return Record.from_json(data)


def _read_json(store: BlobStore, key: str) -> dict[str, Any]:
    """A kept JSON object, or {} if there is none (or it is not one)."""
    try:
        doc = json.loads(b"".join(store.read(key)))
    except (KeyError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def collect_orphans(ctx: Context, cutoff: datetime) -> int:
    """Delete the kept tables of versions that no longer exist (a deleted dandiset's), and
    anything else under ``tables/`` this version did not write, older than ``cutoff``."""
    with ctx.db.read() as s:
        live = set(s.scalars(sa.select(Version.id)))
    removed = 0
    for obj in list(ctx.store.list(PREFIX)):
        match = _KEY.fullmatch(obj.key)
        if (match is None or int(match[1]) not in live) and obj.modified < cutoff:
            ctx.store.delete(obj.key)
            removed += 1
    return removed

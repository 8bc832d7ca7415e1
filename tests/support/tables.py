"""Dandisets with the demo NWB sessions, and reading their tables over HTTP (tables tests)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.db.engine import normalize_url, sqlite_url
from neuropil.db.models import AssetBlob
from neuropil.demo_data import make_demo_files
from neuropil.nwb.metadata import extract_asset_metadata
from neuropil.services.context import make_store
from neuropil.storage import BlobStore, blob_key
from neuropil.tables import SEP
from tests.api.helpers import create_dandiset, etag_of, upload_asset, wait_for
from tests.conftest import Archive
from tests.support.dandisets import publishable_metadata
from tests.support.nwb import NwbSet

README = b"two sessions of mouse01\n"


def demo_set(directory: Path) -> NwbSet:
    """Every demo session (ecephys, ophys, icephys), organized as ``dandi organize`` would."""
    return NwbSet(directory, tuple(make_demo_files(directory, organized=True)))


def expected_sessions(nwb: NwbSet) -> list[dict[str, Any]]:
    """:func:`read_with_pynwb` of every file, in the table's order (subject, session)."""
    found = [read_with_pynwb(nwb.local(p)) for p in nwb.asset_paths]
    return sorted(found, key=lambda e: (e["subject"] or "", e["session"] or ""))


def upload_nwb(c: httpx.Client, ident: str, nwb: NwbSet, asset_path: str) -> dict[str, Any]:
    """Upload a demo file with the metadata ``neuropil upload`` extracts from it."""
    local = nwb.local(asset_path)
    md = extract_asset_metadata(local, asset_path=asset_path).metadata
    return upload_asset(c, ident, asset_path, local.read_bytes(), md)


def table_url(ident: str, name: str, version: str = "draft") -> str:
    return f"dandisets/{ident}/versions/{version}/tables/{name}/"


def get_rows(c: httpx.Client, ident: str, name: str, version: str = "draft") -> list[Any]:
    r = c.get(table_url(ident, name, version))
    assert r.status_code == 200, r.text
    rows: list[Any] = r.json()
    return rows


def settled(c: httpx.Client, ident: str, version: str = "draft") -> list[Any]:
    """The sessions table once every file's sha256 is known and every index built."""

    def ready() -> list[Any] | None:
        files = get_rows(c, ident, "files", version)
        sessions = get_rows(c, ident, "sessions", version)
        done = all(f["sha256"] for f in files) and all(
            s["index_status"] == "built" for s in sessions
        )
        return sessions if done else None

    return wait_for(ready, timeout=60)


def nwb_dandiset(c: httpx.Client, nwb: NwbSet) -> str:
    """A publishable draft with the NWB files and a README, hashed and indexed."""
    ident = create_dandiset(c, metadata=publishable_metadata("Two demo sessions."))
    for path in nwb.asset_paths:
        upload_nwb(c, ident, nwb, path)
    upload_asset(c, ident, "README.txt", README)
    settled(c, ident)
    return ident


def uploaded_metadata(nwb: NwbSet, asset_path: str) -> dict[str, Any]:
    """The metadata :func:`upload_nwb` sends for a file."""
    return extract_asset_metadata(nwb.local(asset_path), asset_path=asset_path).metadata


def read_with_pynwb(path: Path) -> dict[str, Any]:
    """What a session row should say about one NWB file, read independently with pynwb."""
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        electrodes = len(f.electrodes) if f.electrodes is not None else 0
        return {
            "subject": f.subject.subject_id if f.subject is not None else None,
            "session": f.session_id,
            "session_description": f.session_description,
            "devices": SEP.join(sorted(f.devices)),
            "electrode_count": electrodes + len(f.icephys_electrodes),
            "units_count": len(f.units) if f.units is not None else 0,
            "imaging_planes": SEP.join(sorted(f.imaging_planes)),
            "acquisition": SEP.join(sorted(f.acquisition)),
        }


# -- the server's kept tables, reached around the API (rebuild tests) --------------------------


def _execute(archive: Archive, statement: str | sa.Executable, **params: Any) -> list[Any]:
    url = archive.server.database_url or sqlite_url(archive.server.data_dir / "neuropil.db")
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.begin() as conn:
            query = sa.text(statement) if isinstance(statement, str) else statement
            result = conn.execute(query, params)
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def server_store(archive: Archive) -> BlobStore:
    """The store the archive's server uses (its settings come from the same environment)."""
    return make_store(Settings(data_dir=archive.server.data_dir))


def _kept_prefix(archive: Archive, ident: str, version: str) -> str:
    (pk,) = _execute(
        archive,
        "SELECT id FROM versions WHERE dandiset_id = :d AND version = :v",
        d=int(ident),
        v=version,
    )
    return f"tables/v{pk[0]}/"


def kept_rows(archive: Archive, ident: str, name: str, version: str = "draft") -> list[Any]:
    """The rows of a kept table as the server stored them."""
    key = f"{_kept_prefix(archive, ident, version)}{name}.json"
    rows: list[Any] = json.loads(b"".join(server_store(archive).read(key)))["rows"]
    return rows


def forget_tables(archive: Archive, ident: str, version: str = "draft") -> None:
    """Delete the version's kept tables: the next request builds them from scratch."""
    store = server_store(archive)
    for obj in list(store.list(_kept_prefix(archive, ident, version))):
        store.delete(obj.key)


def unhashed_blob(archive: Archive, data: bytes) -> str:
    """A blob whose sha256 has not arrived (and will not: no job computes it); its id."""
    blob_id = str(uuid.uuid4())
    server_store(archive).put(blob_key(blob_id), data)
    row = {"blob_id": blob_id, "key": blob_key(blob_id), "etag": etag_of(data), "size": len(data)}
    _execute(archive, sa.insert(AssetBlob).values(**row, sha256=None, embargoed=False))
    return blob_id


def arrive_sha256(archive: Archive, blob_id: str, sha256: str) -> None:
    """Write the sha256 of an :func:`unhashed_blob` (what the hashing job would)."""
    _execute(archive, "UPDATE asset_blobs SET sha256 = :h WHERE blob_id = :b", h=sha256, b=blob_id)

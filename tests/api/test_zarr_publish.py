"""Publishing Zarr assets (DANDI refuses): a published version pins each Zarr to an
immutable snapshot, later draft changes never alter what it serves, and snapshots share
their bytes. Over real HTTP; the database refuses direct writes to a snapshot."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
import zarr

from neuropil.db.engine import Database, sqlite_url
from tests.api.helpers import all_pages
from tests.api.publishing import publish_and_wait, publishable_dandiset, wait_until_valid
from tests.conftest import Archive
from tests.support.zarrs import (
    add_zarr_asset,
    b64md5,
    create_zarr,
    finalize,
    list_all,
    local_files,
    make_zarr,
    upload_files,
)

SNAPSHOT_IMMUTABLE = "neuropil: a published Zarr snapshot is immutable"


@dataclass
class Published:
    ident: str
    version: str
    live: str
    snapshot: str
    asset: dict[str, object]
    files: dict[str, bytes]


def _published_zarr_asset(c: httpx.Client, ident: str, version: str) -> dict[str, object]:
    assets = all_pages(c, f"dandisets/{ident}/versions/{version}/assets/", {"zarr": "true"})
    (asset,) = assets
    return dict(asset)


@pytest.fixture
def published(alice: httpx.Client, tmp_path: Path) -> Published:
    ident = publishable_dandiset(alice, {"notes.txt": 100})
    local = make_zarr(tmp_path / "sample.zarr")
    live = create_zarr(alice, ident, "sample.zarr")
    files = local_files(local)
    upload_files(alice, live, files)
    finalize(alice, live)
    add_zarr_asset(alice, ident, "sample.zarr", live)
    wait_until_valid(alice, ident)
    version = publish_and_wait(alice, ident)
    asset = _published_zarr_asset(alice, ident, version)
    return Published(ident, version, live, str(asset["zarr"]), asset, files)


def test_publish_pins_a_snapshot(
    anon: httpx.Client, archive: Archive, published: Published
) -> None:
    p = published
    assert p.snapshot != p.live
    live = anon.get(f"zarr/{p.live}/").json()
    snap = anon.get(f"zarr/{p.snapshot}/").json()
    assert snap["status"] == "Complete" and snap["checksum"] == live["checksum"]
    assert (snap["file_count"], snap["size"]) == (live["file_count"], live["size"])
    md = anon.get(f"dandisets/{p.ident}/versions/{p.version}/assets/{p.asset['asset_id']}/").json()
    assert md["digest"]["dandi:dandi-zarr-checksum"] == live["checksum"]
    assert md["contentUrl"][1].endswith(f"/zarr/{p.snapshot}/")
    assert "datePublished" in md
    assert [e["Key"] for e in list_all(anon, p.snapshot)] == sorted(p.files)
    # snapshots are not listed among a dandiset's Zarrs (the client looks them up by name)
    zarrs = anon.get("zarr/", params={"dandiset": p.ident}).json()["results"]
    assert [z["zarr_id"] for z in zarrs] == [p.live]
    # the draft keeps its own asset on the live Zarr
    (draft_asset,) = all_pages(
        anon, f"dandisets/{p.ident}/versions/draft/assets/", {"zarr": "true"}
    )
    assert draft_asset["zarr"] == p.live and draft_asset["asset_id"] != p.asset["asset_id"]


def test_draft_changes_never_reach_the_published_version(
    alice: httpx.Client, anon: httpx.Client, archive: Archive, published: Published
) -> None:
    p = published
    before_md = anon.get(f"assets/{p.asset['asset_id']}/").json()
    changed = {"data/0.0": b"changed bytes", "new-key": b"new"}
    upload_files(alice, p.live, changed)
    r = alice.request("DELETE", f"zarr/{p.live}/files/", json=[{"path": "sub/noise/0.0"}])
    assert r.status_code == 204
    live = finalize(alice, p.live)
    assert live["checksum"] != anon.get(f"zarr/{p.snapshot}/").json()["checksum"]
    # The published version serves exactly what was published.
    assert anon.get(f"assets/{p.asset['asset_id']}/").json() == before_md
    entries = {e["Key"]: e for e in list_all(anon, p.snapshot)}
    assert sorted(entries) == sorted(p.files)
    for key, data in p.files.items():
        assert entries[key]["ETag"] == hashlib.md5(data).hexdigest()
        got = httpx.get(f"{archive.url}/zarr/{p.snapshot}/{key}")
        assert got.status_code == 200 and got.content == data, key
    group = zarr.open_group(f"{archive.url}/zarr/{p.snapshot}/", mode="r")
    assert np.array_equal(group["data"][:], np.arange(1000, dtype="i4").reshape(10, 100))
    dl = anon.get(f"zarr/{p.snapshot}/files/", params={"prefix": "data/0.0", "download": "true"})
    assert httpx.get(dl.headers["Location"]).content == p.files["data/0.0"]
    # while the draft's Zarr has moved on
    assert httpx.get(f"{archive.url}/zarr/{p.live}/data/0.0").content == b"changed bytes"
    assert httpx.get(f"{archive.url}/zarr/{p.live}/sub/noise/0.0").status_code == 404


def test_snapshots_share_their_bytes(
    alice: httpx.Client, anon: httpx.Client, archive: Archive, published: Published
) -> None:
    p = published
    upload_files(alice, p.live, {"data/0.0": b"second version"})
    finalize(alice, p.live)
    wait_until_valid(alice, p.ident)
    second = publish_and_wait(alice, p.ident)
    snap2 = str(_published_zarr_asset(alice, p.ident, second)["zarr"])
    assert snap2 not in (p.snapshot, p.live)
    first_keys = {e["Key"]: e["ETag"] for e in list_all(anon, p.snapshot)}
    second_keys = {e["Key"]: e["ETag"] for e in list_all(anon, snap2)}
    distinct = {(k, v) for k, v in first_keys.items()} | set(second_keys.items())
    contents = {etag for _, etag in distinct}
    if archive.backend == "sqlite":  # the store is on this machine: count its objects
        root = archive.server.data_dir / "store" / "objects" / "zarr-snapshots" / p.live
        stored = [q for q in root.rglob("*") if q.is_file()]
        # one object per distinct content: the unchanged keys were not copied again
        assert len(stored) == len(contents) < len(first_keys) + len(second_keys)


def test_snapshots_refuse_changes(alice: httpx.Client, published: Published) -> None:
    p = published
    body = [{"path": "k", "base64md5": b64md5(b"v")}]
    assert alice.post(f"zarr/{p.snapshot}/files/", json=body).status_code == 405
    assert alice.post(f"zarr/{p.snapshot}/finalize/").status_code == 405
    assert alice.delete(f"zarr/{p.snapshot}/").status_code == 405
    r = alice.request("DELETE", f"zarr/{p.snapshot}/files/", json=[{"path": "data/0.0"}])
    assert r.status_code == 405
    bad = alice.post(
        f"dandisets/{p.ident}/versions/draft/assets/",
        json={"metadata": {"path": "copy.zarr"}, "zarr_id": p.snapshot},
    )
    assert bad.status_code == 400


@pytest.fixture
def database(archive: Archive) -> Iterator[Database]:
    server = archive.server
    db = Database(server.database_url or sqlite_url(server.data_dir.resolve() / "neuropil.db"))
    yield db
    db.dispose()


def _refused(db: Database, sql: str, **params: object) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            conn.execute(sa.text(sql), params)
        conn.rollback()
    assert SNAPSHOT_IMMUTABLE in str(caught.value), caught.value
    orig = caught.value.orig
    if db.is_sqlite:
        assert isinstance(orig, sqlite3.IntegrityError)
    else:
        assert getattr(orig, "sqlstate", None) == "23001"  # restrict_violation


def test_the_database_refuses_snapshot_writes(database: Database, published: Published) -> None:
    z = published.snapshot
    _refused(database, "UPDATE zarr_archives SET checksum = 'forged' WHERE zarr_id = :z", z=z)
    _refused(database, "UPDATE zarr_archives SET status = 'Pending' WHERE zarr_id = :z", z=z)
    _refused(database, "DELETE FROM zarr_archives WHERE zarr_id = :z", z=z)
    _refused(database, "UPDATE zarr_snapshot_files SET md5 = 'x' WHERE zarr_id = :z", z=z)
    _refused(database, "DELETE FROM zarr_snapshot_files WHERE zarr_id = :z", z=z)
    _refused(
        database,
        "INSERT INTO zarr_snapshot_files (zarr_id, key, md5, size) VALUES (:z, 'forged', 'x', 1)",
        z=z,
    )

"""A published version and its assets cannot change: the API answers 405 to every write,
and the database itself refuses direct writes (triggers on SQLite and PostgreSQL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa

from neuropil.db.engine import Database, sqlite_url
from tests.api.helpers import all_pages, assets_url, draft_url, random_bytes, upload_blob
from tests.api.publishing import asset_metadata, publish_and_wait, publishable_dandiset
from tests.conftest import Archive


@dataclass
class Published:
    ident: str
    version: str
    asset_ids: dict[str, str]

    @property
    def url(self) -> str:
        return f"dandisets/{self.ident}/versions/{self.version}/"


@pytest.fixture
def published(alice: httpx.Client) -> Published:
    ident = publishable_dandiset(alice, {"sub-01/a.bin": 100, "b.bin": 200})
    version = publish_and_wait(alice, ident)
    assets = all_pages(alice, f"dandisets/{ident}/versions/{version}/assets/")
    return Published(ident, version, {a["path"]: a["asset_id"] for a in assets})


def test_every_write_path_answers_405(
    alice: httpx.Client, admin: httpx.Client, published: Published
) -> None:
    p = published
    md = alice.get(p.url).json()
    aid = p.asset_ids["b.bin"]
    blob = upload_blob(alice, p.ident, random_bytes(10))
    body = {"metadata": {"path": "new.bin", **asset_metadata()}, "blob_id": blob}
    for c in (alice, admin):
        assert c.put(p.url, json={"metadata": md, "name": "renamed"}).status_code == 405
        assert c.post(f"{p.url}assets/", json=body).status_code == 405
        replace = {"metadata": {"path": "b.bin", **asset_metadata()}, "blob_id": blob}
        assert c.put(f"{p.url}assets/{aid}/", json=replace).status_code == 405
        assert c.delete(f"{p.url}assets/{aid}/").status_code == 405
        assert c.delete(p.url).status_code == 405
        assert c.post(f"{p.url}publish/").status_code == 405
    assert alice.delete(draft_url(p.ident)).status_code == 403  # drafts go with their dandiset
    assert alice.get(p.url).json() == md


def test_the_draft_moves_on_without_touching_the_published_assets(
    alice: httpx.Client, anon: httpx.Client, published: Published
) -> None:
    p = published
    aid = p.asset_ids["b.bin"]
    before = anon.get(f"assets/{aid}/").json()
    blob = upload_blob(alice, p.ident, random_bytes(50))
    replace = {"metadata": {"path": "b.bin", **asset_metadata(extra=1)}, "blob_id": blob}
    r = alice.put(f"{assets_url(p.ident)}{aid}/", json=replace)
    assert r.status_code == 200 and r.json()["asset_id"] != aid
    assert alice.delete(f"{assets_url(p.ident)}{p.asset_ids['sub-01/a.bin']}/").status_code == 204
    assert anon.get(f"dandisets/{p.ident}/versions/draft/info/").json()["status"] != "Published"
    assert anon.get(f"assets/{aid}/").json() == before
    listed = {a["path"]: a["asset_id"] for a in all_pages(anon, f"{p.url}assets/")}
    assert listed == p.asset_ids


@pytest.fixture
def database(archive: Archive) -> Iterator[Database]:
    """A connection of our own to the server's database (it is shared: writes roll back)."""
    server = archive.server
    url = server.database_url or sqlite_url(server.data_dir.resolve() / "neuropil.db")
    db = Database(url)
    yield db
    db.dispose()


#: What each trigger says when it refuses: (SQLite, PostgreSQL). The message names the
#: trigger, so a test passes only when that trigger (not some other error) refused the write.
TRIGGERS = {
    "version_update": (
        "neuropil: a published version is immutable",
        "neuropil: UPDATE of a published row of versions is refused",
    ),
    "version_delete": (
        "neuropil: a published version cannot be deleted",
        "neuropil: DELETE of a published row of versions is refused",
    ),
    "asset_update": (
        "neuropil: a published asset is immutable",
        "neuropil: UPDATE of a published row of assets is refused",
    ),
    "asset_delete": (
        "neuropil: a published asset cannot be deleted",
        "neuropil: DELETE of a published row of assets is refused",
    ),
    "members": ("neuropil: the assets of a published version are immutable",) * 2,
    "blob_identity": (
        "neuropil: the identity of a blob (id, key, etag, size, sha256) is immutable",
    )
    * 2,
    "blob_delete": ("neuropil: a blob of a published asset cannot be deleted",) * 2,
    "dandiset": ("neuropil: a dandiset with a published version cannot be deleted",) * 2,
}


def _expect(db: Database, trigger: str) -> str:
    sqlite, postgres = TRIGGERS[trigger]
    return sqlite if db.is_sqlite else postgres


def _check(db: Database, caught: BaseException, trigger: str) -> None:
    """The error is the database refusing by that trigger: an integrity error (SQLite's
    ``RAISE(ABORT)``, PostgreSQL's ``restrict_violation``) carrying its message."""
    assert _expect(db, trigger) in str(caught), caught
    orig = getattr(caught, "orig", caught)
    if db.is_sqlite:
        assert isinstance(orig, sqlite3.IntegrityError), type(orig)
    else:
        assert getattr(orig, "sqlstate", None) == "23001", orig  # restrict_violation


def _refused(db: Database, trigger: str, sql: str, **params: object) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            conn.execute(sa.text(sql), params)
        conn.rollback()
    _check(db, caught.value, trigger)


def test_the_database_refuses_direct_writes(database: Database, published: Published) -> None:
    p = published
    with database.engine.connect() as conn:
        ids = conn.execute(
            sa.text(
                "SELECT v.id, d.id FROM versions v JOIN dandisets d ON d.id = v.dandiset_id "
                "WHERE d.id = :d AND v.version = :v"
            ),
            {"d": int(p.ident), "v": p.version},
        ).one()
        draft_id = conn.execute(
            sa.text("SELECT id FROM versions WHERE dandiset_id = :d AND version = 'draft'"),
            {"d": int(p.ident)},
        ).scalar_one()
        asset_pk = conn.execute(
            sa.text("SELECT id FROM assets WHERE asset_id = :a"), {"a": p.asset_ids["b.bin"]}
        ).scalar_one()
        other_pk = conn.execute(
            sa.text("SELECT id FROM assets WHERE published = :f ORDER BY id LIMIT 1"),
            {"f": False},
        ).scalar()
    version_id = ids[0]
    _refused(
        database,
        "version_update",
        "UPDATE versions SET name = 'forged' WHERE id = :v",
        v=version_id,
    )
    _refused(
        database,
        "version_update",
        "UPDATE versions SET status = 'Publishing' WHERE id = :v",
        v=version_id,
    )
    _refused(database, "version_delete", "DELETE FROM versions WHERE id = :v", v=version_id)
    _refused(database, "dandiset", "DELETE FROM dandisets WHERE id = :d", d=int(p.ident))
    _refused(
        database, "asset_update", "UPDATE assets SET path = 'forged.bin' WHERE id = :a", a=asset_pk
    )
    _refused(
        database,
        "asset_update",
        "UPDATE assets SET published = :f WHERE id = :a",
        a=asset_pk,
        f=False,
    )
    _refused(database, "asset_delete", "DELETE FROM assets WHERE id = :a", a=asset_pk)
    _refused(
        database,
        "members",
        "DELETE FROM version_assets WHERE version_id = :v AND asset_id = :a",
        v=version_id,
        a=asset_pk,
    )
    _refused(
        database,
        "members",
        "UPDATE version_assets SET path = 'x' WHERE version_id = :v AND asset_id = :a",
        v=version_id,
        a=asset_pk,
    )
    _refused(
        database,
        "members",
        "UPDATE asset_paths SET aggregate_size = 0 WHERE version_id = :v",
        v=version_id,
    )
    if other_pk is not None:
        _refused(
            database,
            "members",
            "INSERT INTO version_assets (version_id, asset_id, path, path_lower) "
            "VALUES (:v, :a, 'smuggled.bin', 'smuggled.bin')",
            v=version_id,
            a=other_pk,
        )
    # The draft of the same dandiset stays writable (then rolled back).
    with database.engine.connect() as conn:
        conn.execute(
            sa.text("UPDATE versions SET name = 'editable' WHERE id = :v"), {"v": draft_id}
        )
        conn.rollback()


# -- blobs and dandisets (migration 0005) ----------------------------------------------------
def _published_blob(database: Database, p: Published) -> tuple[str, int]:
    with database.engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT b.blob_id, b.size FROM assets a JOIN asset_blobs b "
                "ON b.blob_id = a.blob_id WHERE a.asset_id = :a"
            ),
            {"a": p.asset_ids["b.bin"]},
        ).one()
    return str(row[0]), int(row[1])


def test_blobs_of_published_assets_are_immutable(database: Database, published: Published) -> None:
    blob_id, size = _published_blob(database, published)
    for sql in (
        "UPDATE asset_blobs SET size = :n, etag = 'forged' WHERE blob_id = :b",
        "UPDATE asset_blobs SET size = :n WHERE blob_id = :b",
        "UPDATE asset_blobs SET sha256 = 'forged' WHERE blob_id = :b",
        "UPDATE asset_blobs SET key = 'blobs/elsewhere' WHERE blob_id = :b",
    ):
        _refused(database, "blob_identity", sql, b=blob_id, n=size + 1)
    _refused(database, "blob_delete", "DELETE FROM asset_blobs WHERE blob_id = :b", b=blob_id)
    # What may change still does (rolled back).
    with database.engine.connect() as conn:
        conn.execute(
            sa.text("UPDATE asset_blobs SET embargoed = :f WHERE blob_id = :b"),
            {"f": False, "b": blob_id},
        )
        conn.rollback()


def test_every_blob_keeps_its_identity(
    database: Database, alice: httpx.Client, dandiset: str
) -> None:
    blob_id = upload_blob(alice, dandiset, random_bytes(30))  # in no published version
    sql = "UPDATE asset_blobs SET size = 1 WHERE blob_id = :b"
    _refused(database, "blob_identity", sql, b=blob_id)
    with database.engine.connect() as conn:  # unreferenced: garbage collection may delete it
        conn.execute(sa.text("DELETE FROM asset_blobs WHERE blob_id = :b"), {"b": blob_id})
        conn.rollback()


def _without_foreign_keys(archive: Archive, sql: str, **params: object) -> BaseException:
    """Run ``sql`` with foreign keys off (SQLite's default on a plain connection;
    PostgreSQL's replica mode, which also skips ordinary triggers) and return the error."""
    server = archive.server
    if server.database_url is None:
        conn = sqlite3.connect(server.data_dir.resolve() / "neuropil.db")
        try:
            assert conn.execute("PRAGMA foreign_keys").fetchone() == (0,)
            with pytest.raises(sqlite3.IntegrityError) as caught:
                conn.execute(sql, params)
        finally:
            conn.rollback()
            conn.close()
        return caught.value
    import psycopg

    url = server.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as pg:
        pg.execute("SET LOCAL session_replication_role = replica")
        with pytest.raises(psycopg.errors.RestrictViolation) as err:
            pg.execute(sql.replace(":d", "%(d)s").replace(":b", "%(b)s"), params)
        pg.rollback()
    return err.value


def test_with_foreign_keys_off_published_rows_stay(
    archive: Archive, database: Database, published: Published
) -> None:
    blob_id, _ = _published_blob(database, published)
    caught = _without_foreign_keys(
        archive, "DELETE FROM dandisets WHERE id = :d", d=int(published.ident)
    )
    assert _expect(database, "dandiset") in str(caught)
    caught = _without_foreign_keys(archive, "DELETE FROM asset_blobs WHERE blob_id = :b", b=blob_id)
    assert _expect(database, "blob_delete") in str(caught)
    with database.engine.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM dandisets WHERE id = :d"), {"d": int(published.ident)}
        ).scalar_one()
    assert n == 1

"""A published version and its assets cannot change: the API answers 405 to every write,
and the database itself refuses direct writes (triggers on SQLite and PostgreSQL)."""

from __future__ import annotations

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


def _refused(db: Database, sql: str, **params: object) -> None:
    with db.engine.connect() as conn:
        with pytest.raises(sa.exc.DBAPIError) as caught:
            conn.execute(sa.text(sql), params)
        conn.rollback()
    assert "neuropil" in str(caught.value) or "published" in str(caught.value)


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
    _refused(database, "UPDATE versions SET name = 'forged' WHERE id = :v", v=version_id)
    _refused(database, "UPDATE versions SET status = 'Publishing' WHERE id = :v", v=version_id)
    _refused(database, "DELETE FROM versions WHERE id = :v", v=version_id)
    _refused(database, "DELETE FROM dandisets WHERE id = :d", d=int(p.ident))
    _refused(database, "UPDATE assets SET path = 'forged.bin' WHERE id = :a", a=asset_pk)
    _refused(database, "UPDATE assets SET published = :f WHERE id = :a", a=asset_pk, f=False)
    _refused(database, "DELETE FROM assets WHERE id = :a", a=asset_pk)
    _refused(
        database,
        "DELETE FROM version_assets WHERE version_id = :v AND asset_id = :a",
        v=version_id,
        a=asset_pk,
    )
    _refused(
        database,
        "UPDATE version_assets SET path = 'x' WHERE version_id = :v AND asset_id = :a",
        v=version_id,
        a=asset_pk,
    )
    _refused(
        database,
        "UPDATE asset_paths SET aggregate_size = 0 WHERE version_id = :v",
        v=version_id,
    )
    if other_pk is not None:
        _refused(
            database,
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

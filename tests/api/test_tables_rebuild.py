"""A rebuilt table is the table built from scratch (``docs/design/tables.md``, "Rebuilds").

After each kind of draft change (add, delete, rename, metadata, a sha256 or an index verdict
arriving late) the tables a request rebuilds from the kept ones, reusing rows by asset id and
verdicts by blob, are compared over HTTP with the tables the server builds with nothing kept:
same bytes, same ETag. And download URLs follow the base URL each request reached.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from neuropil.services import indexes
from tests.api.helpers import (
    add_asset,
    assets_url,
    create_dandiset,
    random_bytes,
    sha256_hex,
    upload_asset,
)
from tests.conftest import Archive
from tests.support import tables
from tests.support.nwb import NwbSet
from tests.support.tables import forget_tables, get_rows, settled, table_url, upload_nwb

NAMES = ("files", "sessions")


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return tables.demo_set(tmp_path_factory.mktemp("nwb"))


def get_both(c: httpx.Client, ident: str) -> dict[str, httpx.Response]:
    responses = {name: c.get(table_url(ident, name)) for name in NAMES}
    for r in responses.values():
        assert r.status_code == 200, r.text
    return responses


def same_as_from_scratch(archive: Archive, c: httpx.Client, ident: str) -> dict[str, Any]:
    """The tables once settled (rebuilt from the kept ones as hashes and indexes arrive),
    checked equal to the tables built with nothing kept; returns their rows."""
    settled(c, ident)
    rebuilt = get_both(c, ident)
    forget_tables(archive, ident)
    scratch = get_both(c, ident)
    for name in NAMES:
        assert rebuilt[name].content == scratch[name].content, name
        assert rebuilt[name].headers["etag"] == scratch[name].headers["etag"], name
    return {name: r.json() for name, r in rebuilt.items()}


def replace_asset(c: httpx.Client, ident: str, asset: dict[str, Any], **md: Any) -> Any:
    """PUT the asset with metadata fields changed (a new asset id)."""
    body = {"metadata": {**asset["metadata"], **md}, "blob_id": asset["blob"]}
    r = c.put(f"{assets_url(ident)}{asset['asset_id']}/", json=body)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["asset_id"] != asset["asset_id"]
    return new


def test_a_rebuilt_table_is_the_table_built_from_scratch(
    archive: Archive, alice: httpx.Client, nwb: NwbSet
) -> None:
    ident = create_dandiset(alice)
    one, two, three = nwb.asset_paths[:3]
    upload_asset(alice, ident, "README.txt", tables.README)
    first = upload_nwb(alice, ident, nwb, one)
    second = upload_nwb(alice, ident, nwb, two)
    same_as_from_scratch(archive, alice, ident)

    # Added: one more file, and its session.
    third = upload_nwb(alice, ident, nwb, three)
    rows = same_as_from_scratch(archive, alice, ident)
    assert [r["path"] for r in rows["files"]] == ["README.txt", one, two, three]
    assert len(rows["sessions"]) == 3

    # Deleted.
    r = alice.delete(f"{assets_url(ident)}{second['asset_id']}/")
    assert r.status_code == 204, r.text
    rows = same_as_from_scratch(archive, alice, ident)
    assert [r["path"] for r in rows["files"]] == ["README.txt", one, three]

    # Renamed into another folder.
    moved = replace_asset(alice, ident, first, path=f"moved/{one}")
    rows = same_as_from_scratch(archive, alice, ident)
    assert moved["asset_id"] in {r["asset_id"] for r in rows["files"]}
    assert first["asset_id"] not in {r["asset_id"] for r in rows["files"]}

    # Metadata: the third file joins the session of the moved one (one row, two files).
    md = moved["metadata"]
    changed = replace_asset(
        alice,
        ident,
        third,
        wasAttributedTo=md["wasAttributedTo"],
        wasGeneratedBy=md["wasGeneratedBy"],
    )
    rows = same_as_from_scratch(archive, alice, ident)
    assert [s["files"] for s in rows["sessions"]] == [2]
    ours = {r["asset_id"]: r["session"] for r in rows["files"]}
    assert ours[changed["asset_id"]] == ours[moved["asset_id"]]

    # A sha256 that arrives after the build (the files table is rebuilt for it).
    data = random_bytes(64)
    blob_id = tables.unhashed_blob(archive, data)
    assert add_asset(alice, ident, "data/late.bin", blob_id).status_code == 200
    (late,) = [r for r in get_rows(alice, ident, "files") if r["path"] == "data/late.bin"]
    assert late["sha256"] is None
    tables.arrive_sha256(archive, blob_id, sha256_hex(data))
    rows = same_as_from_scratch(archive, alice, ident)
    (late,) = [r for r in rows["files"] if r["path"] == "data/late.bin"]
    assert late["sha256"] == sha256_hex(data)

    # An index verdict that arrives after the build (the sessions table is rebuilt for it).
    store, key = tables.server_store(archive), indexes.status_key(changed["blob"])
    status = b"".join(store.read(key))
    store.delete(key)
    forget_tables(archive, ident)
    assert get_rows(alice, ident, "sessions")[0]["index_status"] == "pending"
    store.put(key, status)
    rows = same_as_from_scratch(archive, alice, ident)
    assert rows["sessions"][0]["index_status"] == "built"


def test_download_urls_follow_the_base_each_request_reached(
    archive: Archive, alice: httpx.Client, nwb: NwbSet
) -> None:
    ident = create_dandiset(alice)
    upload_nwb(alice, ident, nwb, nwb.asset_paths[0])
    settled(alice, ident)
    upload_asset(alice, ident, "README.txt", tables.README)  # a change: the next is a rebuild
    other = {"Host": "tables.example:8443"}
    there = alice.get(table_url(ident, "files"), headers=other)
    here = alice.get(table_url(ident, "files"))
    assert there.status_code == here.status_code == 200
    for r, base in ((there, "http://tables.example:8443/api"), (here, archive.api_url)):
        assert [row["download_url"] for row in r.json()] == [
            f"{base}/assets/{row['asset_id']}/download/" for row in r.json()
        ]
    assert there.headers["etag"] != here.headers["etag"]
    kept = tables.kept_rows(archive, ident, "files")  # what is kept names no base
    assert [row["download_url"] for row in kept] == [None, None]
    again = alice.get(table_url(ident, "files"), headers={"If-None-Match": there.headers["etag"]})
    assert again.status_code == 200  # the other base's tag does not match here

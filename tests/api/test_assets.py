"""Assets of a draft: create, list (path, glob, order, pages), read, replace, delete, paths."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from dandi.utils import is_page2_url

from tests.api.helpers import (
    ETAG,
    SHA256,
    add_asset,
    all_pages,
    assets_url,
    client,
    create_dandiset,
    etag_of,
    random_bytes,
    upload_asset,
    upload_blob,
    wait_for,
)
from tests.conftest import Archive

LIST_KEYS = {"asset_id", "blob", "zarr", "path", "size", "created", "modified"}

#: The listing fixture's layout: path -> size.
LAYOUT = {
    "sub/a.nwb": 11,
    "sub/a.nwb.json": 12,
    "sub/B.NWB": 13,
    "sub/c/d.txt": 14,
    "Sub2/e.nwb": 15,
    "sub.nwb": 16,
    "top.txt": 17,
    "a_b.txt": 18,
    "axb.txt": 19,
}


@dataclass
class Listing:
    identifier: str
    assets: dict[str, dict[str, Any]]  # path -> AssetDetail
    data: dict[str, bytes]

    @property
    def url(self) -> str:
        return assets_url(self.identifier)


@pytest.fixture(scope="module")
def listing(archive: Archive) -> Iterator[Listing]:
    """One dandiset with assets in folders, shared by the read-only tests."""
    with client(archive.api_url, archive.user_token) as c:
        ident = create_dandiset(c, "listing")
        assets: dict[str, dict[str, Any]] = {}
        data: dict[str, bytes] = {}
        for path, size in LAYOUT.items():
            data[path] = random_bytes(size)
            assets[path] = upload_asset(c, ident, path, data[path], {"foo": path})
        # Once the background sha256 has run, asset metadata no longer changes.
        for path, a in assets.items():
            assets[path] = wait_for(partial(_with_sha256, c, a["asset_id"]))
        yield Listing(ident, assets, data)


def _with_sha256(c: httpx.Client, asset_id: str) -> dict[str, Any] | None:
    a: dict[str, Any] = c.get(f"assets/{asset_id}/info/").json()
    return a if SHA256 in a["metadata"]["digest"] else None


def _paths(c: httpx.Client, url: str, **params: Any) -> list[str]:
    r = c.get(url, params=params)
    assert r.status_code == 200, r.text
    return [a["path"] for a in r.json()["results"]]


# -- create ----------------------------------------------------------------------------------
def test_create_returns_asset_detail(archive: Archive, alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(1000)
    blob_id = upload_blob(alice, dandiset, data)
    r = add_asset(alice, dandiset, "dir/file.nwb", blob_id, {"encodingFormat": "x/y", "n": 1})
    assert r.status_code == 200, r.text
    a = r.json()
    assert set(a) == LIST_KEYS | {"metadata"}
    assert uuid.UUID(a["asset_id"])
    assert a["blob"] == blob_id
    assert a["zarr"] is None
    assert a["path"] == "dir/file.nwb"
    assert a["size"] == len(data)
    md = a["metadata"]
    assert md["id"] == f"dandiasset:{a['asset_id']}"
    assert md["identifier"] == a["asset_id"]
    assert md["path"] == "dir/file.nwb"
    assert md["contentSize"] == len(data)
    assert md["digest"][ETAG] == etag_of(data)
    assert md["encodingFormat"] == "x/y"
    assert md["n"] == 1
    assert md["schemaKey"] == "Asset"
    assert md["contentUrl"][0] == f"{archive.api_url}/assets/{a['asset_id']}/download/"
    assert md["contentUrl"][1].startswith(f"{archive.url}/store/")
    assert not md["contentUrl"][1].startswith(archive.api_url)
    d = alice.get(f"dandisets/{dandiset}/").json()["draft_version"]
    assert (d["asset_count"], d["size"]) == (1, len(data))
    assert d["status"] in ("Pending", "Validating", "Invalid")  # validation runs in the background


def test_computed_fields_in_input_are_ignored(alice: httpx.Client, dandiset: str) -> None:
    blob_id = upload_blob(alice, dandiset, random_bytes(10))
    md = {"contentSize": 999, "digest": {ETAG: "0" * 32 + "-1"}, "identifier": "nope", "x": 2}
    a = add_asset(alice, dandiset, "f.bin", blob_id, md).json()
    assert a["metadata"]["contentSize"] == 10
    assert a["metadata"]["identifier"] == a["asset_id"]
    assert a["metadata"]["digest"][ETAG] != "0" * 32 + "-1"


def test_one_blob_many_assets(alice: httpx.Client, dandiset: str) -> None:
    blob_id = upload_blob(alice, dandiset, random_bytes(10))
    one = add_asset(alice, dandiset, "one.bin", blob_id).json()
    two = add_asset(alice, dandiset, "two.bin", blob_id).json()
    assert one["asset_id"] != two["asset_id"]
    assert one["blob"] == two["blob"] == blob_id
    assert alice.get(f"dandisets/{dandiset}/").json()["draft_version"]["asset_count"] == 2


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/abs.nwb", "leading '/'"),
        ("a/../b.nwb", "'..'"),
        ("../b.nwb", "'..'"),
        ("a//b.nwb", "'//'"),
        ("./a.nwb", "'.'"),
        ("a/./b.nwb", "'.'"),
        ("dir/", "trailing '/'"),
        ("a\x00b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\x7fb", "U+007F"),
        ("a" * 513, "513 characters"),
        ("", "empty"),
        ("a/b:c", "forbidden character"),
        (5, "string"),
    ],
)
def test_invalid_paths_are_400(
    alice: httpx.Client, dandiset: str, path: object, message: str
) -> None:
    blob_id = upload_blob(alice, dandiset, b"invalid paths")
    r = alice.post(assets_url(dandiset), json={"metadata": {"path": path}, "blob_id": blob_id})
    assert r.status_code == 400
    assert message in r.json()
    assert alice.get(assets_url(dandiset)).json()["count"] == 0


def test_longest_valid_path(alice: httpx.Client, dandiset: str) -> None:
    path = "/".join(["d" * 99] * 5) + "/" + "f" * 12  # 512 characters
    assert len(path) == 512
    blob_id = upload_blob(alice, dandiset, b"long path")
    r = add_asset(alice, dandiset, path, blob_id)
    assert r.status_code == 200, r.text
    assert r.json()["path"] == path


def test_path_conflicts_are_409(alice: httpx.Client, dandiset: str) -> None:
    blob_id = upload_blob(alice, dandiset, b"conflicts")
    assert add_asset(alice, dandiset, "a/b.nwb", blob_id).status_code == 200
    dup = add_asset(alice, dandiset, "a/b.nwb", blob_id)
    assert dup.status_code == 409
    assert "already exists" in dup.json()
    folder = add_asset(alice, dandiset, "a", blob_id)  # "a" is a folder
    assert folder.status_code == 409
    assert "conflicts with existing assets" in folder.json()
    below = add_asset(alice, dandiset, "a/b.nwb/c.nwb", blob_id)  # "a/b.nwb" is a file
    assert below.status_code == 409
    assert "conflicts with existing assets" in below.json()
    # A different case is a different path.
    assert add_asset(alice, dandiset, "A/b.nwb", blob_id).status_code == 200
    assert alice.get(f"dandisets/{dandiset}/").json()["draft_version"]["asset_count"] == 2


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"metadata": {"path": "x"}, "blob_id": str(uuid.uuid4())}, 404),
        ({"metadata": {"path": "x"}, "blob_id": "not-a-uuid"}, 404),
        ({"metadata": {"path": "x"}}, 400),
        ({"metadata": {"path": "x"}, "blob_id": "b", "zarr_id": "z"}, 400),
        ({"metadata": {"nopath": "x"}, "blob_id": str(uuid.uuid4())}, 400),
        ({"metadata": "x", "blob_id": str(uuid.uuid4())}, 400),
        ({"blob_id": str(uuid.uuid4())}, 400),
    ],
)
def test_bad_create_bodies(
    alice: httpx.Client, dandiset: str, body: dict[str, Any], status: int
) -> None:
    r = alice.post(assets_url(dandiset), json=body)
    assert r.status_code == status
    assert r.text


def test_create_in_unknown_places(alice: httpx.Client, dandiset: str) -> None:
    blob_id = upload_blob(alice, dandiset, b"nowhere")
    body = {"metadata": {"path": "x"}, "blob_id": blob_id}
    assert alice.post(assets_url("999999"), json=body).status_code == 404
    url = f"dandisets/{dandiset}/versions/0.230101.1200/assets/"
    assert alice.post(url, json=body).status_code == 404


# -- list ------------------------------------------------------------------------------------
def test_list_all(listing: Listing, anon: httpx.Client) -> None:
    r = anon.get(listing.url)
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == len(LAYOUT)
    assert page["next"] is None
    assert [a["path"] for a in page["results"]] == list(LAYOUT)  # default order: created
    for item in page["results"]:
        assert set(item) == LIST_KEYS
        expected = listing.assets[item["path"]]
        assert item["asset_id"] == expected["asset_id"]
        assert item["size"] == LAYOUT[item["path"]]
        assert item["blob"] == expected["blob"]


def test_path_is_a_case_insensitive_prefix(listing: Listing, anon: httpx.Client) -> None:
    assert _paths(anon, listing.url, path="sub") == [
        "sub/a.nwb",
        "sub/a.nwb.json",
        "sub/B.NWB",
        "sub/c/d.txt",
        "Sub2/e.nwb",
        "sub.nwb",
    ]
    assert _paths(anon, listing.url, path="SUB/") == [
        "sub/a.nwb",
        "sub/a.nwb.json",
        "sub/B.NWB",
        "sub/c/d.txt",
    ]
    assert _paths(anon, listing.url, path="sub/b") == ["sub/B.NWB"]
    assert _paths(anon, listing.url, path="sub/a.nw") == ["sub/a.nwb", "sub/a.nwb.json"]
    assert _paths(anon, listing.url, path="nothing") == []
    r = anon.get(listing.url, params={"path": "sub/"})
    assert r.json()["count"] == 4


def test_an_exact_path_returns_only_that_asset(listing: Listing, anon: httpx.Client) -> None:
    r = anon.get(listing.url, params={"path": "sub/a.nwb"})
    page = r.json()
    assert page["count"] == 1
    assert [a["asset_id"] for a in page["results"]] == [listing.assets["sub/a.nwb"]["asset_id"]]
    # Found in one statement; what it returns is still the listing's answer: no second
    # page, no Zarr among the assets at that path, and another case is a prefix again.
    second = anon.get(listing.url, params={"path": "sub/a.nwb", "page": 2, "page_size": 1})
    assert (second.status_code, second.json()["detail"]) == (404, "Invalid page.")
    zarrs = anon.get(listing.url, params={"path": "sub/a.nwb", "zarr": "true"}).json()
    assert (zarrs["count"], zarrs["results"]) == (0, [])
    assert _paths(anon, listing.url, path="SUB/A.NWB") == ["sub/a.nwb", "sub/a.nwb.json"]
    lean = anon.get(listing.url, params={"path": "sub/a.nwb", "page_size": 1}).json()
    assert (lean["count"], lean["next"]) == (1, None)


def test_glob(listing: Listing, anon: httpx.Client) -> None:
    assert _paths(anon, listing.url, glob="*.nwb") == [
        "sub/a.nwb",
        "sub/B.NWB",
        "Sub2/e.nwb",
        "sub.nwb",
    ]
    assert _paths(anon, listing.url, glob="*.NWB") == _paths(anon, listing.url, glob="*.nwb")
    assert _paths(anon, listing.url, glob="sub/*") == [
        "sub/a.nwb",
        "sub/a.nwb.json",
        "sub/B.NWB",
        "sub/c/d.txt",
    ]
    assert _paths(anon, listing.url, glob="*/d.txt") == ["sub/c/d.txt"]
    # Everything but '*' is literal: '_' and '.' are not wildcards.
    assert _paths(anon, listing.url, glob="a_b.txt") == ["a_b.txt"]
    assert _paths(anon, listing.url, glob="a?b.txt") == []
    assert _paths(anon, listing.url, glob="top") == []
    assert _paths(anon, listing.url, glob="top*") == ["top.txt"]


def test_order(listing: Listing, anon: httpx.Client) -> None:
    by_path = sorted(LAYOUT)
    assert _paths(anon, listing.url, order="path") == by_path
    assert _paths(anon, listing.url, order="-path") == by_path[::-1]
    assert _paths(anon, listing.url, order="created") == list(LAYOUT)
    assert _paths(anon, listing.url, order="-created") == list(LAYOUT)[::-1]
    assert _paths(anon, listing.url, order="modified") == list(LAYOUT)
    assert _paths(anon, listing.url, order="-modified") == list(LAYOUT)[::-1]
    r = anon.get(listing.url, params={"order": "size"})
    assert r.status_code == 400
    assert "order" in r.json()


def test_metadata_flag(listing: Listing, anon: httpx.Client) -> None:
    plain = anon.get(listing.url, params={"path": "top.txt"}).json()["results"][0]
    assert "metadata" not in plain
    full = anon.get(listing.url, params={"path": "top.txt", "metadata": "true"}).json()
    item = full["results"][0]
    assert item["metadata"] == listing.assets["top.txt"]["metadata"]
    assert item["metadata"]["foo"] == "top.txt"
    assert item["metadata"]["digest"][ETAG] == etag_of(listing.data["top.txt"])


def test_zarr_filter_lists_nothing(listing: Listing, anon: httpx.Client) -> None:
    page = anon.get(listing.url, params={"zarr": "true"}).json()
    assert page["results"] == []


def test_pages(listing: Listing, anon: httpx.Client) -> None:
    r = anon.get(listing.url, params={"page_size": 2, "order": "path"})
    page1 = r.json()
    assert page1["count"] == len(LAYOUT)
    assert len(page1["results"]) == 2
    assert is_page2_url(str(r.request.url), page1["next"])
    page2 = anon.get(page1["next"]).json()
    assert page2["count"] is None  # lazy pagination: the count is on page 1 only
    assert len(page2["results"]) == 2
    assert page2["previous"] is not None
    # The official client fetches pages 2..N itself with page=n.
    last = anon.get(listing.url, params={"page_size": 2, "order": "path", "page": 5}).json()
    assert len(last["results"]) == 1
    assert last["next"] is None
    assert last["count"] is None
    assert anon.get(listing.url, params={"page_size": 2, "page": 6}).status_code == 404
    assert anon.get(listing.url, params={"page": "x"}).status_code == 404
    assert anon.get(listing.url, params={"page_size": 1001}).status_code == 400


def test_next_links_through_many_pages(listing: Listing, anon: httpx.Client) -> None:
    seen = all_pages(anon, listing.url, {"page_size": 1, "order": "-path"})
    assert [a["path"] for a in seen] == sorted(LAYOUT, reverse=True)
    prefixed = all_pages(anon, listing.url, {"page_size": 1, "path": "sub/"})
    assert [a["path"] for a in prefixed] == [
        "sub/a.nwb",
        "sub/a.nwb.json",
        "sub/B.NWB",
        "sub/c/d.txt",
    ]
    globbed = all_pages(anon, listing.url, {"page_size": 2, "glob": "*.nwb", "metadata": "1"})
    assert len(globbed) == 4
    assert all("metadata" in a for a in globbed)


def test_list_of_unknown_dandiset_is_404(anon: httpx.Client) -> None:
    assert anon.get(assets_url("999999")).status_code == 404


# -- read ------------------------------------------------------------------------------------
def test_get_asset_metadata_and_info(listing: Listing, anon: httpx.Client) -> None:
    a = listing.assets["sub/c/d.txt"]
    aid = a["asset_id"]
    md = anon.get(f"{listing.url}{aid}/")
    assert md.status_code == 200
    assert md.json() == a["metadata"]
    assert md.json()["path"] == "sub/c/d.txt"
    info = anon.get(f"{listing.url}{aid}/info/")
    assert info.status_code == 200
    assert info.json() == a
    assert anon.get(f"assets/{aid}/").json() == a["metadata"]
    assert anon.get(f"assets/{aid}/info/").json() == a
    assert anon.get(f"assets/{aid}/info").json() == a
    assert anon.head(f"assets/{aid}/info/").status_code == 200
    v = anon.get(f"{listing.url}{aid}/validation/")
    assert v.status_code == 200
    assert {"status", "validation_errors"} <= v.json().keys()


def test_unknown_assets_are_404(listing: Listing, anon: httpx.Client, alice: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    for url in (
        f"{listing.url}{missing}/",
        f"{listing.url}{missing}/info/",
        f"assets/{missing}/",
        f"assets/{missing}/info/",
        f"assets/{missing}/download/",
        "assets/not-a-uuid/",
    ):
        r = anon.get(url)
        assert r.status_code == 404, url
    # An asset is only found in the versions that hold it.
    other = create_dandiset(alice)
    aid = listing.assets["top.txt"]["asset_id"]
    assert anon.get(f"{assets_url(other)}{aid}/").status_code == 404
    assert alice.delete(f"{assets_url(other)}{aid}/").status_code == 404


# -- replace and delete ----------------------------------------------------------------------
def test_put_with_changed_metadata_makes_a_new_asset(
    alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(100)
    old = upload_asset(alice, dandiset, "x/a.bin", data, {"v": 1})
    url = assets_url(dandiset)
    r = alice.put(
        f"{url}{old['asset_id']}/",
        json={"metadata": {"path": "x/a.bin", "v": 2}, "blob_id": old["blob"]},
    )
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["asset_id"] != old["asset_id"]
    assert new["path"] == "x/a.bin"
    assert new["metadata"]["v"] == 2
    assert anon.get(f"{url}{old['asset_id']}/").status_code == 404
    assert anon.get(f"{url}{new['asset_id']}/").json()["v"] == 2
    assert [a["asset_id"] for a in all_pages(anon, url)] == [new["asset_id"]]
    d = anon.get(f"dandisets/{dandiset}/").json()["draft_version"]
    assert (d["asset_count"], d["size"]) == (1, len(data))
    # The old id no longer takes writes in this draft.
    gone = alice.put(
        f"{url}{old['asset_id']}/", json={"metadata": {"path": "x/a.bin"}, "blob_id": old["blob"]}
    )
    assert gone.status_code == 404


def test_put_with_a_new_path_renames(
    alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    old = upload_asset(alice, dandiset, "old/name.bin", random_bytes(100))
    url = assets_url(dandiset)
    body = {"metadata": {**old["metadata"], "path": "new/name.bin"}, "blob_id": old["blob"]}
    r = alice.put(f"{url}{old['asset_id']}/", json=body)
    assert r.status_code == 200, r.text
    new = r.json()
    assert new["asset_id"] != old["asset_id"]
    assert new["path"] == "new/name.bin"
    assert [a["path"] for a in all_pages(anon, url)] == ["new/name.bin"]
    root = anon.get(f"{url}paths/").json()
    assert [p["path"] for p in root["results"]] == ["new"]
    assert anon.get(f"{url}paths/", params={"path_prefix": "old"}).status_code == 404


def test_put_with_a_new_blob(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    old = upload_asset(alice, dandiset, "f.bin", random_bytes(100))
    data = random_bytes(300)
    blob_id = upload_blob(alice, dandiset, data)
    r = alice.put(
        f"{assets_url(dandiset)}{old['asset_id']}/",
        json={"metadata": {"path": "f.bin"}, "blob_id": blob_id},
    )
    assert r.status_code == 200
    assert r.json()["asset_id"] != old["asset_id"]
    assert r.json()["size"] == 300
    assert anon.get(f"dandisets/{dandiset}/").json()["draft_version"]["size"] == 300


def test_unchanged_put_returns_the_same_asset(alice: httpx.Client, dandiset: str) -> None:
    old = upload_asset(alice, dandiset, "same.bin", random_bytes(100), {"v": 1})
    # As the official client does: send back the full metadata it read.
    body = {"metadata": old["metadata"], "blob_id": old["blob"]}
    r = alice.put(f"{assets_url(dandiset)}{old['asset_id']}/", json=body)
    assert r.status_code == 200
    same = r.json()
    assert same["asset_id"] == old["asset_id"]
    assert (same["path"], same["blob"], same["modified"]) == (
        old["path"],
        old["blob"],
        old["modified"],
    )
    assert same["metadata"]["v"] == 1


def test_put_onto_a_taken_path_is_409(alice: httpx.Client, dandiset: str) -> None:
    one = upload_asset(alice, dandiset, "one.bin", random_bytes(100))
    upload_asset(alice, dandiset, "two.bin", random_bytes(100))
    url = f"{assets_url(dandiset)}{one['asset_id']}/"
    r = alice.put(url, json={"metadata": {"path": "two.bin"}, "blob_id": one["blob"]})
    assert r.status_code == 409
    r = alice.put(url, json={"metadata": {"path": "two.bin/x"}, "blob_id": one["blob"]})
    assert r.status_code == 409
    r = alice.put(url, json={"metadata": {"path": "/abs"}, "blob_id": one["blob"]})
    assert r.status_code == 400
    # Nothing moved.
    assert alice.get(f"{url}").json()["path"] == "one.bin"


def test_delete(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    keep = upload_asset(alice, dandiset, "d/keep.bin", random_bytes(10))
    drop = upload_asset(alice, dandiset, "d/e/drop.bin", random_bytes(20))
    url = assets_url(dandiset)
    r = alice.delete(f"{url}{drop['asset_id']}/")
    assert r.status_code == 204
    assert r.content == b""
    assert anon.get(f"{url}{drop['asset_id']}/").status_code == 404
    assert alice.delete(f"{url}{drop['asset_id']}/").status_code == 404
    assert [a["asset_id"] for a in all_pages(anon, url)] == [keep["asset_id"]]
    d = anon.get(f"dandisets/{dandiset}/").json()["draft_version"]
    assert (d["asset_count"], d["size"]) == (1, 10)
    # The emptied folder is gone from the tree; the path can be used again.
    assert anon.get(f"{url}paths/", params={"path_prefix": "d/e"}).status_code == 404
    again = add_asset(alice, dandiset, "d/e/drop.bin", drop["blob"])
    assert again.status_code == 200


# -- the folder browser ----------------------------------------------------------------------
def test_paths(listing: Listing, anon: httpx.Client) -> None:
    url = f"{listing.url}paths/"
    root = anon.get(url)
    assert root.status_code == 200
    page = root.json()
    assert page["count"] == 6
    entries = {p["path"]: p for p in page["results"]}
    assert list(entries) == sorted(entries)
    assert set(entries) == {"Sub2", "a_b.txt", "axb.txt", "sub", "sub.nwb", "top.txt"}
    sub = entries["sub"]
    assert sub["asset"] is None
    assert sub["aggregate_files"] == 4
    assert sub["aggregate_size"] == sum(v for k, v in LAYOUT.items() if k.startswith("sub/"))
    assert isinstance(sub["version"], int)
    top = entries["top.txt"]
    assert top["aggregate_files"] == 1
    assert top["aggregate_size"] == LAYOUT["top.txt"]
    assert top["asset"]["asset_id"] == listing.assets["top.txt"]["asset_id"]
    assert top["asset"]["url"] == listing.assets["top.txt"]["metadata"]["contentUrl"][1]
    children = anon.get(url, params={"path_prefix": "sub"}).json()
    assert [p["path"] for p in children["results"]] == [
        "sub/B.NWB",
        "sub/a.nwb",
        "sub/a.nwb.json",
        "sub/c",
    ]
    assert anon.get(url, params={"path_prefix": "sub/"}).json() == children
    deep = anon.get(url, params={"path_prefix": "sub/c"}).json()
    assert [(p["path"], p["aggregate_files"]) for p in deep["results"]] == [("sub/c/d.txt", 1)]
    paged = anon.get(url, params={"page_size": 4}).json()
    assert paged["count"] == 6
    assert paged["next"] is not None
    assert len(anon.get(paged["next"]).json()["results"]) == 2
    assert anon.get(url, params={"path_prefix": "nope"}).status_code == 404
    assert anon.get(url, params={"path_prefix": "top.txt"}).status_code == 404  # a file


def test_version_totals(listing: Listing, anon: httpx.Client) -> None:
    d = anon.get(f"dandisets/{listing.identifier}/").json()["draft_version"]
    assert d["asset_count"] == len(LAYOUT)
    assert d["size"] == sum(LAYOUT.values())
    assert re.fullmatch(r"\d{6}", listing.identifier)


def test_non_ascii_paths(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    a = upload_asset(alice, dandiset, "Données/Été 日本.nwb", random_bytes(10))
    url = assets_url(dandiset)
    assert a["path"] == "Données/Été 日本.nwb"
    assert _paths(anon, url, path="données/é") == ["Données/Été 日本.nwb"]
    assert _paths(anon, url, glob="*日本*") == ["Données/Été 日本.nwb"]
    children = anon.get(f"{url}paths/", params={"path_prefix": "Données"}).json()
    assert [p["path"] for p in children["results"]] == ["Données/Été 日本.nwb"]


def test_concurrent_creates_of_one_path(
    archive: Archive, alice: httpx.Client, dandiset: str
) -> None:
    blob_id = upload_blob(alice, dandiset, random_bytes(10))
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def create() -> None:
        with client(archive.api_url, archive.user_token) as c:
            barrier.wait()
            statuses.append(add_asset(c, dandiset, "race/same.bin", blob_id).status_code)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    assert alice.get(f"dandisets/{dandiset}/").json()["draft_version"]["asset_count"] == 1

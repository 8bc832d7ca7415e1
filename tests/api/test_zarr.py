"""DANDI's Zarr API over real HTTP: shapes, status codes, error texts, key URLs, assets."""

from __future__ import annotations

import hashlib
import re
import uuid
from pathlib import Path

import httpx
import pytest
import zarr

from tests.api.embargo_helpers import create_embargoed
from tests.api.helpers import create_dandiset, wait_for
from tests.conftest import Archive
from tests.support.zarrs import (
    add_zarr_asset,
    b64md5,
    create_zarr,
    finalize,
    list_all,
    local_checksum,
    local_files,
    make_zarr,
    upload_files,
)

INGEST_ERROR = "Zarr archive is currently ingesting or has already ingested"


@pytest.fixture
def uploaded(alice: httpx.Client, dandiset: str, tmp_path: Path) -> tuple[str, Path]:
    """A finalized Zarr made with zarr-python: (zarr_id, local folder)."""
    local = make_zarr(tmp_path / "sample.zarr")
    zarr_id = create_zarr(alice, dandiset, "sample.zarr")
    upload_files(alice, zarr_id, local_files(local))
    finalize(alice, zarr_id)
    return zarr_id, local


# -- archives ----------------------------------------------------------------------------------
def test_create_get_list(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    r = alice.post("zarr/", json={"name": "a/b.zarr", "dandiset": dandiset})
    assert r.status_code == 200
    z = r.json()
    assert z == {
        "name": "a/b.zarr",
        "dandiset": dandiset,
        "zarr_id": z["zarr_id"],
        "status": "Pending",
        "checksum": None,
        "file_count": 0,
        "size": 0,
    }
    assert str(uuid.UUID(z["zarr_id"])) == z["zarr_id"]
    assert anon.get(f"zarr/{z['zarr_id']}/").json() == z
    again = alice.post("zarr/", json={"name": "a/b.zarr", "dandiset": dandiset})
    assert again.status_code == 400
    assert "dandiset, name must make a unique set" in again.text
    listed = anon.get("zarr/", params={"dandiset": dandiset, "name": "a/b.zarr"}).json()
    assert listed["count"] == 1 and listed["results"] == [z]
    create_zarr(alice, dandiset, "c.zarr")
    page = anon.get("zarr/", params={"dandiset": dandiset, "page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and "page=2" in page["next"]


def test_create_needs_an_owner(
    alice: httpx.Client, admin: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    other = create_dandiset(admin)
    assert alice.post("zarr/", json={"name": "x.zarr", "dandiset": other}).status_code == 403
    assert anon.post("zarr/", json={"name": "x.zarr", "dandiset": dandiset}).status_code == 401
    assert alice.post("zarr/", json={"name": "/x.zarr", "dandiset": dandiset}).status_code == 400
    assert alice.get(f"zarr/{uuid.uuid4()}/").status_code == 404
    assert alice.get("zarr/not-a-uuid/").status_code == 404


def test_delete_an_unused_zarr(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "gone.zarr")
    upload_files(alice, zarr_id, {"k": b"v"})
    assert alice.delete(f"zarr/{zarr_id}/").status_code == 204
    assert alice.get(f"zarr/{zarr_id}/").status_code == 404
    # the name is free again
    create_zarr(alice, dandiset, "gone.zarr")


# -- files ---------------------------------------------------------------------------------------
def test_upload_list_finalize(
    alice: httpx.Client, anon: httpx.Client, uploaded: tuple[str, Path]
) -> None:
    zarr_id, local = uploaded
    files = local_files(local)
    z = anon.get(f"zarr/{zarr_id}/").json()
    assert z["status"] == "Complete"
    assert z["checksum"] == local_checksum(local)
    assert z["file_count"] == len(files)
    assert z["size"] == sum(len(v) for v in files.values())
    entries = list_all(anon, zarr_id, limit=3)
    assert [e["Key"] for e in entries] == sorted(files)
    for e in entries:
        assert set(e) == {"Key", "LastModified", "ETag", "Size"}
        assert e["ETag"] == hashlib.md5(files[e["Key"]]).hexdigest()
        assert e["Size"] == len(files[e["Key"]])
    sub = anon.get(f"zarr/{zarr_id}/files/", params={"prefix": "sub/"}).json()
    assert sub["next"] is None
    assert [e["Key"] for e in sub["results"]] == sorted(k for k in files if k.startswith("sub/"))
    after = anon.get(f"zarr/{zarr_id}/files", params={"after": "data/0.0"}).json()["results"]
    assert [e["Key"] for e in after] == sorted(k for k in files if k > "data/0.0")


def test_download_redirect(anon: httpx.Client, uploaded: tuple[str, Path]) -> None:
    zarr_id, local = uploaded
    r = anon.get(f"zarr/{zarr_id}/files/", params={"prefix": "data/0.0", "download": "true"})
    assert r.status_code == 302
    got = httpx.get(r.headers["Location"])
    assert got.content == (local / "data" / "0.0").read_bytes()
    head = anon.head(f"zarr/{zarr_id}/files/", params={"prefix": ".zattrs", "download": "true"})
    assert head.status_code == 302
    missing = anon.get(f"zarr/{zarr_id}/files/", params={"prefix": "nope", "download": "true"})
    assert missing.status_code == 404


def test_key_urls(archive: Archive, uploaded: tuple[str, Path]) -> None:
    zarr_id, local = uploaded
    base = f"{archive.url}/zarr/{zarr_id}/"
    chunk = (local / "data" / "0.0").read_bytes()
    r = httpx.get(base + "data/0.0")
    assert r.status_code == 200 and r.content == chunk
    assert r.headers["ETag"] == f'"{hashlib.md5(chunk).hexdigest()}"'
    part = httpx.get(base + "data/0.0", headers={"Range": "bytes=2-9"})
    assert part.status_code == 206 and part.content == chunk[2:10]
    head = httpx.head(base + ".zattrs")
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str((local / ".zattrs").stat().st_size)
    assert head.headers["Content-Type"].startswith("application/json")
    assert httpx.get(base + "data/9.9").status_code == 404
    group = zarr.open_group(base, mode="r")
    assert group.attrs["description"] == "neuropil test zarr 0"
    assert group["data"][3, 40:45].tolist() == list(range(340, 345))
    assert group["sub/noise"].shape == (4, 4)


def test_upload_url_checks_content_md5(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "md5.zarr")
    upload_files(alice, zarr_id, {"k": b"original"})
    (url,) = alice.post(
        f"zarr/{zarr_id}/files/", json=[{"path": "k", "base64md5": b64md5(b"new")}]
    ).json()
    wrong_body = httpx.put(url, content=b"other", headers={"Content-MD5": b64md5(b"new")})
    assert wrong_body.status_code == 400 and "BadDigest" in wrong_body.text
    no_header = httpx.put(url, content=b"new")
    assert no_header.status_code == 400
    tampered = httpx.put(url.replace("X-Np-Content-MD5=", "X-Np-Content-MD5=A"), content=b"new")
    assert tampered.status_code == 403
    # nothing half-written: the old file is intact
    (entry,) = list_all(alice, zarr_id)
    assert entry["ETag"] == hashlib.md5(b"original").hexdigest()


@pytest.mark.parametrize("path", ["../escape", "a/../b", "/abs", "a//b", "a/./b", "", "trailing/"])
def test_bad_keys_are_refused(alice: httpx.Client, dandiset: str, path: str) -> None:
    zarr_id = create_zarr(alice, dandiset, f"bad-{uuid.uuid4().hex[:6]}.zarr")
    r = alice.post(f"zarr/{zarr_id}/files/", json=[{"path": path, "base64md5": b64md5(b"")}])
    assert r.status_code == 400, r.text
    assert list_all(alice, zarr_id) == []


def test_file_and_folder_clash(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "clash.zarr")
    upload_files(alice, zarr_id, {"a": b"file", "d/x": b"in d"})
    for path in ("a/b", "d"):
        r = alice.post(f"zarr/{zarr_id}/files/", json=[{"path": path, "base64md5": b64md5(b"")}])
        assert r.status_code == 400 and "conflicts" in r.text
    both = [{"path": "e", "base64md5": b64md5(b"")}, {"path": "e/f", "base64md5": b64md5(b"")}]
    assert alice.post(f"zarr/{zarr_id}/files/", json=both).status_code == 400


def test_delete_files(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "del.zarr")
    upload_files(alice, zarr_id, {"a": b"1", "b/c": b"2", "b/d": b"3"})
    before = finalize(alice, zarr_id)
    missing = alice.request(
        "DELETE", f"zarr/{zarr_id}/files/", json=[{"path": "b/c"}, {"path": "x"}]
    )
    assert missing.status_code == 400
    assert [e["Key"] for e in list_all(alice, zarr_id)] == ["a", "b/c", "b/d"]
    r = alice.request("DELETE", f"zarr/{zarr_id}/files/", json=[{"path": "b/c"}])
    assert r.status_code == 204
    assert alice.get(f"zarr/{zarr_id}/").json()["status"] == "Pending"
    after = finalize(alice, zarr_id)
    assert after["file_count"] == 2 and after["checksum"] != before["checksum"]


def test_finalize_rules(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "fin.zarr")
    empty = alice.post(f"zarr/{zarr_id}/finalize/")
    assert empty.status_code == 400 and "no files" in empty.text
    upload_files(alice, zarr_id, {"k": b"v"})
    finalize(alice, zarr_id)
    again = alice.post(f"zarr/{zarr_id}/finalize/")
    assert again.status_code == 400 and INGEST_ERROR in again.text


def test_non_owner_cannot_change(
    alice: httpx.Client, admin: httpx.Client, archive: Archive
) -> None:
    theirs = create_dandiset(admin)
    zarr_id = create_zarr(admin, theirs, "theirs.zarr")
    body = [{"path": "k", "base64md5": b64md5(b"v")}]
    assert alice.post(f"zarr/{zarr_id}/files/", json=body).status_code == 403
    assert alice.post(f"zarr/{zarr_id}/finalize/").status_code == 403
    assert alice.delete(f"zarr/{zarr_id}/").status_code == 403
    anon_put = httpx.post(f"{archive.api_url}/zarr/{zarr_id}/files/", json=body)
    assert anon_put.status_code == 401


def test_an_embargoed_dandisets_zarr_is_read_by_its_readers_only(
    alice: httpx.Client,
    bob: httpx.Client,
    anon: httpx.Client,
    archive: Archive,
    tmp_path: Path,
) -> None:
    secret = create_embargoed(alice, "embargoed zarr")
    local = make_zarr(tmp_path / "secret.zarr")
    zarr_id = create_zarr(alice, secret, "secret.zarr")
    upload_files(alice, zarr_id, local_files(local))
    finalize(alice, zarr_id)
    add_zarr_asset(alice, secret, "secret.zarr", zarr_id)
    download = {"prefix": ".zattrs", "download": "true"}
    for c, status in ((alice, 200), (bob, 403), (anon, 401)):
        assert c.get(f"zarr/{zarr_id}/").status_code == status
        assert c.get(f"zarr/{zarr_id}/files/").status_code == status
        assert c.get(f"zarr/{zarr_id}/archive/").status_code == status
        assert c.get(f"{archive.url}/zarr/{zarr_id}/.zattrs").status_code == status
        assert c.get(f"zarr/{zarr_id}/files/", params=download).status_code == (
            302 if status == 200 else status
        )
        listed = c.get("zarr/", params={"dandiset": secret}).json()["results"]
        assert [z["zarr_id"] for z in listed] == ([zarr_id] if status == 200 else [])


# -- assets ---------------------------------------------------------------------------------------
def test_zarr_asset(
    alice: httpx.Client, anon: httpx.Client, dandiset: str, uploaded: tuple[str, Path]
) -> None:
    zarr_id, local = uploaded
    asset = add_zarr_asset(alice, dandiset, "sample.zarr", zarr_id)
    assert asset["zarr"] == zarr_id and asset["blob"] is None
    md = asset["metadata"]
    assert md["digest"] == {"dandi:dandi-zarr-checksum": local_checksum(local)}
    assert md["encodingFormat"] == "application/x-zarr"
    assert md["contentSize"] == asset["size"] > 0
    assert md["contentUrl"][1].endswith(f"/zarr/{zarr_id}/")
    base = f"dandisets/{dandiset}/versions/draft/assets/"
    only = anon.get(base, params={"zarr": "true"}).json()
    assert [a["asset_id"] for a in only["results"]] == [asset["asset_id"]]
    paths = anon.get(base + "paths/").json()["results"]
    (entry,) = [p for p in paths if p["path"] == "sample.zarr"]
    assert entry["aggregate_size"] == asset["size"]
    assert entry["asset"]["url"].endswith(f"/zarr/{zarr_id}/")
    download = anon.get(f"assets/{asset['asset_id']}/download/")
    assert download.status_code == 400 and "Zarr" in download.text
    status = wait_for(
        lambda: anon.get(base + f"{asset['asset_id']}/validation/").json()["status"] == "Valid"
    )
    assert status


def test_zarr_asset_rules(alice: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "rules.zarr")
    other = create_dandiset(alice)
    base = f"dandisets/{other}/versions/draft/assets/"
    wrong = alice.post(base, json={"metadata": {"path": "rules.zarr"}, "zarr_id": zarr_id})
    assert wrong.status_code == 400 and "belongs to dandiset" in wrong.text
    unknown = alice.post(base, json={"metadata": {"path": "x.zarr"}, "zarr_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    both = {"metadata": {"path": "x.zarr"}, "zarr_id": zarr_id, "blob_id": str(uuid.uuid4())}
    assert alice.post(base, json=both).status_code == 400
    add_zarr_asset(alice, dandiset, "dir/rules.zarr", zarr_id)
    clash = alice.post(
        f"dandisets/{dandiset}/versions/draft/assets/",
        json={"metadata": {"path": "dir/rules.zarr/inner"}, "zarr_id": zarr_id},
    )
    assert clash.status_code == 409


def test_web_file_page_shows_the_zarr(
    alice: httpx.Client, archive: Archive, dandiset: str, uploaded: tuple[str, Path]
) -> None:
    zarr_id, local = uploaded
    add_zarr_asset(alice, dandiset, "sample.zarr", zarr_id)
    page = httpx.get(f"{archive.url}/dandiset/{dandiset}/draft/files?location=sample.zarr")
    assert page.status_code == 200
    html = page.text
    assert f'<dd id="zarr-files">{len(local_files(local))}</dd>' in html
    assert local_checksum(local) in html
    assert "neuropil test zarr 0" in html  # from .zattrs
    assert f"neuropil.open_zarr(&#34;{archive.url}/zarr/{zarr_id}/&#34;)" in html or (
        f'neuropil.open_zarr("{archive.url}/zarr/{zarr_id}/")' in html
    )
    assert 'id="download-link"' not in html
    assert "Open with vizarr (OME-Zarr)" in html  # the viewer reads the key URL
    assert f"https://hms-dbmi.github.io/vizarr/?source={archive.url}/zarr/{zarr_id}/" in html
    # In its folder's listing the Zarr opens its page: it has no single-file download.
    listing = httpx.get(f"{archive.url}/dandiset/{dandiset}/draft/files").text
    row_re = r'<tr class="file">\s*<td><a href="\?location=sample\.zarr">.*?</tr>'
    row = re.search(row_re, listing, re.S)
    assert row is not None, listing[-2000:]
    assert ">open</a>" in row.group(0) and "download" not in row.group(0)


def test_a_dandiset_with_zarrs_can_be_deleted(alice: httpx.Client) -> None:
    ident = create_dandiset(alice)
    zarr_id = create_zarr(alice, ident, "doomed.zarr")
    upload_files(alice, zarr_id, {"k": b"v"})
    add_zarr_asset(alice, ident, "doomed.zarr", zarr_id)
    assert alice.delete(f"zarr/{zarr_id}/").status_code == 400  # an asset uses it
    assert alice.delete(f"dandisets/{ident}/").status_code == 204
    assert alice.get(f"zarr/{zarr_id}/").status_code == 404


def test_the_drafts_summary_counts_the_zarrs_bytes(
    alice: httpx.Client, dandiset: str, uploaded: tuple[str, Path]
) -> None:
    zarr_id, local = uploaded
    asset = add_zarr_asset(alice, dandiset, "sample.zarr", zarr_id)
    size = sum(len(v) for v in local_files(local).values())
    assert asset["size"] == size

    def summary() -> dict[str, object] | None:
        md = alice.get(f"dandisets/{dandiset}/versions/draft/").json()
        got: dict[str, object] = md.get("assetsSummary") or {}
        return got if got.get("numberOfBytes") else None

    counted = wait_for(summary)
    assert counted["numberOfBytes"] == size and counted["numberOfFiles"] == 1

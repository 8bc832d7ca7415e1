"""neuropil's tar batches of Zarr files (``/api/zarr/<id>/archive/``), over real HTTP: the
same rules as upload URLs and PUTs, every file checked against its md5, and ranges of the
listing as one tar, for live Zarrs and published snapshots alike."""

from __future__ import annotations

import hashlib
import io
import tarfile

import httpx
import pytest

from tests.api.helpers import create_dandiset
from tests.support.zarrs import create_zarr, finalize, list_all, upload_files

FILES = {".zgroup": b'{"zarr_format": 2}', "a/0": b"zero", "a/1": b"one" * 1000, "b": b""}


def tar_of(files: dict[str, bytes], md5s: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for key, data in files.items():
            info = tarfile.TarInfo(key)
            info.size = len(data)
            md5 = (md5s or {}).get(key, hashlib.md5(data).hexdigest())
            info.pax_headers = {"NEUROPIL.md5": md5}
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def post(c: httpx.Client, zarr_id: str, body: bytes) -> httpx.Response:
    return c.post(
        f"zarr/{zarr_id}/archive/", content=body, headers={"Content-Type": "application/x-tar"}
    )


def files_of(c: httpx.Client, zarr_id: str, **params: object) -> dict[str, bytes]:
    r = c.get(f"zarr/{zarr_id}/archive/", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.content)) as tar:
        out = {}
        for m in tar.getmembers():
            data = tar.extractfile(m).read()  # type: ignore[union-attr]
            assert m.pax_headers["NEUROPIL.md5"] == hashlib.md5(data).hexdigest()
            out[m.name] = data
        return out


def test_a_batch_in_and_ranges_out(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    zarr_id = create_zarr(alice, dandiset, "bulk.zarr")
    r = post(alice, zarr_id, tar_of(FILES))
    assert r.status_code == 200 and r.json() == {"files": len(FILES)}
    listed = {e["Key"]: (e["ETag"], e["Size"]) for e in list_all(alice, zarr_id)}
    assert listed == {k: (hashlib.md5(v).hexdigest(), len(v)) for k, v in FILES.items()}
    assert files_of(anon, zarr_id) == FILES
    assert list(files_of(anon, zarr_id, after=".zgroup", limit=2)) == ["a/0", "a/1"]
    assert list(files_of(anon, zarr_id, prefix="a/")) == ["a/0", "a/1"]
    z = finalize(alice, zarr_id)
    assert z["file_count"] == len(FILES)
    # A Complete Zarr that takes a batch goes back to Pending, as after upload URLs.
    assert post(alice, zarr_id, tar_of({"a/0": b"new zero"})).status_code == 200
    assert alice.get(f"zarr/{zarr_id}/").json()["status"] == "Pending"
    assert files_of(anon, zarr_id, prefix="a/0") == {"a/0": b"new zero"}


@pytest.mark.parametrize(
    ("files", "md5s", "message"),
    [
        ({"a/0": b"bytes"}, {"a/0": hashlib.md5(b"other").hexdigest()}, "BadDigest"),
        ({"a/0": b"bytes"}, {"a/0": ""}, "NEUROPIL.md5"),
        ({"../x": b"bytes"}, None, "'..'"),
        ({"a/0/deeper": b"bytes"}, None, "conflicts"),
    ],
)
def test_a_bad_file_is_refused_and_leaves_the_old_one(
    alice: httpx.Client,
    dandiset: str,
    files: dict[str, bytes],
    md5s: dict[str, str] | None,
    message: str,
) -> None:
    zarr_id = create_zarr(alice, dandiset, f"bad-{abs(hash(message))}.zarr")
    upload_files(alice, zarr_id, {"a/0": b"old"})
    r = post(alice, zarr_id, tar_of(files, md5s))
    assert r.status_code in (400, 409) and message in r.text, r.text
    assert files_of(alice, zarr_id) == {"a/0": b"old"}


def test_only_files_only_owners_never_while_ingesting(
    alice: httpx.Client, admin: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    zarr_id = create_zarr(alice, dandiset, "rules.zarr")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    assert post(alice, zarr_id, out.getvalue()).status_code == 400
    assert post(alice, zarr_id, b"not a tar at all" * 64).status_code == 400
    assert post(anon, zarr_id, tar_of(FILES)).status_code == 401
    other = create_zarr(admin, create_dandiset(admin), "theirs.zarr")
    assert post(alice, other, tar_of(FILES)).status_code == 403
    assert post(alice, zarr_id, tar_of(FILES)).status_code == 200
    assert alice.post(f"zarr/{zarr_id}/finalize/").status_code == 204
    during = post(alice, zarr_id, tar_of(FILES))
    if during.status_code != 200:  # refused while the ingest has not finished
        assert "ingesting" in during.text

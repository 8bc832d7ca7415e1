"""A real ``neuropil serve`` with its blobs in S3 (``NEUROPIL_STORAGE_URL=s3://...``), used by the
official DANDI client as DANDI is: parts go straight to the bucket, downloads redirect to it.

The S3 server is ``NEUROPIL_TEST_S3_URL``'s or a ``moto_server`` process (tests/support/s3.py),
spoken to in plain S3. The bucket lets anyone read, as DANDI's does, so the unsigned object
URLs (``contentUrl``, the index's) work.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pytest
import remfile
from dandi.dandiapi import DandiAPIClient, RemoteBlobAsset
from dandi.support.digests import get_dandietag

import neuropil
from neuropil.config import Settings
from neuropil.services import gc
from neuropil.services.context import make_context
from tests.api.helpers import wait_for
from tests.conftest import Archive
from tests.support.nwb import NwbSet, make_organized_set, sha256_file, stage_dandiset
from tests.support.s3 import S3Server, s3_server
from tests.support.server import ServerProcess
from tests.test_official_client import METADATA, SERIES, DandiCli

PREFIX = "archive"
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore")]  # (pynwb/hdmf chatter)


@dataclass
class S3Archive:
    """The archive, the bucket behind it and what was uploaded."""

    archive: Archive
    s3: S3Server
    bucket: str
    identifier: str
    local: NwbSet
    dandi_home: Path

    def dandi(self) -> DandiCli:
        return DandiCli(self.archive, self.dandi_home)

    @property
    def url(self) -> str:
        return f"{self.archive.api_url}/dandisets/{self.identifier}/"

    def objects(self, under: str = "blobs/") -> dict[str, str]:
        """Key -> ETag of the bucket's objects under the archive's ``under``."""
        pages = self.s3.client().get_paginator("list_objects_v2")
        found = {}
        for page in pages.paginate(Bucket=self.bucket, Prefix=f"{PREFIX}/{under}"):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = obj["ETag"].strip('"')
        return found

    def part_puts(self) -> list[str]:
        """The part PUT request lines the S3 server logged (moto only)."""
        lines = ANSI.sub("", self.s3.log()).splitlines()
        return [
            line
            for line in lines
            if f'"PUT /{self.bucket}/{PREFIX}/blobs/' in line
            and "partNumber=" in line
            and "uploadId=" in line
        ]


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def site(s3: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Archive]:
    """The server, and a dandiset filled by ``dandi upload``."""
    bucket = s3.new_bucket()
    s3.allow_public_read(bucket, PREFIX)
    tmp = tmp_path_factory.mktemp("s3-archive")
    env = {"NEUROPIL_STORAGE_URL": f"s3://{bucket}/{PREFIX}", **s3.env()}
    server = ServerProcess(tmp / "data", env=env)
    admin, user = server.add_user("admin", admin=True), server.add_user("alice")
    with server:
        archive = Archive(server, admin, user, "sqlite")
        with DandiAPIClient(archive.api_url, token=user) as c:
            ds = c.create_dandiset(f"in S3 {uuid.uuid4().hex[:8]}", METADATA)
        nwb = make_organized_set(tmp / "nwb")
        staged = stage_dandiset(nwb, tmp / "upload" / ds.identifier, ds.identifier)
        found = S3Archive(archive, s3, bucket, ds.identifier, staged, tmp / "dandi-home")
        found.dandi().upload(staged.root)
        yield found


@pytest.fixture
def client(site: S3Archive) -> Iterator[DandiAPIClient]:
    with DandiAPIClient(site.archive.api_url, token=site.archive.user_token) as c:
        yield c


def _assets(client: DandiAPIClient, site: S3Archive) -> dict[str, RemoteBlobAsset]:
    ds = client.get_dandiset(site.identifier, "draft")
    return {a.path: a for a in ds.get_assets() if isinstance(a, RemoteBlobAsset)}


def _blob(client: DandiAPIClient, path: Path) -> dict[str, Any]:
    etag = get_dandietag(path).as_str()
    found: dict[str, Any] = client.post(
        "/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": etag}
    )
    return found


def _redirect(site: S3Archive, asset: RemoteBlobAsset) -> str:
    r = httpx.head(f"{site.archive.api_url}/assets/{asset.identifier}/download/")
    assert r.status_code == 302
    return r.headers["location"]


# -- upload ---------------------------------------------------------------------------------------
def test_dandi_upload_sends_the_parts_to_s3(client: DandiAPIClient, site: S3Archive) -> None:
    assets = _assets(client, site)
    assert sorted(assets) == site.local.asset_paths
    objects = site.objects()
    assert len(objects) == len(assets)
    for path, asset in assets.items():
        local = site.local.local(path)
        assert asset.get_digest().value == get_dandietag(local).as_str()
        assert objects[_key(_blob(client, local))] == get_dandietag(local).as_str()
    # The bytes never passed through neuropil: no local store, the parts went to the bucket.
    assert not (site.archive.server.data_dir / "store").exists()
    if site.s3.moto:
        assert len(site.part_puts()) == len(assets)  # each file is one part (< 64 MiB)


def _key(blob: dict[str, Any]) -> str:
    b = str(blob["blob_id"])
    return f"{PREFIX}/blobs/{b[0:3]}/{b[3:6]}/{b}"


def test_the_upload_protocol_hands_out_s3_urls(site: S3Archive) -> None:
    """initialize -> PUT the parts to presigned S3 URLs -> complete (a presigned S3 POST) ->
    validate: what every DANDI client does, with neuropil out of the bytes' path."""
    data = uuid.uuid4().bytes * 1000
    blob = upload_directly(site, data)
    assert blob["size"] == len(data)
    assert site.objects()[_key(blob)] == md5_etag(data)


def upload_directly(site: S3Archive, data: bytes) -> dict[str, Any]:
    api = site.archive.api_url
    headers = {"Authorization": f"token {site.archive.user_token}"}
    etag = md5_etag(data)
    body = {
        "contentSize": len(data),
        "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
        "dandiset": site.identifier,
    }
    init = httpx.post(f"{api}/uploads/initialize/", json=body, headers=headers)
    assert init.status_code == 200, init.text
    (part,) = init.json()["parts"]
    assert part["upload_url"].startswith(f"{site.s3.endpoint}/{site.bucket}/{PREFIX}/blobs/")
    put = httpx.put(part["upload_url"], content=data)
    assert put.status_code == 200, put.text
    done = [{"part_number": 1, "size": len(data), "etag": put.headers["etag"]}]
    upload_id = init.json()["upload_id"]
    fin = httpx.post(f"{api}/uploads/{upload_id}/complete/", json={"parts": done}, headers=headers)
    assert fin.json()["complete_url"].startswith(f"{site.s3.endpoint}/{site.bucket}/")
    completed = httpx.post(fin.json()["complete_url"], content=fin.json()["body"])
    assert completed.status_code == 200 and etag in completed.text
    blob = httpx.post(f"{api}/uploads/{upload_id}/validate/", headers=headers)
    assert blob.status_code == 200, blob.text
    result: dict[str, Any] = blob.json()
    return result


def md5_etag(data: bytes) -> str:
    """The dandi-etag of a one-part blob."""
    return f"{hashlib.md5(hashlib.md5(data).digest()).hexdigest()}-1"


def test_reupload_is_deduplicated(client: DandiAPIClient, site: S3Archive) -> None:
    before, puts = site.objects(), len(site.part_puts())
    site.dandi().upload(site.local.root, "-e", "force")
    assert site.objects() == before
    assert len(site.part_puts()) == puts
    path = site.local.asset_paths[0]
    etag = get_dandietag(site.local.local(path)).as_str()
    r = httpx.post(
        f"{site.archive.api_url}/uploads/initialize/",
        json={
            "contentSize": site.local.local(path).stat().st_size,
            "digest": {"algorithm": "dandi:dandi-etag", "value": etag},
            "dandiset": site.identifier,
        },
        headers={"Authorization": f"token {site.archive.user_token}"},
    )
    assert r.status_code == 409
    assert r.headers["location"] == _assets(client, site)[path].blob


# -- download and streaming ---------------------------------------------------------------------
def test_dandi_download_gives_identical_bytes(site: S3Archive, tmp_path: Path) -> None:
    site.dandi().run("download", "-o", str(tmp_path), site.url)
    root = tmp_path / site.identifier
    for path, digest in site.local.digests().items():
        assert sha256_file(root / path) == digest, path


def test_download_redirects_to_a_presigned_s3_get(client: DandiAPIClient, site: S3Archive) -> None:
    path = site.local.asset_paths[0]
    asset = _assets(client, site)[path]
    location = _redirect(site, asset)
    assert location.startswith(f"{site.s3.endpoint}/{site.bucket}/{PREFIX}/blobs/")
    assert "X-Amz-Signature=" in location and "response-content-disposition=attachment" in location
    data = site.local.local(path).read_bytes()
    r = httpx.get(location, headers={"Range": "bytes=100-1099"})
    assert r.status_code == 206 and r.content == data[100:1100]
    assert r.headers["content-disposition"].startswith("attachment;")


def test_remfile_streams_from_the_presigned_url(client: DandiAPIClient, site: S3Archive) -> None:
    path = site.local.asset_paths[0]
    location = _redirect(site, _assets(client, site)[path])
    rows = slice(10_000, 10_500)
    with h5py.File(remfile.File(location), "r") as f:
        remote = np.asarray(f[SERIES][rows])
    with h5py.File(site.local.local(path), "r") as f:
        np.testing.assert_array_equal(remote, f[SERIES][rows])


# -- background work: sha256, index ---------------------------------------------------------------
def test_sha256_is_computed_from_the_bucket(client: DandiAPIClient, site: S3Archive) -> None:
    for path in site.local.asset_paths:
        local = site.local.local(path)
        sha = wait_for(lambda local=local: _blob(client, local)["sha256"], timeout=60)
        assert sha == sha256_file(local)


def test_the_index_is_built_and_points_at_the_bucket(
    client: DandiAPIClient, site: S3Archive
) -> None:
    path = site.local.asset_paths[0]
    asset = _assets(client, site)[path]
    url = f"{site.url}versions/draft/assets/{asset.identifier}/index/"
    index = wait_for(lambda: (r := httpx.get(url)).status_code == 200 and r.json(), timeout=60)
    assert json.dumps(index).count(f"{site.s3.endpoint}/{site.bucket}/{PREFIX}/blobs/") >= 1
    assert PREFIX + "/indexes/" in " ".join(site.objects("indexes/"))
    with (
        neuropil.Archive(site.archive.url, site.archive.user_token) as archive,
        archive.asset(asset.identifier).open() as f,
        h5py.File(site.local.local(path)) as h5,
    ):
        np.testing.assert_array_equal(f[SERIES][:100], h5[SERIES][:100])


# -- garbage collection ---------------------------------------------------------------------------
def test_gc_aborts_stale_uploads_and_deletes_unreferenced_objects(
    client: DandiAPIClient, site: S3Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in site.s3.env().items():
        monkeypatch.setenv(name, value)
    s3 = site.s3.client()
    orphan = f"{PREFIX}/blobs/000/000/{uuid.uuid4()}"
    s3.put_object(Bucket=site.bucket, Key=orphan, Body=b"no row names me")
    stale = s3.create_multipart_upload(Bucket=site.bucket, Key=f"{PREFIX}/blobs/000/000/x")
    unused = upload_directly(site, uuid.uuid4().bytes * 10)  # a blob no asset uses
    assert {orphan, _key(unused)} <= set(site.objects())

    settings = Settings(
        data_dir=site.archive.server.data_dir, storage_url=f"s3://{site.bucket}/{PREFIX}"
    )
    report = gc.collect(make_context(settings), grace=timedelta(0), retention=timedelta(0))

    assert report.orphan_objects >= 1 and report.orphan_multiparts >= 1 and report.blobs >= 1
    in_use = {_key({"blob_id": a.blob}) for a in _assets(client, site).values()}
    assert set(site.objects()) == in_use  # the live blobs are all there, and nothing else
    uploads = s3.list_multipart_uploads(Bucket=site.bucket, Prefix=PREFIX).get("Uploads", [])
    assert stale["UploadId"] not in [u["UploadId"] for u in uploads]


def test_an_empty_file_is_completed_by_neuropil(site: S3Archive) -> None:
    """S3 completes no upload of zero parts: that one complete URL is neuropil's own."""
    api = site.archive.api_url
    headers = {"Authorization": f"token {site.archive.user_token}"}
    empty = f"{hashlib.md5(b'').hexdigest()}-0"
    body = {
        "contentSize": 0,
        "digest": {"algorithm": "dandi:dandi-etag", "value": empty},
        "dandiset": site.identifier,
    }
    init = httpx.post(f"{api}/uploads/initialize/", json=body, headers=headers)
    assert init.status_code == 200, init.text
    assert init.json()["parts"] == []
    upload_id = init.json()["upload_id"]
    fin = httpx.post(f"{api}/uploads/{upload_id}/complete/", json={"parts": []}, headers=headers)
    assert fin.json()["complete_url"].startswith(f"{site.archive.url}/store/")
    completed = httpx.post(fin.json()["complete_url"], content=fin.json()["body"])
    assert completed.status_code == 200 and empty in completed.text
    blob = httpx.post(f"{api}/uploads/{upload_id}/validate/", headers=headers)
    assert blob.status_code == 200, blob.text
    assert (blob.json()["size"], blob.json()["etag"]) == (0, empty)
    assert _key(blob.json()) in site.objects()

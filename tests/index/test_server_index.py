"""Server-built indexes: built after upload, served per asset, named in the metadata, used by
``neuropil.open``, reused per blob, honest about files that have none, collected with blobs.

One real server (SQLite) for the module; requests are counted by a loopback proxy that keeps
the ``Host`` header, so the URLs the server builds (the index's blob URL included) point back
through it.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import h5py
import httpx
import numpy as np
import pytest

import neuropil
from neuropil.api.routes.indexes import index_response
from neuropil.client.upload_files import upload_file
from neuropil.config import Settings
from neuropil.core.ranges import ByteRange
from neuropil.db.migrate import upgrade
from neuropil.db.models import AssetBlob
from neuropil.db.types import utcnow
from neuropil.demo import make_nwb_files
from neuropil.errors import BlobChanged, InvalidHdf5, Unsupported
from neuropil.http.transport import Transport
from neuropil.index import IndexFile, build_index
from neuropil.reading import INDEX_RESOURCE_NAME, RemoteHdf5File
from neuropil.services import gc, indexes, schema
from neuropil.services import metadata as server_metadata
from neuropil.services.assets import AssetRecord
from neuropil.services.context import Context, make_context
from neuropil.services.metadata import publish_activity
from neuropil.storage import MemoryBlobStore, blob_key
from tests.api.helpers import wait_for
from tests.api.publishing import DANDISET_METADATA, publish_and_wait, wait_until_valid
from tests.conftest import Archive
from tests.index.compare import assert_same_file
from tests.stream.faults import StreamProxy, running_proxy
from tests.support.openapi import document
from tests.support.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

NWB_METADATA = {"schemaKey": "Asset", "encodingFormat": "application/x-nwb"}
SERIES = "acquisition/ElectricalSeries/data"


@dataclass
class Site:
    server: ServerProcess
    token: str
    files: list[Path]
    tmp: Path

    def transport(self) -> Transport:
        return Transport(self.server.api_url, self.token)

    def dandiset(self, t: Transport, metadata: dict[str, Any] | None = None) -> str:
        body = {"name": "indexes", "metadata": metadata or {}}
        return str(t.post_json("dandisets/", body)["identifier"])

    def upload(self, t: Transport, did: str, path: Path, asset_path: str) -> dict[str, Any]:
        return upload_file(
            t, dandiset_id=did, path=path, asset_path=asset_path, metadata=NWB_METADATA
        )

    def jobs(self, blob_id: str) -> list[tuple[str, int]]:
        """``(state, attempts)`` of the blob's index jobs, from the server's SQLite file."""
        db = sqlite3.connect(f"file:{self.server.data_dir / 'neuropil.db'}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT state, attempts FROM jobs WHERE kind = 'blob.index' AND dedup_key = ?",
                (f"blob.index:{blob_id}",),
            )
            return [(str(s), int(a)) for s, a in rows]
        finally:
            db.close()

    def wait_jobs(self, blob_id: str, expected: list[tuple[str, int]]) -> None:
        """The job's state is written just after the status object the API reads."""
        wait_for(lambda: self.jobs(blob_id) == expected, timeout=10, every=0.05)

    def index_objects(self) -> list[str]:
        root = Settings(data_dir=self.server.data_dir).blob_root / "objects" / "indexes"
        return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("server-index")
    files = make_nwb_files(tmp / "nwb")
    server = ServerProcess(tmp / "data")
    token = server.add_user("indexer", admin=True)
    with server:
        yield Site(server, token, files, tmp)


@pytest.fixture
def proxy(site: Site) -> Iterator[StreamProxy]:
    with running_proxy(site.server.url) as p:
        yield p


def index_answer(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=30)


def wait_built(url: str, timeout: float = 20.0) -> httpx.Response:
    """Poll the index endpoint until it answers something other than 503."""

    def ready() -> httpx.Response | None:
        r = index_answer(url)
        if r.status_code == 503:
            assert r.headers["retry-after"].isdigit()
            assert r.headers["x-neuropil-index-status"] == "building"
            return None
        return r

    return wait_for(ready, timeout=timeout, every=0.1)


@pytest.fixture(scope="module")
def uploaded(site: Site) -> dict[str, Any]:
    """The first demo file as an asset, with its index built."""
    with site.transport() as t:
        did = site.dandiset(t)
        asset = site.upload(t, did, site.files[0], "sub-01/sub-01_ecephys.nwb")
    r = wait_built(f"{site.server.api_url}/assets/{asset['asset_id']}/index/")
    assert r.status_code == 200, r.text
    document(site.server.api_url).check(r)
    return {"dandiset": did, **asset}


# -- built, served, named, used --------------------------------------------------------------
def test_the_index_is_served_with_the_blob_url_this_client_sees(
    site: Site, uploaded: dict[str, Any], proxy: StreamProxy
) -> None:
    url = f"{proxy.api_url}/assets/{uploaded['asset_id']}/index/"
    r = index_answer(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["content-encoding"] == "gzip"  # httpx accepts gzip by default
    assert r.headers["x-neuropil-index-status"] == "built"
    doc = r.json()
    md = httpx.get(f"{proxy.api_url}/assets/{uploaded['asset_id']}/").json()
    assert doc["templates"] == {"u1": md["contentUrl"][1]}  # the blob URL, no redirect
    assert md["contentUrl"][1].startswith(f"{proxy.url}/store/blobs/")
    expected = build_index(site.files[0], url=md["contentUrl"][1])
    assert doc == expected  # the server's index is the builder's, URL filled in

    # Behind a proxy that forwards its own host, the URL follows it.
    forwarded = index_answer(
        url, **{"X-Forwarded-Host": "data.example.org", "X-Forwarded-Proto": "https"}
    ).json()
    assert forwarded["templates"]["u1"].startswith("https://data.example.org/store/blobs/")
    assert forwarded["refs"] == doc["refs"]


def test_validators_and_encodings(uploaded: dict[str, Any], site: Site) -> None:
    url = f"{site.server.api_url}/assets/{uploaded['asset_id']}/index/"
    plain = index_answer(url, **{"Accept-Encoding": "identity"})
    zipped = httpx.get(url, headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert "content-encoding" not in plain.headers
    assert plain.headers["etag"] != zipped.headers["etag"]  # strong validators: exact bytes
    assert plain.json() == zipped.json()
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as raw:
        body = b"".join(raw.iter_raw())
    assert gzip.decompress(body) == plain.content
    assert len(body) < len(plain.content) * 0.7  # mostly base64 inline data
    for r in (plain, zipped):
        again = index_answer(url, **{"If-None-Match": r.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
    # Another base URL means another document, hence another validator.
    other = index_answer(url, **{"If-None-Match": plain.headers["etag"], "X-Forwarded-Host": "x.y"})
    assert other.status_code == 200


def test_the_nested_route_and_a_published_version(site: Site) -> None:
    with site.transport() as t:
        did = site.dandiset(t, DANDISET_METADATA)
        asset = site.upload(t, did, site.files[0], "sub-01/sub-01_ses-pub_ecephys.nwb")
        with httpx.Client(
            base_url=f"{site.server.api_url}/", headers={"Authorization": f"token {site.token}"}
        ) as c:
            wait_until_valid(c, did)
            version = publish_and_wait(c, did)
            md = c.get(f"dandisets/{did}/versions/{version}/assets/{asset['asset_id']}/").json()
    nested = f"{site.server.api_url}/dandisets/{did}/versions/{version}/assets/"
    r = index_answer(f"{nested}{asset['asset_id']}/index/")
    assert r.status_code == 200  # the same blob as the module's first upload: built already
    assert r.json()["templates"]["u1"] == md["contentUrl"][1]
    assert md["datePublished"]  # the published row is immutable; the entry is computed
    (entry,) = [e for e in md["relatedResource"] if e["name"] == INDEX_RESOURCE_NAME]
    assert entry["url"] == f"{site.server.api_url}/assets/{asset['asset_id']}/index/"
    missing = index_answer(f"{nested}00000000-0000-4000-8000-000000000000/index/")
    assert missing.status_code == 404


def test_the_metadata_names_the_index_and_still_validates(
    site: Site, uploaded: dict[str, Any]
) -> None:
    with site.transport() as t:
        md = t.get_json(f"assets/{uploaded['asset_id']}/")
        info = t.get_json(
            f"dandisets/{uploaded['dandiset']}/versions/draft/assets/{uploaded['asset_id']}/"
            "validation/"
        )
    entries = [e for e in md["relatedResource"] if e["name"] == INDEX_RESOURCE_NAME]
    assert entries == [
        {
            "schemaKey": "Resource",
            "name": INDEX_RESOURCE_NAME,
            "url": f"{site.server.api_url}/assets/{uploaded['asset_id']}/index/",
            "relation": "dcite:HasMetadata",
            "resourceType": "dcite:Dataset",
        }
    ]
    assert INDEX_RESOURCE_NAME == server_metadata.INDEX_RESOURCE_NAME
    # dandischema (pydantic and JSON schema) accepts it as published metadata.
    activity = publish_activity(utcnow(), "NEUROPIL")
    published = {**md, "publishedBy": activity, "datePublished": activity["startDate"]}
    assert schema.check(published, "PublishedAsset") == []
    assert info["status"] == "Valid", info  # the server validated it with the entry


def test_writing_back_read_metadata_keeps_one_entry(site: Site, uploaded: dict[str, Any]) -> None:
    with site.transport() as t:
        base = f"dandisets/{uploaded['dandiset']}/versions/draft/assets/"
        md = t.get_json(f"assets/{uploaded['asset_id']}/")
        md["relatedResource"].append(
            {"schemaKey": "Resource", "url": "https://example.org/paper", "relation": "dcite:Cites"}
        )
        new = t.request(
            "PUT",
            f"{base}{uploaded['asset_id']}/",
            json={"metadata": md, "blob_id": uploaded["blob"]},
        ).json()
        again = t.get_json(f"assets/{new['asset_id']}/")
    urls = [e["url"] for e in again["relatedResource"]]
    assert urls == [
        "https://example.org/paper",
        f"{site.server.api_url}/assets/{new['asset_id']}/index/",  # the new asset's, once
    ]


def test_open_reads_the_asset_through_its_index_in_one_request(
    site: Site, uploaded: dict[str, Any], proxy: StreamProxy
) -> None:
    with neuropil.Archive(proxy.url, site.token) as archive:
        asset = archive.asset(uploaded["asset_id"])
        proxy.reset()
        with asset.open() as f, h5py.File(site.files[0]) as h5:
            assert isinstance(f, IndexFile)
            assert [s.path for s in proxy.requests] == [
                f"/api/assets/{uploaded['asset_id']}/index/"
            ]
            assert assert_same_file(h5, f) > 50  # every object, attribute and value
            assert {s.path.split("/")[1] for s in proxy.requests[1:]} == {"store"}


def test_a_changed_blob_is_detected_while_reading(
    site: Site, uploaded: dict[str, Any], proxy: StreamProxy
) -> None:
    with neuropil.Archive(proxy.url, site.token) as archive:
        asset = archive.asset(uploaded["asset_id"])
        with asset.open() as f, h5py.File(site.files[0]) as h5:
            np.testing.assert_array_equal(f[SERIES][:10], h5[SERIES][:10])
            proxy.etag = '"0123456789abcdef0123456789abcdef"'  # the object was replaced
            with pytest.raises(BlobChanged):
                f[SERIES][-10:]


def test_the_same_blob_elsewhere_reuses_the_index(site: Site, uploaded: dict[str, Any]) -> None:
    before = site.index_objects()
    with site.transport() as t:
        other = site.dandiset(t)
        copy = site.upload(t, other, site.files[0], "sub-02/renamed.nwb")
    assert copy["blob"] == uploaded["blob"]  # deduplicated: no bytes sent, no new blob
    r = index_answer(f"{site.server.api_url}/assets/{copy['asset_id']}/index/")
    assert r.status_code == 200  # at once: nothing to build
    first = index_answer(f"{site.server.api_url}/assets/{uploaded['asset_id']}/index/")
    assert r.content == first.content
    site.wait_jobs(uploaded["blob"], [("done", 1)])  # built once, for both assets
    assert site.index_objects() == before
    assert f"{uploaded['blob']}.lindi.json" in before


def test_on_each_database_backend(archive: Archive) -> None:
    """The shared archive (SQLite and PostgreSQL): built after upload, opened through it."""
    path = make_nwb_files(archive.server.data_dir.parent / f"nwb-{archive.backend}")[0]
    with Transport(archive.api_url, archive.user_token) as t:
        did = t.post_json("dandisets/", {"name": "indexed", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=did, path=path, asset_path="a.nwb")
    assert wait_built(f"{archive.api_url}/assets/{asset['asset_id']}/index/").status_code == 200
    with neuropil.Archive(archive.url, archive.user_token) as client:
        mine = client.asset(asset["asset_id"])
        with mine.open() as f, h5py.File(path) as h5:
            assert isinstance(f, IndexFile)
            np.testing.assert_array_equal(f[SERIES][-100:], h5[SERIES][-100:])


# -- files without an index ------------------------------------------------------------------
def test_a_non_hdf5_blob_gets_a_clear_answer(site: Site, tmp_path: Path) -> None:
    text = tmp_path / "notes.nwb"
    text.write_bytes(b"not HDF5 at all, despite the name\n" * 1000)
    with site.transport() as t:
        asset = site.upload(t, site.dandiset(t), text, "notes.nwb")
    r = wait_built(f"{site.server.api_url}/assets/{asset['asset_id']}/index/")
    assert r.status_code == 404
    document(site.server.api_url).check(r)
    assert r.headers["x-neuropil-index-status"] == "not-hdf5"
    assert r.json()["detail"].startswith("not an HDF5 file: no index")
    site.wait_jobs(asset["blob"], [("done", 1)])  # one attempt: no retry loop


def test_a_truncated_hdf5_file_fails_once_with_its_reason(site: Site, tmp_path: Path) -> None:
    data = site.files[1].read_bytes()
    broken = tmp_path / "broken.nwb"
    broken.write_bytes(data[: len(data) // 2])
    with site.transport() as t:
        asset = site.upload(t, site.dandiset(t), broken, "broken.nwb")
    url = f"{site.server.api_url}/assets/{asset['asset_id']}/index/"
    r = wait_built(url)
    assert r.status_code == 404
    assert r.headers["x-neuropil-index-status"] == "failed"
    detail = r.json()["detail"]
    assert detail.startswith("the file could not be indexed: ")
    assert "truncated" in detail or "damaged" in detail
    assert str(site.server.data_dir) not in detail  # no server paths in messages
    assert index_answer(url).json()["detail"] == detail  # a verdict, not a retry loop
    site.wait_jobs(asset["blob"], [("done", 1)])  # one attempt: no retry loop
    # The reader falls back to the file itself, which h5py refuses with a clear error.
    with neuropil.Archive(site.server.url, site.token) as archive:
        broken_asset = archive.asset(asset["asset_id"])
        with pytest.raises(InvalidHdf5, match="not a readable HDF5 file"):
            broken_asset.open()


def test_files_that_are_not_hdf5_by_name_are_not_announced(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(site.files[0].read_bytes())
    with site.transport() as t:
        asset = upload_file(t, dandiset_id=site.dandiset(t), path=path, asset_path="raw.bin")
        md = t.get_json(f"assets/{asset['asset_id']}/")
    assert "relatedResource" not in md
    # The blob is the NWB file's: its index exists and the endpoint serves it anyway.
    assert index_answer(f"{site.server.api_url}/assets/{asset['asset_id']}/index/").is_success


def test_an_unknown_asset_is_404(site: Site) -> None:
    r = index_answer(f"{site.server.api_url}/assets/00000000-0000-4000-8000-000000000000/index/")
    assert r.status_code == 404
    assert "x-neuropil-index-status" not in r.headers


# -- while the index is being built ----------------------------------------------------------
def test_pending_index_503_then_built_after_a_restart(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """No workers: the sha256 and the index wait in the durable queue; the endpoint says
    so with Retry-After and the reader reads the file itself. With workers, it is built."""
    server = fresh_server
    token = server.add_user("owner")
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "0"
    server.start()
    (path,) = make_nwb_files(tmp_path / "nwb")[:1]
    with Transport(server.api_url, token) as t:
        did = t.post_json("dandisets/", {"name": "pending", "metadata": {}})["identifier"]
        asset = upload_file(t, dandiset_id=did, path=path, asset_path="a.nwb")
    url = f"{server.api_url}/assets/{asset['asset_id']}/index/"
    r = index_answer(url)
    assert r.status_code == 503 and r.headers["retry-after"] == "2"
    document(server.api_url).check(r)  # declared, with its Retry-After
    assert "sha256" in r.json()["detail"]
    with neuropil.Archive(server.url, token) as archive:
        pending = archive.asset(asset["asset_id"])
        with pending.open() as f, h5py.File(path) as h5:
            assert isinstance(f, RemoteHdf5File)  # fell back at once: no waiting
            np.testing.assert_array_equal(f[SERIES][:100], h5[SERIES][:100])
    server.stop()
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "2"
    server.start()
    assert wait_built(url).status_code == 200


# -- unit level: the job on a store without paths, GC ------------------------------------------
def memory_context(tmp_path: Path, data: bytes) -> tuple[Context, str]:
    """A context on a memory store (no local paths) holding one blob, registered."""

    ctx = make_context(Settings(data_dir=tmp_path / "data", storage="memory"))
    upgrade(ctx.db)
    blob_id = "5e1f0a52-5c3c-4b5e-9a61-1d2b3c4d5e6f"
    ctx.store.put(blob_key(blob_id), data)
    with ctx.db.write() as s:
        s.add(
            AssetBlob(blob_id=blob_id, key=blob_key(blob_id), etag=f"{'e' * 32}-1", size=len(data))
        )
    return ctx, blob_id


def test_the_job_reads_stores_without_local_paths(tmp_path: Path, site: Site) -> None:
    """Memory store: the blob is read through ranged reads (BlobFile), and the result is
    the index of the file itself."""
    ctx, blob_id = memory_context(tmp_path, site.files[0].read_bytes())
    status = indexes.build_blob_index(ctx, blob_id)
    assert status.state == indexes.BUILT and status.size > 0
    stored = b"".join(ctx.store.read(indexes.index_key(blob_id)))
    served = indexes.with_url(stored, "https://x/blob", template="u1", version=1)
    assert json.loads(served) == build_index(site.files[0], url="https://x/blob")
    assert indexes.build_blob_index(ctx, blob_id) == status  # done once: not rebuilt
    # A stored form other than the expected one is parsed rather than patched.
    other = json.dumps({"refs": {}, "templates": {"u9": "old"}, "version": 1}).encode()
    assert json.loads(indexes.with_url(other, "https://x/b", template="u1", version=1)) == {
        "refs": {},
        "templates": {"u9": "https://x/b"},
        "version": 1,
    }


REPO = Path(__file__).resolve().parents[2]


class FlakyStore(MemoryBlobStore):
    """A store whose ranged reads past the start fail (a fault a test cannot cause)."""

    def read(self, key: str, byte_range: ByteRange | None = None) -> Iterator[bytes]:
        if byte_range is not None and byte_range.start > 0:
            raise OSError("connection reset by the object store")
        return super().read(key, byte_range)


def test_a_store_fault_is_retried_not_recorded_as_a_verdict(tmp_path: Path, site: Site) -> None:
    """Run in a child process: HDF5 keeps a file object it failed to open half way and
    crashes the interpreter when it closes it at exit (h5py 3.16 / HDF5 2.0), so the child
    reports and leaves with ``os._exit``."""
    code = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from neuropil.services import indexes
        from neuropil.services.indexes import StoreReadError
        from neuropil.storage import blob_key
        from tests.index.test_server_index import FlakyStore, memory_context

        data = Path({str(site.files[0])!r}).read_bytes()
        ctx, blob_id = memory_context(Path({str(tmp_path)!r}), data)
        ctx.store = FlakyStore()
        ctx.store.put(blob_key(blob_id), data)
        try:
            indexes.build_blob_index(ctx, blob_id)  # the worker retries the job
            print("no error")
        except StoreReadError as exc:
            print("retry:", exc)
        print("status:", indexes.read_status(ctx.store, blob_id))
        sys.stdout.flush()
        os._exit(0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert out.returncode == 0, out.stderr
    assert "retry:" in out.stdout and "connection reset" in out.stdout, out.stdout
    assert "status: None" in out.stdout


def test_zarr_assets_have_no_index() -> None:

    now = utcnow()
    zarr = AssetRecord(1, "a", "x.zarr", None, "zarr-id", now, now, {})
    with pytest.raises(Unsupported, match="Zarr stores have no LINDI index"):
        index_response(None, None, zarr, None)  # type: ignore[arg-type]


def test_gc_removes_a_blobs_index_with_it(tmp_path: Path) -> None:

    ctx = make_context(Settings(data_dir=tmp_path / "data"))
    upgrade(ctx.db)
    old, new = "0a1b2c3d-0000-4000-8000-000000000001", "0a1b2c3d-0000-4000-8000-000000000002"
    for blob_id, age in ((old, timedelta(days=30)), (new, timedelta(0))):
        ctx.store.put(blob_key(blob_id), b"plain text")
        with ctx.db.write() as s:
            row = AssetBlob(blob_id=blob_id, key=blob_key(blob_id), etag=f"{blob_id[-32:]}-1")
            row.size, row.created = 10, utcnow() - age
            s.add(row)
        assert indexes.build_blob_index(ctx, blob_id).state == indexes.NOT_HDF5
    # The index of a blob whose row is gone already (its job ran while it was collected).
    ctx.store.put(indexes.index_key("0a1b2c3d-0000-4000-8000-000000000003"), b"{}")
    report = gc.collect(ctx, grace=timedelta(0))  # the old blob is unused past retention
    keys = sorted(o.key for o in ctx.store.list(indexes.PREFIX))
    assert keys == [indexes.status_key(new)]
    assert report.blobs == 1 and report.indexes == 1

"""Embargoed objects carry DANDI's ``embargoed=true`` tag in the bucket, against a real S3
server (moto, or ``NEUROPIL_TEST_S3_URL``'s): uploads to an embargoed dandiset (parts and
completion sent to presigned URLs, as the official client does), Zarr files at ingest, the
end of the embargo (batched and resumable), and blobs shared with an open dandiset.

The service functions run in this process against the bucket; the tags are read back with
boto3 (GetObjectTagging), as an operator would.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from neuropil.config import Settings
from neuropil.core.digests import ETAG_ALGORITHM
from neuropil.db.migrate import upgrade
from neuropil.db.models import AssetBlob, Dandiset, EmbargoStatus, Job, User, ZarrArchive
from neuropil.errors import BlobExists, StorageError
from neuropil.services import (
    assets,
    auth,
    downloads,
    embargo_tags,
    store_endpoints,
    unembargo,
    uploads,
)
from neuropil.services.context import Context, make_context
from neuropil.services.dandisets import create_dandiset
from neuropil.services.embargo import parse_terms
from neuropil.services.handlers import job_handlers
from neuropil.services.urls import Urls
from neuropil.services.zarr import archives, bulk, files, ingest, layout
from neuropil.storage.s3 import S3BlobStore
from neuropil.testing.storage import dandischema_etag
from tests.support.s3 import S3Server, s3_server

BASE = "http://neuropil.test"
EMBARGOED = {"Key": "embargoed", "Value": "true"}


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()


@pytest.fixture
def ctx(tmp_path: Path, s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch) -> Context:
    """An archive on the bucket, configured as a deployment is (``NEUROPIL_STORAGE_URL`` and
    the standard AWS variables); each test has a prefix of its own."""
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    settings = Settings(
        data_dir=tmp_path / "data", storage_url=f"s3://{bucket}/t-{uuid.uuid4().hex[:12]}"
    )
    ctx = make_context(settings)
    upgrade(ctx.db)
    assert ctx.store.capabilities.embargo_tags
    return ctx


# -- helpers -----------------------------------------------------------------------------------
def _bucket(ctx: Context) -> S3BlobStore:
    store = ctx.store
    assert isinstance(store, S3BlobStore)
    return store


def tags(ctx: Context, key: str) -> list[dict[str, str]]:
    """The object's tag set, read straight from the bucket."""
    store = _bucket(ctx)
    found = store._s3.get_object_tagging(Bucket=store.bucket, Key=store.prefix + key)
    return list(found["TagSet"])


def tagged(ctx: Context, keys: Iterable[str]) -> dict[str, bool]:
    return {key: tags(ctx, key) == [EMBARGOED] for key in keys}


def user(ctx: Context, name: str) -> User:
    found, _ = auth.create_user(ctx, username=f"{name}-{uuid.uuid4().hex[:6]}")
    return found


def dandiset(ctx: Context, owner: User, *, embargoed: bool) -> str:
    terms = parse_terms() if embargoed else None
    info = create_dandiset(ctx, user=owner, name="d", metadata={}, embargo=terms)
    return info.dandiset.identifier


def upload(ctx: Context, who: User, identifier: str, data: bytes) -> AssetBlob:
    """Upload ``data`` as a DANDI client does: parts and completion to the URLs handed out
    (presigned S3 URLs; neuropil's own for an empty file), then validate."""
    urls = Urls(BASE, ctx.store)
    body = {
        "contentSize": len(data),
        "digest": {"algorithm": ETAG_ALGORITHM, "value": dandischema_etag(data)},
        "dandiset": identifier,
    }
    upload_id, parts = uploads.initialize_upload(ctx, user=who, body=body, urls=urls)
    sent, offset = [], 0
    for part in parts:
        r = httpx.put(part.upload_url, content=data[offset : offset + part.size])
        assert r.status_code == 200, r.text
        sent.append({"part_number": part.part_number, "size": part.size, "etag": r.headers["etag"]})
        offset += part.size
    done = uploads.complete_upload(
        ctx, user=who, upload_id=upload_id, body={"parts": sent}, urls=urls
    )
    _post_complete(ctx, done["complete_url"], done["body"])
    return uploads.validate_upload(ctx, user=who, upload_id=upload_id)


def _post_complete(ctx: Context, url: str, body: str) -> None:
    if not url.startswith(BASE):  # the bucket's own presigned URL
        r = httpx.post(url, content=body)
        assert r.status_code == 200, r.text
        return
    parts = urlsplit(url)  # neuropil's /store/ endpoint, answered in this process
    key = unquote(parts.path.removeprefix("/store/"))
    store_endpoints.complete(ctx, key=key, params=dict(parse_qsl(parts.query)), body=body.encode())


def add_asset(ctx: Context, who: User, identifier: str, path: str, blob: AssetBlob) -> None:
    assets.create_asset(
        ctx,
        user=who,
        identifier=identifier,
        version="draft",
        metadata={"path": path},
        blob_id=blob.blob_id,
    )


def blob_row(ctx: Context, blob_id: str) -> AssetBlob:
    with ctx.db.read() as s:
        found = s.get(AssetBlob, blob_id)
    assert found is not None
    return found


def release_jobs(ctx: Context) -> list[dict[str, Any]]:
    with ctx.db.read() as s:
        return [j.payload for j in s.scalars(sa.select(Job).where(Job.kind == embargo_tags.JOB))]


def run_release_jobs(ctx: Context) -> None:
    """What a worker does with the queued ``blob.release`` jobs (the registered handler)."""
    handler = job_handlers(ctx)[embargo_tags.JOB]
    for payload in release_jobs(ctx):
        handler(payload)


def zarr_with_files(ctx: Context, who: User, identifier: str, files_: dict[str, bytes]) -> str:
    """A Zarr whose files were PUT to their presigned URLs, finalized and ingested."""
    z = archives.create_zarr(ctx, user=who, body={"name": "a.zarr", "dandiset": identifier})
    asked = [
        {"path": k, "base64md5": base64.b64encode(hashlib.md5(v).digest()).decode()}
        for k, v in files_.items()
    ]
    urls = files.request_uploads(
        ctx, user=who, zarr_id=z.zarr_id, body=asked, urls=Urls(BASE, ctx.store)
    )
    for url, item, data in zip(urls, asked, files_.values(), strict=True):
        r = httpx.put(url, content=data, headers={"Content-MD5": item["base64md5"]})
        assert r.status_code == 200, r.text
    ingest.finalize(ctx, user=who, zarr_id=z.zarr_id)
    assert ingest.ingest(ctx, z.zarr_id) is not None
    return z.zarr_id


def zarr_keys(zarr_id: str, files_: Iterable[str]) -> list[str]:
    return [layout.live_key(zarr_id, k) for k in files_]


def unembargo_now(ctx: Context, who: User, identifier: str) -> None:
    unembargo.request_unembargo(ctx, user=who, identifier=identifier)
    unembargo.run_unembargo(ctx, int(identifier))


def status(ctx: Context, identifier: str) -> EmbargoStatus:
    with ctx.db.read() as s:
        found = s.get(Dandiset, int(identifier))
    assert found is not None
    return found.embargo_status


ZARR = {".zgroup": b'{"zarr_format": 2}', "a/.zarray": b"{}", "a/0.0": b"chunk", "a/0.1": b"x"}


# -- uploads -----------------------------------------------------------------------------------
def test_uploads_to_an_embargoed_dandiset_are_tagged_open_ones_are_not(ctx: Context) -> None:
    owner = user(ctx, "owner")
    secret = dandiset(ctx, owner, embargoed=True)
    public = dandiset(ctx, owner, embargoed=False)
    hidden = upload(ctx, owner, secret, b"embargoed bytes " * 100)
    empty = upload(ctx, owner, secret, b"")  # no parts: completed by neuropil, not S3
    shown = upload(ctx, owner, public, b"open bytes " * 100)
    assert hidden.embargoed and empty.embargoed and not shown.embargoed
    assert tags(ctx, hidden.key) == [EMBARGOED]
    assert tags(ctx, empty.key) == [EMBARGOED]
    assert tags(ctx, shown.key) == []


def test_a_multipart_upload_is_tagged_before_validation(ctx: Context) -> None:
    """The tag rides on CreateMultipartUpload: the object a client completes through the
    presigned URL is refused to anonymous readers before neuropil hears of it."""
    owner = user(ctx, "owner")
    secret = dandiset(ctx, owner, embargoed=True)
    data = b"x" * 1000
    body = {
        "contentSize": len(data),
        "digest": {"algorithm": ETAG_ALGORITHM, "value": dandischema_etag(data)},
        "dandiset": secret,
    }
    urls = Urls(BASE, ctx.store)
    upload_id, parts = uploads.initialize_upload(ctx, user=owner, body=body, urls=urls)
    r = httpx.put(parts[0].upload_url, content=data)
    sent = [{"part_number": 1, "size": len(data), "etag": r.headers["etag"]}]
    done = uploads.complete_upload(
        ctx, user=owner, upload_id=upload_id, body={"parts": sent}, urls=urls
    )
    _post_complete(ctx, done["complete_url"], done["body"])
    assert tags(ctx, uploads.get_upload(ctx, upload_id).key) == [EMBARGOED]  # not validated


# -- Zarr --------------------------------------------------------------------------------------
def test_zarr_files_of_an_embargoed_dandiset_are_tagged_at_ingest(ctx: Context) -> None:
    owner = user(ctx, "owner")
    secret = zarr_with_files(ctx, owner, dandiset(ctx, owner, embargoed=True), ZARR)
    public = zarr_with_files(ctx, owner, dandiset(ctx, owner, embargoed=False), ZARR)
    assert all(tagged(ctx, zarr_keys(secret, ZARR)).values())
    assert not any(tagged(ctx, zarr_keys(public, ZARR)).values())


def test_a_zarr_file_put_again_is_tagged_by_the_next_ingest(ctx: Context) -> None:
    """A PUT replaces an object's tags with none; every change ends with an ingest."""
    owner = user(ctx, "owner")
    identifier = dandiset(ctx, owner, embargoed=True)
    zarr_id = zarr_with_files(ctx, owner, identifier, ZARR)
    key = layout.live_key(zarr_id, "a/0.0")
    _bucket(ctx).put(key, b"rewritten")  # as a client's PUT to the bucket
    assert tags(ctx, key) == []
    with ctx.db.write() as s:  # the archive hears of it as after any change
        z = s.get(ZarrArchive, zarr_id)
        assert z is not None
        files.reopen(ctx, s, z)
    ingest.finalize(ctx, user=owner, zarr_id=zarr_id)
    ingest.ingest(ctx, zarr_id)
    assert tags(ctx, key) == [EMBARGOED]


def test_zarr_files_sent_as_tar_batches_are_tagged_at_ingest(ctx: Context) -> None:
    """neuropil's client sends Zarr files as tar batches (``POST …/archive/``), which the
    archive writes to the bucket untagged, as a PUT is: the ingest tags them the same way."""
    owner = user(ctx, "owner")
    zarr_ids = {}
    for embargoed in (True, False):
        identifier = dandiset(ctx, owner, embargoed=embargoed)
        z = archives.create_zarr(ctx, user=owner, body={"name": "t.zarr", "dandiset": identifier})
        sent = bulk.upload_archive(ctx, user=owner, zarr_id=z.zarr_id, chunks=[tar_of(ZARR)])
        assert sent == len(ZARR)
        assert not any(tagged(ctx, zarr_keys(z.zarr_id, ZARR)).values())  # not yet ingested
        ingest.finalize(ctx, user=owner, zarr_id=z.zarr_id)
        assert ingest.ingest(ctx, z.zarr_id) is not None
        zarr_ids[embargoed] = z.zarr_id
    assert all(tagged(ctx, zarr_keys(zarr_ids[True], ZARR)).values())
    assert not any(tagged(ctx, zarr_keys(zarr_ids[False], ZARR)).values())


def test_zarr_file_downloads_are_presigned_urls_of_the_bucket(ctx: Context) -> None:
    """``files/?download=true`` with S3: a presigned URL of the file's object, which reads a
    tagged object (signed with the archive's credentials); an embargoed Zarr's names the
    response headers the local store's signed URL gets too (``downloads.zarr_key``)."""
    owner = user(ctx, "owner")
    urls = Urls(BASE, ctx.store)
    for embargoed in (True, False):
        zarr_id = zarr_with_files(ctx, owner, dandiset(ctx, owner, embargoed=embargoed), ZARR)
        for key in (".zgroup", "a/0.0"):
            to = downloads.zarr_key(ctx, urls, user=owner, zarr_id=zarr_id, key=key)
            assert not to.location.startswith(BASE)  # the bucket's own URL
            params = dict(parse_qsl(urlsplit(to.location).query))
            assert ("response-content-disposition" in params) is embargoed
            got = httpx.get(to.location)
            assert got.status_code == 200 and got.content == ZARR[key]
        assert all(tagged(ctx, zarr_keys(zarr_id, ZARR)).values()) is embargoed


def tar_of(files_: dict[str, bytes]) -> bytes:
    """A tar batch as neuropil's client sends it: each file with its md5 in a PAX header."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for key, data in files_.items():
            info = tarfile.TarInfo(key)
            info.size = len(data)
            info.pax_headers = {bulk.MD5_HEADER: hashlib.md5(data).hexdigest()}
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


# -- the end of the embargo --------------------------------------------------------------------
def test_unembargo_removes_every_tag(ctx: Context) -> None:
    owner = user(ctx, "owner")
    identifier = dandiset(ctx, owner, embargoed=True)
    blobs = [upload(ctx, owner, identifier, f"file {i} ".encode() * 50) for i in range(3)]
    for i, blob in enumerate(blobs):
        add_asset(ctx, owner, identifier, f"sub-1/f{i}.nwb", blob)
    zarr_id = zarr_with_files(ctx, owner, identifier, ZARR)
    keys = [b.key for b in blobs] + zarr_keys(zarr_id, ZARR)
    assert all(tagged(ctx, keys).values())
    unembargo_now(ctx, owner, identifier)
    assert status(ctx, identifier) == EmbargoStatus.OPEN
    assert not any(tagged(ctx, keys).values())
    assert not any(blob_row(ctx, b.blob_id).embargoed for b in blobs)
    unembargo.run_unembargo(ctx, int(identifier))  # a repeated run changes nothing
    assert not any(tagged(ctx, keys).values())


class DiesAfter(S3BlobStore):
    """The bucket, with the job's process dying after ``calls`` untagging calls (a kill at
    an exact point cannot be caused for real); counts the keys untagged."""

    def __init__(self, real: S3BlobStore, calls: int) -> None:
        super().__init__(real.bucket, real.prefix, client=real._s3)
        self.calls = calls
        self.untagged: list[str] = []

    def set_embargoed(self, keys: Iterable[str], *, embargoed: bool) -> None:
        keys = list(keys)
        if not embargoed:
            if self.calls == 0:
                raise StorageError("the job's process was killed here")
            self.calls -= 1
            self.untagged += keys
        super().set_embargoed(keys, embargoed=embargoed)


def test_a_killed_unembargo_resumes_where_it_stopped(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = user(ctx, "owner")
    identifier = dandiset(ctx, owner, embargoed=True)
    blobs = [upload(ctx, owner, identifier, f"blob {i} ".encode() * 40) for i in range(5)]
    for i, blob in enumerate(blobs):
        add_asset(ctx, owner, identifier, f"f{i}.nwb", blob)
    monkeypatch.setattr(embargo_tags, "BATCH", 2)
    real = _bucket(ctx)
    ctx.store = DiesAfter(real, calls=1)
    unembargo.request_unembargo(ctx, user=owner, identifier=identifier)
    with pytest.raises(StorageError, match="killed"):
        unembargo.run_unembargo(ctx, int(identifier))
    first = {b.blob_id for b in blobs if not blob_row(ctx, b.blob_id).embargoed}
    assert len(first) == 2  # one batch untagged and released, the rest still embargoed
    state = tagged(ctx, [b.key for b in blobs])
    assert [state[b.key] for b in blobs] == [b.blob_id not in first for b in blobs]
    assert status(ctx, identifier) == EmbargoStatus.UNEMBARGOING

    ctx.store = resumed = DiesAfter(real, calls=100)
    unembargo.run_unembargo(ctx, int(identifier))  # the job runs again
    assert status(ctx, identifier) == EmbargoStatus.OPEN
    assert sorted(resumed.untagged) == sorted(b.key for b in blobs if b.blob_id not in first)
    assert not any(tagged(ctx, [b.key for b in blobs]).values())


def test_unembargo_waits_for_a_zarr_being_ingested(ctx: Context) -> None:
    owner = user(ctx, "owner")
    identifier = dandiset(ctx, owner, embargoed=True)
    z = archives.create_zarr(ctx, user=owner, body={"name": "b.zarr", "dandiset": identifier})
    _bucket(ctx).put(layout.live_key(z.zarr_id, ".zgroup"), b"{}")
    ingest.finalize(ctx, user=owner, zarr_id=z.zarr_id)  # its ingest may still tag files
    unembargo.request_unembargo(ctx, user=owner, identifier=identifier)
    with pytest.raises(RuntimeError, match="being ingested"):
        unembargo.run_unembargo(ctx, int(identifier))
    assert status(ctx, identifier) == EmbargoStatus.UNEMBARGOING
    ingest.ingest(ctx, z.zarr_id)  # no longer tags: the embargo is ending
    unembargo.run_unembargo(ctx, int(identifier))
    assert status(ctx, identifier) == EmbargoStatus.OPEN
    assert tags(ctx, layout.live_key(z.zarr_id, ".zgroup")) == []


# -- blobs shared with an open dandiset ----------------------------------------------------------
def test_an_embargoed_blob_an_open_dandiset_takes_is_untagged(ctx: Context) -> None:
    """Someone who cannot see the embargoed blob uploads the same bytes to an open dandiset:
    no 409 (that would tell them it exists), validation hands them the blob, and adding it
    to the open dandiset releases it: its tag goes once that has committed."""
    data = b"the same bytes " * 80
    alice, bob = user(ctx, "alice"), user(ctx, "bob")
    secret = dandiset(ctx, alice, embargoed=True)
    public = dandiset(ctx, bob, embargoed=False)
    hidden = upload(ctx, alice, secret, data)
    assert tags(ctx, hidden.key) == [EMBARGOED]
    again = upload(ctx, bob, public, data)
    assert again.blob_id == hidden.blob_id and tags(ctx, hidden.key) == [EMBARGOED]
    assert release_jobs(ctx) == []
    add_asset(ctx, bob, public, "shared.bin", again)
    assert not blob_row(ctx, hidden.blob_id).embargoed
    assert release_jobs(ctx) == [{"blob_id": hidden.blob_id}]
    run_release_jobs(ctx)
    assert tags(ctx, hidden.key) == []


def test_an_open_blob_stays_untagged_when_an_embargoed_dandiset_uploads_it(ctx: Context) -> None:
    data = b"public first " * 90
    owner = user(ctx, "owner")
    public = dandiset(ctx, owner, embargoed=False)
    secret = dandiset(ctx, owner, embargoed=True)
    shown = upload(ctx, owner, public, data)
    with pytest.raises(BlobExists):  # an open blob: anyone may learn of it
        upload(ctx, owner, secret, data)
    add_asset(ctx, owner, secret, "same.bin", shown)
    assert tags(ctx, shown.key) == [] and not blob_row(ctx, shown.blob_id).embargoed


def test_an_embargoed_upload_racing_an_open_one_leaves_the_open_blob_untagged(
    ctx: Context,
) -> None:
    """Both uploads start before either is validated (no 409 yet): the embargoed one's object
    is tagged from birth, but validation keeps the open blob, untagged, and drops it."""
    data = b"raced " * 200
    owner = user(ctx, "owner")
    public = dandiset(ctx, owner, embargoed=False)
    secret = dandiset(ctx, owner, embargoed=True)
    urls = Urls(BASE, ctx.store)
    body = {
        "contentSize": len(data),
        "digest": {"algorithm": ETAG_ALGORITHM, "value": dandischema_etag(data)},
        "dandiset": secret,
    }
    late_id, parts = uploads.initialize_upload(ctx, user=owner, body=body, urls=urls)
    shown = upload(ctx, owner, public, data)
    r = httpx.put(parts[0].upload_url, content=data)
    sent = [{"part_number": 1, "size": len(data), "etag": r.headers["etag"]}]
    done = uploads.complete_upload(
        ctx, user=owner, upload_id=late_id, body={"parts": sent}, urls=urls
    )
    _post_complete(ctx, done["complete_url"], done["body"])
    late = uploads.validate_upload(ctx, user=owner, upload_id=late_id)
    assert late.blob_id == shown.blob_id and not late.embargoed
    assert tags(ctx, shown.key) == []
    assert ctx.store.stat(f"blobs/{late_id[:3]}/{late_id[3:6]}/{late_id}") is None


# -- a server without tagging ------------------------------------------------------------------
def test_tagging_turned_off_tags_nothing(
    tmp_path: Path, s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``NEUROPIL_S3_EMBARGO_TAGS=0`` (a server without object tagging, such as Garage)."""
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NEUROPIL_S3_EMBARGO_TAGS", "0")
    settings = Settings(
        data_dir=tmp_path / "d", storage_url=f"s3://{bucket}/off-{uuid.uuid4().hex}"
    )
    ctx = make_context(settings)
    upgrade(ctx.db)
    assert not ctx.store.capabilities.embargo_tags
    owner = user(ctx, "owner")
    identifier = dandiset(ctx, owner, embargoed=True)
    blob = upload(ctx, owner, identifier, b"untagged " * 100)
    add_asset(ctx, owner, identifier, "f.bin", blob)
    zarr_id = zarr_with_files(ctx, owner, identifier, ZARR)
    assert blob.embargoed and tags(ctx, blob.key) == []
    assert not any(tagged(ctx, zarr_keys(zarr_id, ZARR)).values())
    unembargo_now(ctx, owner, identifier)
    assert status(ctx, identifier) == EmbargoStatus.OPEN
    assert not blob_row(ctx, blob.blob_id).embargoed

"""The S3 store: the blob-store contract against a real S3-compatible server, then what only an
object store does (presigned URLs, a key prefix in a shared bucket, S3's own part rules).

The server is ``NEUROPIL_TEST_S3_URL``'s or a ``moto_server`` process (tests/support/s3.py).
The contract splits uploads into 1000-byte parts to test many parts cheaply, and S3 refuses a
part under 5 MiB unless it is the last: its moto server is started with that limit lowered,
while the tests below the contract run on one with S3's rules. Against an external server that
keeps the rule, the contract tests that need small parts are skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from neuropil.core.digests import etag_from_part_md5s
from neuropil.core.ranges import ByteRange
from neuropil.errors import StorageError
from neuropil.storage import BlobStore, StoreCapabilities
from neuropil.storage.s3 import S3BlobStore, parse_s3_url
from neuropil.testing.storage import BlobStoreContract, chunked, md5, pattern
from tests.support.s3 import S3Server, accepts_small_parts, s3_server

MiB = 1 << 20

#: Contract tests that complete uploads whose parts (but the last) are under S3's 5 MiB.
SMALL_PART_TESTS = frozenset(
    {
        "test_parts_in_any_order",
        "test_complete_gives_dandi_etag",
        "test_complete_with_wrong_etag",
        "test_concurrent_parts_from_threads",
        "test_hinted_parts_in_any_order",
        "test_hinted_retry_replaces_part",
        "test_hinted_part_larger_than_part_size_is_refused",
        "test_hinted_complete_checks_the_layout",
    }
)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A server with S3's rules."""
    with s3_server(tmp_path_factory.mktemp("s3")) as server:
        yield server


@pytest.fixture(scope="module")
def s3_any_part_size(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A server for the contract: parts of any size (on moto)."""
    with s3_server(tmp_path_factory.mktemp("s3-small"), min_part_size=1) as server:
        yield server


@pytest.fixture(scope="module")
def bucket(s3: S3Server) -> str:
    return s3.new_bucket()


@pytest.fixture(scope="module")
def client(s3: S3Server) -> Any:
    return s3.client()


@pytest.fixture
def store(client: Any, bucket: str) -> S3BlobStore:
    return S3BlobStore(bucket, f"test-{uuid.uuid4().hex}/", client=client)


@pytest.fixture(scope="module")
def strict_part_sizes(s3: S3Server, bucket: str) -> bool:
    return not accepts_small_parts(s3, bucket)


# -- the contract ------------------------------------------------------------------------------
@dataclass
class ContractServer:
    server: S3Server
    client: Any
    bucket: str  # shared: each test has a prefix of its own
    small_parts: bool  # whether it completes uploads of parts under 5 MiB


@pytest.fixture(scope="module")
def contract_server(s3_any_part_size: S3Server) -> ContractServer:
    server = s3_any_part_size
    bucket = server.new_bucket()
    return ContractServer(server, server.client(), bucket, accepts_small_parts(server, bucket))


class TestS3BlobStore(BlobStoreContract):
    """Every test gets a fresh prefix in a shared bucket (cheap on any S3)."""

    @pytest.fixture(autouse=True)
    def _server(self, request: pytest.FixtureRequest, contract_server: ContractServer) -> None:
        self.on = contract_server
        name = request.node.originalname
        if not contract_server.small_parts and name in SMALL_PART_TESTS:
            pytest.skip("this S3 server refuses parts under 5 MiB but the last (as S3 does)")
        if contract_server.server.moto and name == "test_create_multipart":
            # moto_server answers ListMultipartUploads with a fixed Initiated (2010-11-10).
            request.applymarker(pytest.mark.xfail(strict=True, reason="moto's fixed Initiated"))

    def make_store(self, tmp_path: Path) -> BlobStore:
        return S3BlobStore(self.on.bucket, f"contract/{uuid.uuid4().hex}", client=self.on.client)


def test_store_at_the_root_of_a_bucket(contract_server: ContractServer) -> None:
    client = contract_server.client
    store = S3BlobStore(contract_server.server.new_bucket(client), client=client)
    assert store.prefix == ""
    store.put("blobs/abc/def/x", b"at the root")
    mp = store.create_multipart("blobs/abc/def/y")
    assert [i.key for i in store.list()] == ["blobs/abc/def/x"]
    assert [m.multipart_id for m in store.list_multipart()] == [mp]
    obj = client.get_object(Bucket=store.bucket, Key="blobs/abc/def/x")
    assert obj["Body"].read() == b"at the root"


# -- configuration -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://archive", "archive", ""),
        ("s3://archive/", "archive", ""),
        ("s3://archive/neuropil", "archive", "neuropil/"),
        ("s3://archive/a/b/", "archive", "a/b/"),
    ],
)
def test_parse_s3_url(url: str, bucket: str, prefix: str) -> None:
    assert parse_s3_url(url) == (bucket, prefix)


@pytest.mark.parametrize(
    "url",
    [
        "archive/x",
        "https://archive/x",
        "s3:///x",
        "s3://b/x?versionId=1",
        "s3://b/a//c",
        "s3://b/..",
    ],
)
def test_parse_s3_url_refuses(url: str) -> None:
    with pytest.raises(ValueError, match="S3"):
        parse_s3_url(url)


def test_capabilities(store: S3BlobStore) -> None:
    assert store.capabilities == StoreCapabilities(
        presigned_urls=True, local_files=False, embargo_tags=True
    )
    assert store.local_path("blobs/x") is None
    assert store.sweep_temporaries(datetime.now(UTC)) == 0


def test_from_url_reads_the_standard_environment(
    s3: S3Server, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    store = S3BlobStore.from_url(f"s3://{bucket}/from-env")
    store.put("k", b"configured by AWS_ENDPOINT_URL_S3")
    assert s3.client().head_object(Bucket=bucket, Key="from-env/k")["ContentLength"] == 33


# -- keys ----------------------------------------------------------------------------------------
def test_keys_live_under_the_prefix(client: Any, bucket: str) -> None:
    base = f"shared-{uuid.uuid4().hex}"
    store = S3BlobStore(bucket, f"{base}/one", client=client)
    store.put("blobs/x", b"mine")
    for other in (f"{base}/onex/y", f"{base}/two/z", f"{base}/one//bad", f"{base}/one/./bad"):
        client.put_object(Bucket=bucket, Key=other, Body=b"not mine")
    raw = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/one/")
    assert f"{base}/one/blobs/x" in [o["Key"] for o in raw["Contents"]]
    assert [i.key for i in store.list()] == ["blobs/x"]  # keys it would never make are skipped
    assert store.stat("blobs/x") is not None


# -- presigned URLs: what clients do -------------------------------------------------------------
def test_presigned_upload_as_a_dandi_client_does(store: S3BlobStore) -> None:
    """Parts PUT to presigned URLs, then the CompleteMultipartUpload XML POSTed to its URL."""
    data = pattern(5 * MiB + 1000, seed=3)
    bodies = [data[: 5 * MiB], data[5 * MiB :]]
    mp = store.create_multipart("blobs/abc/def/up", part_size=5 * MiB)
    etags = []
    for n, body in enumerate(bodies, start=1):
        url = store.presign_part("blobs/abc/def/up", mp, n, 600)
        assert url.startswith(store_endpoint(store)) and "X-Amz-Signature" in url
        r = httpx.put(url, content=body)
        assert r.status_code == 200, r.text
        assert r.headers["etag"].strip('"') == md5(body)
        etags.append(r.headers["etag"])
    assert [p.etag for p in store.list_parts("blobs/abc/def/up", mp)] == [md5(b) for b in bodies]
    xml = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
        for n, e in enumerate(etags, start=1)
    )
    r = httpx.post(
        store.presign_complete("blobs/abc/def/up", mp, 600),
        content=f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>",
    )
    assert r.status_code == 200, r.text
    want = etag_from_part_md5s([md5(b) for b in bodies])
    assert want in r.text
    info = store.stat("blobs/abc/def/up")
    assert info is not None and (info.size, info.etag) == (len(data), want)
    assert list(store.list_multipart()) == []


def test_presigned_get_with_headers_and_range(store: S3BlobStore) -> None:
    data = pattern(100_000)
    store.put("blobs/abc/def/get", data)
    disposition = 'attachment; filename="a b.nwb"'
    url = store.presign_get(
        "blobs/abc/def/get", 600, disposition=disposition, content_type="application/x-nwb"
    )
    r = httpx.get(url, headers={"Range": "bytes=1000-1999"})
    assert r.status_code == 206
    assert r.content == data[1000:2000]
    assert r.headers["content-disposition"] == disposition
    assert r.headers["content-type"] == "application/x-nwb"
    assert r.headers["content-range"] == "bytes 1000-1999/100000"


def test_object_url_is_the_unsigned_url(client: Any, bucket: str) -> None:
    """As DANDI's: the presigned URL without its query, readable where the bucket is public."""
    store = S3BlobStore(bucket, f"public-{uuid.uuid4().hex}", client=client)
    store.put("blobs/abc/def/pub", b"public bytes")
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/{store.prefix}*",
            }
        ],
    }
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    url = store.object_url("blobs/abc/def/pub")
    assert "?" not in url and url.endswith(f"/{store.prefix}blobs/abc/def/pub")
    r = httpx.get(url, headers={"Range": "bytes=7-"})
    assert (r.status_code, r.content) == (206, b"bytes")


def test_presigned_put_requires_its_md5(store: S3BlobStore) -> None:
    body = b"one zarr chunk"
    b64 = base64.b64encode(hashlib.md5(body).digest()).decode()
    url = store.presign_put("zarr/z1/0.0", 600, content_md5=b64)
    assert httpx.put(url, content=body, headers={"Content-MD5": b64}).status_code == 200
    assert b"".join(store.read("zarr/z1/0.0")) == body


# -- embargo tags ------------------------------------------------------------------------------
EMBARGOED = [{"Key": "embargoed", "Value": "true"}]


def tag_set(store: S3BlobStore, key: str) -> list[dict[str, str]]:
    found = store._s3.get_object_tagging(Bucket=store.bucket, Key=store.prefix + key)
    return list(found["TagSet"])


def test_an_embargoed_upload_is_tagged_when_a_client_completes_it(store: S3BlobStore) -> None:
    """The tag given to CreateMultipartUpload goes to the object S3 assembles: a part PUT
    and the completion sent to presigned URLs, as a DANDI client sends them."""
    for key, embargoed in (("blobs/abc/def/emb", True), ("blobs/abc/def/open", False)):
        mp = store.create_multipart(key, embargoed=embargoed)
        r = httpx.put(store.presign_part(key, mp, 1, 600), content=b"part one")
        xml = f"<Part><PartNumber>1</PartNumber><ETag>{r.headers['etag']}</ETag></Part>"
        body = f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>"
        assert httpx.post(store.presign_complete(key, mp, 600), content=body).status_code == 200
        assert tag_set(store, key) == (EMBARGOED if embargoed else [])


def test_set_embargoed_tags_and_untags_a_batch(store: S3BlobStore) -> None:
    keys = [f"zarr/z/{i}" for i in range(40)]  # more than the requests sent at once
    for key in keys:
        store.put(key, key.encode())
    store.set_embargoed(keys[:30], embargoed=True)
    assert [tag_set(store, k) == EMBARGOED for k in keys] == [True] * 30 + [False] * 10
    store.set_embargoed(keys, embargoed=False)
    assert all(tag_set(store, k) == [] for k in keys)
    with pytest.raises(ValueError, match="invalid object key"):  # checked before any request
        store.set_embargoed(["zarr/z/0", "a//b"], embargoed=True)
    assert tag_set(store, "zarr/z/0") == []


def test_embargo_tags_can_be_turned_off(client: Any, bucket: str) -> None:
    """For a server without object tagging (Garage): nothing asks it to tag."""
    store = S3BlobStore(bucket, f"untagged-{uuid.uuid4().hex}", client=client, embargo_tags=False)
    assert store.capabilities == StoreCapabilities(presigned_urls=True)
    mp = store.create_multipart("blobs/x", embargoed=True)
    part = store.upload_part("blobs/x", mp, 1, [b"bytes"])
    store.complete_multipart("blobs/x", mp, [part])
    assert tag_set(store, "blobs/x") == []
    with pytest.raises(StorageError, match="embargo_tags=False"):
        store.set_embargoed(["blobs/x"], embargoed=True)


def test_the_bucket_policy_refuses_tagged_objects_to_anonymous_readers(
    s3: S3Server, client: Any
) -> None:
    """docs/deployment.md's policy: anonymous reads of ``blobs/``, but not of an object
    tagged embargoed; a presigned URL still reads it."""
    if s3.moto:
        pytest.skip("moto applies a Deny statement without evaluating its Condition")
    bucket = s3.new_bucket(client)
    store = S3BlobStore(bucket, "archive", client=client)
    store.put("blobs/abc/def/open", b"open")
    store.put("blobs/abc/def/emb", b"embargoed")
    store.set_embargoed(["blobs/abc/def/emb"], embargoed=True)
    s3.apply_embargo_policy(bucket, "archive")
    assert httpx.get(store.object_url("blobs/abc/def/open")).status_code == 200
    assert httpx.get(store.object_url("blobs/abc/def/emb")).status_code == 403
    assert httpx.get(store.presign_get("blobs/abc/def/emb", 600)).content == b"embargoed"
    store.set_embargoed(["blobs/abc/def/emb"], embargoed=False)
    assert httpx.get(store.object_url("blobs/abc/def/emb")).status_code == 200


# -- S3's own rules, as the contract's errors ----------------------------------------------------
def test_small_parts_are_refused_as_s3_does(store: S3BlobStore, strict_part_sizes: bool) -> None:
    if not strict_part_sizes:
        pytest.skip("this server takes parts of any size")
    mp = store.create_multipart("k")
    p1 = store.upload_part("k", mp, 1, [pattern(1000)])
    p2 = store.upload_part("k", mp, 2, [b"tail"])
    with pytest.raises(ValueError, match="EntityTooSmall"):
        store.complete_multipart("k", mp, [p1, p2])
    assert store.stat("k") is None
    assert store.list_parts("k", mp) == [p1, p2]  # the upload survives, as the contract asks


def test_missing_bucket_is_a_storage_error(client: Any) -> None:
    store = S3BlobStore(f"neuropil-missing-{uuid.uuid4().hex[:12]}", client=client)
    with pytest.raises(StorageError, match="NoSuchBucket") as err:
        store.put("k", b"x")
    assert str(err.value)
    with pytest.raises(StorageError, match="NoSuchBucket"):
        list(store.list())


def test_put_chunks_streams_large_bodies(store: S3BlobStore) -> None:
    data = pattern(9 * MiB + 5, seed=1)  # more than is gathered in memory
    info = store.put_chunks("zarr/z/big", chunked(data, MiB))
    assert (info.size, info.etag) == (len(data), md5(data))
    assert b"".join(store.read("zarr/z/big", ByteRange(MiB, 2 * MiB))) == data[MiB : 2 * MiB]


def test_read_past_the_end_is_empty(store: S3BlobStore) -> None:
    store.put("k", b"0123456789")
    assert list(store.read("k", ByteRange(20, 30))) == []
    assert b"".join(store.read("k", ByteRange(8, 30))) == b"89"


# -- helpers -------------------------------------------------------------------------------------
def store_endpoint(store: S3BlobStore) -> str:
    return str(store._s3.meta.endpoint_url)

"""DANDI's multipart upload protocol: initialize, part PUTs, complete, validate, dedup."""

from __future__ import annotations

import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from neuropil.client.upload_files import upload_file
from neuropil.http.transport import Transport
from tests.api.helpers import (
    EMPTY_ETAG,
    ETAG,
    PART_SIZE,
    SHA256,
    MiB,
    Upload,
    add_asset,
    anonymous_put,
    assets_url,
    complete,
    create_dandiset,
    etag_of,
    initialize,
    md5_hex,
    put_part,
    put_parts,
    random_bytes,
    sha256_hex,
    start_upload,
    strip_query,
    upload_asset,
    upload_blob,
    validate,
    wait_for,
)
from tests.conftest import Archive


def _blob_by_digest(c: httpx.Client, algorithm: str, value: str) -> httpx.Response:
    return c.post("blobs/digest/", json={"algorithm": algorithm, "value": value})


def _stored_object(archive: Archive, upload_id: str) -> Path:
    """Where the local store keeps an upload's assembled object (key blobs/abc/def/<id>)."""
    key = f"blobs/{upload_id[0:3]}/{upload_id[3:6]}/{upload_id}"
    return archive.server.data_dir / "store" / "objects" / key


def _etag_in_xml(xml: str) -> str:
    root = ET.fromstring(xml)
    etags = [e.text or "" for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "ETag"]
    assert len(etags) == 1, xml
    return etags[0].strip('"')


def _tamper(url: str, **changes: str) -> str:
    u = urlsplit(url)
    q = dict(parse_qsl(u.query))
    q.update(changes)
    return urlunsplit((u.scheme, u.netloc, u.path, urlencode(q), ""))


def test_round_trip(
    archive: Archive, alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(100_000)
    etag = etag_of(data)
    r = initialize(alice, dandiset, data)
    assert r.status_code == 200, r.text
    init = r.json()
    assert set(init) == {"upload_id", "parts"}
    assert uuid.UUID(init["upload_id"])
    [part] = init["parts"]
    assert (part["part_number"], part["size"]) == (1, len(data))
    assert part["upload_url"].startswith(f"{archive.url}/")
    upload = Upload(init["upload_id"], init["parts"], etag, data)
    d = anon.get(f"dandisets/{dandiset}/").json()["draft_version"]
    assert d["active_uploads"] == 1
    done = put_parts(upload)  # anonymous PUTs; each answers the part's md5 as ETag
    r = alice.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done})
    assert r.status_code == 200
    fin = r.json()
    assert set(fin) == {"complete_url", "body"}
    body = ET.fromstring(fin["body"])
    assert body.tag == "{http://s3.amazonaws.com/doc/2006-03-01/}CompleteMultipartUpload"
    assert _etag_in_xml(fin["body"]) == done[0]["etag"]
    xml = httpx.post(fin["complete_url"], content=fin["body"])
    assert xml.status_code == 200
    assert "xml" in xml.headers["content-type"]
    assert _etag_in_xml(xml.text) == etag  # the client checks this against its own etag
    v = validate(alice, upload)
    assert v.status_code == 200, v.text
    blob = v.json()
    assert set(blob) == {"blob_id", "etag", "sha256", "size"}
    assert blob["blob_id"] == upload.upload_id
    assert (blob["etag"], blob["size"]) == (etag, len(data))
    assert anon.get(f"dandisets/{dandiset}/").json()["draft_version"]["active_uploads"] == 0
    found = _blob_by_digest(anon, ETAG, etag)
    assert found.status_code == 200
    assert found.json()["blob_id"] == blob["blob_id"]
    # The upload is finished: it cannot be validated or completed again.
    assert validate(alice, upload).status_code == 404
    assert (
        alice.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done}).status_code == 404
    )


def test_multipart_upload_of_64_mib_plus_one(
    alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(PART_SIZE + 1)
    upload = start_upload(alice, dandiset, data)
    assert [(p["part_number"], p["size"]) for p in upload.parts] == [(1, PART_SIZE), (2, 1)]
    assert upload.etag.endswith("-2")
    # Parts may arrive in any order.
    done = [put_part(upload, upload.parts[1]), put_part(upload, upload.parts[0])]
    xml = complete(alice, upload, done)
    assert xml.status_code == 200, xml.text
    assert _etag_in_xml(xml.text) == upload.etag
    v = validate(alice, upload)
    assert v.status_code == 200, v.text
    asset = add_asset(alice, dandiset, "big.bin", v.json()["blob_id"]).json()
    assert asset["size"] == PART_SIZE + 1
    r = anon.get(f"assets/{asset['asset_id']}/download/", follow_redirects=True)
    assert r.status_code == 200
    assert len(r.content) == len(data)
    assert r.content == data


def test_a_part_can_be_sent_again(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(5000)
    upload = start_upload(alice, dandiset, data)
    part = upload.parts[0]
    bad = anonymous_put(part["upload_url"], random_bytes(5000))  # wrong bytes, right size
    assert bad.status_code == 200
    done = put_parts(upload)  # the retry replaces the first try
    assert done[0]["etag"] != bad.headers["etag"].strip('"')
    assert complete(alice, upload, done).status_code == 200
    assert validate(alice, upload).status_code == 200


def test_part_urls_need_their_signature(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(1000)
    upload = start_upload(alice, dandiset, data)
    url = upload.parts[0]["upload_url"]
    query = dict(parse_qsl(urlsplit(url).query))
    sig = next(k for k in query if "signature" in k.lower())
    expires = next(k for k in query if "expires" in k.lower())
    forged = [
        _tamper(url, **{sig: "0" * len(query[sig])}),
        _tamper(url, **{expires: str(int(query[expires]) + 3600)}),
        _tamper(url, partNumber="2"),
        strip_query(url) + "?" + urlencode({"uploadId": query["uploadId"], "partNumber": "1"}),
    ]
    for bad in forged:
        r = anonymous_put(bad, data)
        assert r.status_code == 403, (bad, r.text)
        assert r.json()["detail"]
    # A signature is bound to its method too: the part URL cannot complete the upload.
    assert httpx.post(url, content=b"<x/>").status_code in (403, 405)
    assert put_parts(upload)  # the genuine URL still works


def test_wrong_part_sizes_are_400(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(1000)
    upload = start_upload(alice, dandiset, data)
    url = upload.parts[0]["upload_url"]
    for body in (data[:-1], data + b"x", b""):
        r = anonymous_put(url, body)
        assert r.status_code == 400
        assert "1000 bytes" in r.json()

    def chunked(payload: bytes) -> Any:  # no Content-Length: the size is checked as it streams
        yield payload[:500]
        yield payload[500:]

    r = anonymous_put(url, chunked(data + b"extra"))
    assert r.status_code == 400
    r = anonymous_put(url, chunked(data[:999]))
    assert r.status_code == 400
    assert put_parts(upload)


def test_unknown_part_numbers_are_400(alice: httpx.Client, dandiset: str) -> None:
    upload = start_upload(alice, dandiset, random_bytes(10))
    # Signed URLs for other part numbers do not exist; an unsigned one is refused first.
    r = anonymous_put(_tamper(upload.parts[0]["upload_url"], partNumber="0"), b"x")
    assert r.status_code in (400, 403)


def test_complete_checks_the_part_list(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(PART_SIZE + 10)
    upload = start_upload(alice, dandiset, data)
    first = {"part_number": 1, "size": PART_SIZE, "etag": "0" * 32}
    second = {"part_number": 2, "size": 10, "etag": "0" * 32}
    url = f"uploads/{upload.upload_id}/complete/"
    for parts in (
        [],
        [first],
        [first, {**second, "size": 11}],
        [first, {**second, "etag": "short"}],
        [first, {**second, "part_number": 3}],
        "parts",
    ):
        r = alice.post(url, json={"parts": parts})
        assert r.status_code == 400, parts
        assert r.text
    assert (
        alice.post(f"uploads/{uuid.uuid4()}/complete/", json={"parts": [first]}).status_code == 404
    )


def test_part_etag_mismatch_at_complete_is_400(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(2000)
    upload = start_upload(alice, dandiset, data)
    done = put_parts(upload)
    wrong = [{**done[0], "etag": md5_hex(b"something else")}]
    r = complete(alice, upload, wrong)
    assert r.status_code == 400
    assert "ETag" in r.json()
    # A part that never arrived.
    other = start_upload(alice, dandiset, random_bytes(2000))
    r = complete(alice, other, [{"part_number": 1, "size": 2000, "etag": "0" * 32}])
    assert r.status_code == 400
    assert "not been uploaded" in r.json()
    # The upload survives the bad attempt.
    assert complete(alice, upload, done).status_code == 200
    assert validate(alice, upload).status_code == 200


def test_complete_url_needs_its_signature(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(100)
    upload = start_upload(alice, dandiset, data)
    done = put_parts(upload)
    fin = alice.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done}).json()
    query = dict(parse_qsl(urlsplit(fin["complete_url"]).query))
    sig = next(k for k in query if "signature" in k.lower())
    forged = _tamper(fin["complete_url"], **{sig: "f" * len(query[sig])})
    assert httpx.post(forged, content=fin["body"]).status_code == 403
    bad_xml = httpx.post(fin["complete_url"], content=b"<CompleteMultipartUpload><Part>")
    assert bad_xml.status_code == 400
    assert httpx.post(fin["complete_url"], content=fin["body"]).status_code == 200


def test_validate_before_complete_is_400(alice: httpx.Client, dandiset: str) -> None:
    upload = start_upload(alice, dandiset, random_bytes(100))
    r = validate(alice, upload)
    assert r.status_code == 400
    assert "not complete" in r.json()
    done = put_parts(upload)
    assert complete(alice, upload, done).status_code == 200
    assert validate(alice, upload).status_code == 200


def test_validate_with_a_wrong_etag_stores_nothing(
    archive: Archive, alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    claimed = random_bytes(3000)
    sent = random_bytes(3000)  # same size, other bytes
    upload = start_upload(alice, dandiset, claimed)
    upload.data = sent
    done = put_parts(upload)
    xml = complete(alice, upload, done)
    assert xml.status_code == 200
    assert _etag_in_xml(xml.text) == etag_of(sent)  # the client would notice here
    assert _stored_object(archive, upload.upload_id).exists()
    r = validate(alice, upload)
    assert r.status_code == 400
    message = r.json()
    assert "ETag" in message
    assert "Nothing was stored" in message
    for etag in (etag_of(claimed), etag_of(sent)):
        assert _blob_by_digest(anon, ETAG, etag).status_code == 404
    assert not _stored_object(archive, upload.upload_id).exists()
    assert validate(alice, upload).status_code == 404
    assert anon.get(f"dandisets/{dandiset}/").json()["draft_version"]["active_uploads"] == 0
    # The right bytes can be uploaded afterwards.
    assert upload_blob(alice, dandiset, claimed)


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"contentSize": 10, "digest": {"algorithm": SHA256, "value": "0" * 64}}, 400, "algorithm"),
        ({"contentSize": 10, "digest": {"algorithm": ETAG, "value": "abc-1"}}, 400, "dandi-etag"),
        (
            {"contentSize": 10, "digest": {"algorithm": ETAG, "value": "0" * 32 + "-2"}},
            400,
            "parts",
        ),
        (
            {"contentSize": -1, "digest": {"algorithm": ETAG, "value": "0" * 32 + "-1"}},
            400,
            "contentSize",
        ),
        (
            {"contentSize": "10", "digest": {"algorithm": ETAG, "value": "0" * 32 + "-1"}},
            400,
            "contentSize",
        ),
        ({"contentSize": 10, "digest": "0" * 32 + "-1"}, 400, "digest"),
        (
            {"contentSize": 10, "digest": {"algorithm": ETAG, "value": "0" * 32 + "-1"}},
            400,
            "dandiset",
        ),
    ],
)
def test_bad_initialize_bodies(
    alice: httpx.Client, dandiset: str, body: dict[str, Any], status: int, message: str
) -> None:
    if "digest" in body and isinstance(body["digest"], dict) and message != "dandiset":
        body = {**body, "dandiset": dandiset}
    r = alice.post("uploads/initialize/", json=body)
    assert r.status_code == status, r.text
    assert message in r.text


def test_initialize_for_an_unknown_dandiset_is_404(alice: httpx.Client) -> None:
    assert initialize(alice, "999999", random_bytes(10)).status_code == 404


def test_dedup_across_dandisets(alice: httpx.Client, admin: httpx.Client, dandiset: str) -> None:
    data = random_bytes(4321)
    blob_id = upload_blob(alice, dandiset, data)
    other = create_dandiset(admin)
    for c, ident in ((alice, dandiset), (admin, other)):
        r = initialize(c, ident, data)
        assert r.status_code == 409
        assert r.json() == "Blob already exists."
        assert r.headers["location"] == blob_id
    r = add_asset(admin, other, "same-bytes.bin", blob_id)
    assert r.status_code == 200
    assert r.json()["blob"] == blob_id


def test_concurrent_uploads_of_the_same_bytes_keep_one_blob(
    archive: Archive, alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(50_000)
    uploads = [start_upload(alice, dandiset, data) for _ in range(3)]
    for u in uploads:
        assert complete(alice, u, put_parts(u)).status_code == 200
    barrier = threading.Barrier(len(uploads))
    results: list[httpx.Response] = []

    def finish(u: Upload) -> None:
        with httpx.Client(base_url=str(alice.base_url), headers=alice.headers) as c:
            barrier.wait()
            results.append(validate(c, u))

    threads = [threading.Thread(target=finish, args=(u,)) for u in uploads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in results] == [200] * len(uploads), [r.text for r in results]
    blob_ids = {r.json()["blob_id"] for r in results}
    assert len(blob_ids) == 1
    [blob_id] = blob_ids
    assert _blob_by_digest(anon, ETAG, etag_of(data)).json()["blob_id"] == blob_id
    # Only the winner's bytes are kept.
    kept = [u.upload_id for u in uploads if _stored_object(archive, u.upload_id).exists()]
    assert kept == [blob_id]
    asset = add_asset(alice, dandiset, "dup.bin", blob_id).json()
    r = anon.get(f"assets/{asset['asset_id']}/download/", follow_redirects=True)
    assert r.content == data


def test_sha256_is_computed_in_the_background(
    alice: httpx.Client, anon: httpx.Client, dandiset: str
) -> None:
    data = random_bytes(200_000)
    asset = upload_asset(alice, dandiset, "hash/me.bin", data)

    def digest() -> dict[str, str] | None:
        d: dict[str, str] = anon.get(f"assets/{asset['asset_id']}/").json()["digest"]
        return d if SHA256 in d else None

    d = wait_for(digest, timeout=30)
    assert d == {ETAG: etag_of(data), SHA256: sha256_hex(data)}
    found = _blob_by_digest(anon, SHA256, sha256_hex(data))
    assert found.status_code == 200
    assert found.json() == {
        "blob_id": asset["blob"],
        "etag": etag_of(data),
        "sha256": sha256_hex(data),
        "size": len(data),
    }


def test_blob_digest_lookups(anon: httpx.Client) -> None:
    assert _blob_by_digest(anon, ETAG, "0" * 32 + "-1").status_code == 404
    assert _blob_by_digest(anon, SHA256, "0" * 64).status_code == 404
    assert _blob_by_digest(anon, ETAG, "nope").status_code == 400
    assert _blob_by_digest(anon, "md5", "0" * 32).status_code == 400


def test_zero_byte_file(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    upload = start_upload(alice, dandiset, b"")
    assert upload.etag == EMPTY_ETAG
    assert upload.parts == []
    xml = complete(alice, upload, [])
    assert xml.status_code == 200, xml.text
    assert _etag_in_xml(xml.text) == EMPTY_ETAG
    v = validate(alice, upload)
    assert v.status_code == 200, v.text
    assert (v.json()["etag"], v.json()["size"]) == (EMPTY_ETAG, 0)
    asset = add_asset(alice, dandiset, "empty.txt", v.json()["blob_id"]).json()
    assert asset["size"] == 0
    r = anon.get(f"assets/{asset['asset_id']}/download/", follow_redirects=True)
    assert r.status_code == 200
    assert r.content == b""
    d = wait_for(lambda: anon.get(f"assets/{asset['asset_id']}/").json()["digest"].get(SHA256))
    assert d == sha256_hex(b"")


def test_cancel(alice: httpx.Client, anon: httpx.Client, dandiset: str) -> None:
    upload = start_upload(alice, dandiset, random_bytes(100))
    assert anon.get(f"dandisets/{dandiset}/").json()["draft_version"]["active_uploads"] == 1
    assert anon.delete(f"uploads/{upload.upload_id}/").status_code == 401
    r = alice.delete(f"uploads/{upload.upload_id}/")
    assert r.status_code == 204
    assert anon.get(f"dandisets/{dandiset}/").json()["draft_version"]["active_uploads"] == 0
    assert anonymous_put(upload.parts[0]["upload_url"], upload.data).status_code == 404
    assert validate(alice, upload).status_code == 404
    assert alice.delete(f"uploads/{upload.upload_id}/").status_code == 404


def test_upload_with_neuropil_client(
    archive: Archive, anon: httpx.Client, dandiset: str, tmp_path: Path
) -> None:
    path = tmp_path / "f.bin"
    data = random_bytes(3 * MiB)
    path.write_bytes(data)
    with Transport(archive.api_url, archive.user_token) as t:
        first = upload_file(t, dandiset_id=dandiset, path=path, asset_path="c/f.bin")
        assert first["path"] == "c/f.bin"
        assert first["metadata"]["digest"][ETAG] == etag_of(data)
        # Again with other metadata: dedup (no bytes sent) and a replaced asset.
        again = upload_file(
            t, dandiset_id=dandiset, path=path, asset_path="c/f.bin", metadata={"x": 1}
        )
    assert again["blob"] == first["blob"]
    assert again["asset_id"] != first["asset_id"]
    listed = anon.get(assets_url(dandiset)).json()["results"]
    assert [a["asset_id"] for a in listed] == [again["asset_id"]]


def test_complete_url_refuses_huge_bodies(alice: httpx.Client, dandiset: str) -> None:
    upload = start_upload(alice, dandiset, random_bytes(100))
    done = put_parts(upload)
    fin = alice.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done}).json()
    huge = b"<CompleteMultipartUpload>" + b" " * (5 << 20) + b"</CompleteMultipartUpload>"
    r = httpx.post(fin["complete_url"], content=huge)
    assert r.status_code == 400
    assert "too large" in r.json()

    def streamed() -> Iterator[bytes]:  # no Content-Length: the limit applies as it arrives
        yield huge[: 1 << 20]
        for _ in range(5):
            yield b" " * (1 << 20)

    r = httpx.post(fin["complete_url"], content=streamed())
    assert r.status_code == 400
    # Without a valid signature, the body is not even read.
    r = httpx.post(_tamper(fin["complete_url"], uploadId=str(uuid.uuid4())), content=huge)
    assert r.status_code == 403
    assert httpx.post(fin["complete_url"], content=fin["body"]).status_code == 200


def test_urls_follow_forwarded_headers(alice: httpx.Client, dandiset: str) -> None:
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "archive.example.org"}
    data = random_bytes(100)
    r = alice.post(
        "uploads/initialize/",
        json={
            "contentSize": len(data),
            "digest": {"algorithm": ETAG, "value": etag_of(data)},
            "dandiset": dandiset,
        },
        headers=proxy,
    )
    assert r.status_code == 200
    assert r.json()["parts"][0]["upload_url"].startswith("https://archive.example.org/store/")
    alice.delete(f"uploads/{r.json()['upload_id']}/")
    asset = upload_asset(alice, dandiset, "p.bin", data)
    md = alice.get(f"assets/{asset['asset_id']}/", headers=proxy).json()
    assert md["contentUrl"][0] == (
        f"https://archive.example.org/api/assets/{asset['asset_id']}/download/"
    )
    assert md["contentUrl"][1].startswith("https://archive.example.org/store/")
    loc = alice.get(f"assets/{asset['asset_id']}/download/", headers=proxy).headers["location"]
    assert loc.startswith("https://archive.example.org/store/")

"""Input the archive cannot store or should not parse is refused up front (issue 16, items
2, 4 and 6): lone surrogates, oversized bodies and fields, numbers past 64 bits."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.api.helpers import (
    MiB,
    assets_url,
    draft_url,
    random_bytes,
    unique_name,
    upload_blob,
)
from tests.conftest import Archive


def _raw_json(c: httpx.Client, method: str, url: str, text: str) -> httpx.Response:
    """Send JSON text as is (``json=`` would escape or refuse what we want to send)."""
    headers = {"Content-Type": "application/json"}
    return c.request(method, url, content=text.encode("utf-8"), headers=headers)


# -- item 2: text that cannot be stored ------------------------------------------------------
LONE = [r"x\ud800y", r"\udc00", r"ab\ud83d", r"nul\u0000here"]


@pytest.mark.parametrize("escaped", LONE)
def test_dandiset_create_refuses_lone_surrogates(
    alice: httpx.Client, anon: httpx.Client, escaped: str
) -> None:
    name = unique_name("surrogate")
    body = f'{{"name": "{name}", "metadata": {{"description": "{escaped}"}}}}'
    r = _raw_json(alice, "POST", "dandisets/", body)
    assert r.status_code == 400, r.text
    assert "Unicode" in r.json() or "NUL" in r.json()
    # Nothing was stored: no dandiset of that name, and listings still work.
    listing = anon.get("dandisets/", params={"search": name})
    assert listing.status_code == 200 and listing.json()["count"] == 0
    assert anon.get("dandisets/").status_code == 200


def test_asset_create_refuses_lone_surrogates(alice: httpx.Client, dandiset: str) -> None:
    blob = upload_blob(alice, dandiset, random_bytes(64))
    md = {"path": "bad.bin", "description": "PLACEHOLDER"}
    body = json.dumps({"metadata": md, "blob_id": blob}).replace("PLACEHOLDER", r"x\ud800y")
    r = _raw_json(alice, "POST", assets_url(dandiset), body)
    assert r.status_code == 400, r.text
    assert alice.get(assets_url(dandiset)).json()["count"] == 0  # nothing committed
    assert alice.get(f"{assets_url(dandiset)}paths/").status_code == 200
    # Raw (UTF-8 encoded) surrogates and other encodings are refused as well.
    raw = body.replace(r"x\ud800y", "x\ud800y").encode("utf-8", "surrogatepass")
    r = alice.post(assets_url(dandiset), content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "UTF-8" in r.json()
    utf16 = body.encode("utf-16-le")
    r = alice.post(
        assets_url(dandiset), content=utf16, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "UTF-8" in r.json()
    assert alice.get(assets_url(dandiset)).json()["count"] == 0


def test_surrogate_pairs_and_escaped_backslashes_are_fine(
    alice: httpx.Client, dandiset: str
) -> None:
    body = {"name": "ok", "metadata": {"description": "PLACEHOLDER"}}
    # An escaped emoji (a valid pair) and a literal backslash followed by "ud800".
    text = json.dumps(body).replace("PLACEHOLDER", r"fish \ud83d\udc1f and \\ud800")
    r = _raw_json(alice, "POST", "dandisets/", text)
    assert r.status_code == 200, r.text
    md = alice.get(draft_url(r.json()["identifier"])).json()
    assert md["description"] == "fish \U0001f41f and \\ud800"


# -- item 4: body and field sizes -------------------------------------------------------------
def _stream(total: int, chunk: int = MiB) -> Iterator[bytes]:
    block = b" " * chunk
    for _ in range(total // chunk):
        yield block


def test_a_large_anonymous_body_is_refused_unread(archive: Archive, anon: httpx.Client) -> None:
    size = 200 * MiB
    r = anon.post(
        "blobs/digest/",
        content=_stream(size),
        headers={"Content-Length": str(size), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert "larger than this endpoint accepts" in r.json()["detail"]
    assert anon.get("info/").status_code == 200


def test_a_streamed_body_is_cut_off_at_the_limit(archive: Archive) -> None:
    """No Content-Length (chunked): the bytes are counted as they arrive."""
    host, port = urlsplit(archive.url).hostname, urlsplit(archive.url).port
    assert host and port
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/blobs/digest/ HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b" " * 65536
        for _ in range(40):  # 2.5 MiB, more than the 1 MiB limit
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        sock.sendall(b"0\r\n\r\n")
        answer = sock.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


def test_streamed_non_json_bodies_are_counted_too(archive: Archive) -> None:
    r = httpx.post(
        f"{archive.url}/login",
        content=_stream(3 * MiB, 64 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_metadata_bodies_have_a_larger_limit(alice: httpx.Client, dandiset: str) -> None:
    md = alice.get(draft_url(dandiset)).json()
    md["keywords"] = [f"k{i:07d}" * 10 for i in range(20_000)]  # ~1.6 MB, under 5 MiB
    r = alice.put(draft_url(dandiset), json={"metadata": md, "name": md["name"]})
    assert r.status_code == 200, r.text[:300]


def test_a_50_mb_description_is_refused(alice: httpx.Client, dandiset: str) -> None:
    md = alice.get(draft_url(dandiset)).json()
    md["description"] = "x" * (50 * 1000 * 1000)
    r = alice.put(draft_url(dandiset), json={"metadata": md, "name": md["name"]})
    assert r.status_code == 413
    assert alice.get(draft_url(dandiset)).json().get("description") != md["description"]


def test_an_oversized_field_is_refused_by_name(alice: httpx.Client) -> None:
    r = alice.post(
        "dandisets/", json={"name": unique_name(), "metadata": {"description": "y" * 200_000}}
    )
    assert r.status_code == 413
    assert "metadata.description is 200,000 characters long" in r.json()["detail"]


def test_upload_parts_are_not_limited(alice: httpx.Client, dandiset: str) -> None:
    upload_blob(alice, dandiset, random_bytes(3 * MiB))  # a 3 MiB part PUT


# -- item 6: numbers past 64 bits --------------------------------------------------------------
HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "url",
    [
        "dandisets/",
        "dandisets/{ident}/versions/",
        "dandisets/{ident}/versions/draft/assets/",
        "dandisets/{ident}/versions/draft/assets/paths/",
        "search/",
    ],
)
def test_huge_page_numbers_are_400(alice: httpx.Client, dandiset: str, url: str) -> None:
    params = {"page": HUGE}
    if url == "search/":
        params["q"] = "anything"
    r = alice.get(url.format(ident=dandiset), params=params)
    assert r.status_code == 400, r.text
    assert "page must be at most" in r.text
    r = alice.get(url.format(ident=dandiset), params={**params, "page": "9" * 5000})
    assert r.status_code == 400


def test_huge_range_offsets(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(1000)
    blob_id = upload_blob(alice, dandiset, data)
    created = alice.post(
        assets_url(dandiset), json={"metadata": {"path": "r.bin"}, "blob_id": blob_id}
    )
    url = created.json()["metadata"]["contentUrl"][1]
    past = httpx.get(url, headers={"Range": f"bytes={'9' * 5000}-"})
    assert past.status_code == 416 and past.headers["content-range"] == "bytes */1000"
    to_end = httpx.get(url, headers={"Range": f"bytes=10-{'9' * 5000}"})
    assert to_end.status_code == 206 and to_end.content == data[10:]
    suffix = httpx.get(url, headers={"Range": f"bytes=-{'9' * 5000}"})
    assert suffix.status_code == 206 and suffix.content == data

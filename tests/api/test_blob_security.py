"""Blob bytes never run as active content on the archive's origin (issue 16, item 1).

Uploaded bytes are served with server-chosen headers: ``inline`` only for media types on
the safe list, ``nosniff`` and a sandboxing CSP always, and ``response-content-*`` query
parameters only when the URL's signature covers them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.helpers import client, create_dandiset, strip_query, unique_name, upload_asset
from tests.support.server import ServerProcess

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SANDBOX = "sandbox; default-src 'none'"


def _assert_inert(r: httpx.Response) -> None:
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-security-policy"] == SANDBOX
    assert r.headers["content-disposition"].startswith("attachment")
    assert "html" not in r.headers["content-type"]


@pytest.fixture
def html_asset(alice: httpx.Client, dandiset: str) -> dict[str, str]:
    asset = upload_asset(
        alice, dandiset, f"{unique_name('page')}.html", HTML, {"encodingFormat": "text/html"}
    )
    return {"asset_id": asset["asset_id"], "blob_url": asset["metadata"]["contentUrl"][1]}


def test_query_parameters_cannot_make_a_blob_html(html_asset: dict[str, str]) -> None:
    url = html_asset["blob_url"]
    forged = {
        "response-content-type": "text/html",
        "response-content-disposition": "inline",
    }
    r = httpx.get(url, params=forged)
    assert r.status_code == 403
    assert "signed" in r.json()["detail"]
    assert b"<script>" not in r.content
    plain = httpx.get(url)
    assert plain.status_code == 200 and plain.content == HTML
    _assert_inert(plain)
    assert plain.headers["content-type"] == "application/octet-stream"


def test_inline_html_download_is_served_as_an_attachment(
    anon: httpx.Client, html_asset: dict[str, str]
) -> None:
    r = anon.get(
        f"assets/{html_asset['asset_id']}/download/", params={"content_disposition": "inline"}
    )
    assert r.status_code == 302
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["response-content-disposition"][0].startswith("attachment")
    assert "X-Np-Signature" in query
    blob = httpx.get(r.headers["location"])
    assert blob.status_code == 200 and blob.content == HTML
    _assert_inert(blob)


def test_signed_headers_cannot_be_changed(anon: httpx.Client, html_asset: dict[str, str]) -> None:
    r = anon.get(f"assets/{html_asset['asset_id']}/download/")
    location = r.headers["location"]
    tampered = location.replace("attachment", "inline", 1)
    assert httpx.get(tampered).status_code == 403
    added = f"{location}&response-content-type=text%2Fhtml"
    assert httpx.get(added).status_code == 403


@pytest.mark.parametrize(
    ("name", "fmt", "inline"),
    [
        ("image.png", "image/png", True),
        ("notes.txt", "text/plain", True),
        ("drawing.svg", "image/svg+xml", False),  # SVG runs script
        ("page.xhtml", "application/xhtml+xml", False),
        ("data.xml", "text/xml", False),
        ("code.js", "text/javascript", False),
    ],
)
def test_only_safe_types_are_inline(
    alice: httpx.Client, anon: httpx.Client, dandiset: str, name: str, fmt: str, inline: bool
) -> None:
    data = f"{unique_name()} {name}".encode()
    asset = upload_asset(alice, dandiset, name, data, {"encodingFormat": fmt})
    r = anon.get(f"assets/{asset['asset_id']}/download/", params={"content_disposition": "inline"})
    blob = httpx.get(r.headers["location"])
    assert blob.status_code == 200 and blob.content == data
    assert blob.headers["x-content-type-options"] == "nosniff"
    assert blob.headers["content-security-policy"] == SANDBOX
    if inline:
        assert blob.headers["content-disposition"].startswith("inline")
        assert blob.headers["content-type"] == fmt
    else:
        assert blob.headers["content-disposition"].startswith("attachment")
        assert blob.headers["content-type"] == "application/octet-stream"


def test_a_separate_blob_origin(tmp_path: Path) -> None:
    """``NEUROPIL_BLOB_BASE_URL``: blob URLs (contentUrl, downloads, uploads) use it."""
    server = ServerProcess(tmp_path / "data")
    blob_base = f"http://localhost:{server.port}"
    server.extra_env["NEUROPIL_BLOB_BASE_URL"] = blob_base
    token = server.add_user("owner")
    with server, client(server.api_url, token) as c:
        ident = create_dandiset(c)
        asset = upload_asset(c, ident, "a.bin", b"abc")
        assert asset["metadata"]["contentUrl"][1].startswith(f"{blob_base}/store/")
        r = c.get(f"assets/{asset['asset_id']}/download/")
        assert strip_query(r.headers["location"]).startswith(f"{blob_base}/store/")
        assert httpx.get(r.headers["location"]).content == b"abc"
    bad = ServerProcess(tmp_path / "bad", env={"NEUROPIL_BLOB_BASE_URL": "blobs.example.org"})
    with pytest.raises(RuntimeError):  # refused at start, with a message saying why
        bad.start(timeout=60)
    assert "NEUROPIL_BLOB_BASE_URL='blobs.example.org' is not a base URL" in bad.log()

"""The Zarr panel of an embargoed dandiset (issue 16).

The key URL (``/zarr/<id>/<key>``) reads an API key, never the session, so on an embargoed
dandiset the panel's links point at the web app's route to the Zarr's files
(``/dandiset/{id}/{version}/files/{asset_id}/zarr/{key}``), which knows the reader by the
session or a review link's cookie and answers with a signed URL of the file. Every reader
the page lets in gets the exact bytes; nobody else learns where they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
import pytest

from tests.api.embargo_helpers import create_embargoed, grant, new_link
from tests.api.helpers import client, create_dandiset
from tests.conftest import Archive
from tests.support.zarrs import (
    add_zarr_asset,
    create_zarr,
    finalize,
    local_files,
    make_zarr,
    upload_files,
)
from tests.web.helpers import WebClient, signed_in_user

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

PATH = "sub-01/sample.zarr"
LINK = re.compile(r'<a class="zarr-file" href="([^"]+)">([^<]+)</a>')
#: The metadata documents at the root of :func:`make_zarr`'s Zarr, in the panel's order.
ROOT_METADATA = [".zgroup", ".zattrs", ".zmetadata"]
CHUNK = "data/0.0"


@dataclass
class Shared:
    """One embargoed and one open dandiset, each holding the same Zarr, and the owner's
    browser."""

    archive: Archive
    owner: WebClient
    owner_key: str
    files: dict[str, bytes]
    embargoed: str
    open: str
    secret_asset: str
    public_asset: str
    secret_zarr: str
    public_zarr: str

    def page(self, ident: str) -> str:
        return f"/dandiset/{ident}/draft/files?location={PATH}"

    def route(self, ident: str, asset_id: str, key: str) -> str:
        return f"/dandiset/{ident}/draft/files/{asset_id}/zarr/{key}"

    def secret(self, key: str) -> str:
        return self.route(self.embargoed, self.secret_asset, key)


@pytest.fixture(scope="module")
def shared(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    files = local_files(make_zarr(tmp_path_factory.mktemp("zarr") / "sample.zarr"))
    owner, _, key = signed_in_user(archive)
    with owner, client(archive.api_url, key) as api:
        embargoed = create_embargoed(api, "a Zarr under embargo")
        opened = create_dandiset(api, "a Zarr in the open")
        made = []
        for ident in (embargoed, opened):
            zarr_id = create_zarr(api, ident, PATH)
            upload_files(api, zarr_id, files)
            finalize(api, zarr_id)
            made.append((add_zarr_asset(api, ident, PATH, zarr_id)["asset_id"], zarr_id))
        (secret_asset, secret_zarr), (public_asset, public_zarr) = made
        yield Shared(
            archive,
            owner,
            key,
            files,
            embargoed,
            opened,
            secret_asset,
            public_asset,
            secret_zarr,
            public_zarr,
        )


def panel_links(web: WebClient, page: str) -> dict[str, str]:
    """The panel's file links, by key."""
    return {html.unescape(key): html.unescape(href) for href, key in LINK.findall(web.page(page))}


def follow(web: WebClient, link: str) -> httpx.Response:
    """Follow a link as a browser does: the web app's 302, then the URL it names, which
    must need no cookie (a signed URL, or an open Zarr's key URL)."""
    r = web.get(link)
    assert r.status_code == 302, (link, r.status_code, r.text[:300])
    assert "no-store" in r.headers["cache-control"]
    got = httpx.get(r.headers["location"], timeout=60.0)
    assert got.status_code == 200, got.text[:300]
    return got


def assert_reads_everything(shared: Shared, web: WebClient) -> None:
    links = panel_links(web, shared.page(shared.embargoed))
    assert links == {key: shared.secret(key) for key in ROOT_METADATA}
    for key, link in links.items():
        got = follow(web, link)
        assert got.content == shared.files[key]
        # Metadata documents are JSON, shown in place.
        assert got.headers["content-type"] == "application/json"
        assert got.headers["content-disposition"].startswith("inline;")
    chunk = follow(web, shared.secret(CHUNK))
    assert chunk.content == shared.files[CHUNK]
    assert chunk.headers["content-disposition"].startswith("attachment;")


def assert_refused(r: httpx.Response, status: int, shared: Shared) -> None:
    """Refused, and nothing names the Zarr or where its bytes are."""
    assert r.status_code == status, r.text[:300]
    location = r.headers.get("location", "")
    assert "/store/" not in location and "X-Np-" not in location
    for secret in ("/store/", shared.secret_zarr, PATH):
        assert secret not in r.text


def test_the_owner_reads_an_embargoed_zarr_through_the_page(shared: Shared) -> None:
    assert_reads_everything(shared, shared.owner)
    page = shared.owner.page(shared.page(shared.embargoed))
    assert "neuropil test zarr 0" in page  # the .zattrs, read for the page
    # No link the session cannot follow: neither the key URL nor the API's.
    assert 'id="zarr-link"' not in page and "Open with" not in page
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page)]
    ours = shared.secret("")
    assert [h for h in hrefs if "/zarr/" in h and not h.startswith(ours)] == []
    # The key URL is shown for scripts, which send an API key (and so does the snippet).
    assert f'<code id="zarr-url">{shared.archive.url}/zarr/{shared.secret_zarr}/</code>' in page
    assert 'id="zarr-needs-key"' in page and "NEUROPIL_API_KEY" in page
    # HEAD is answered as GET; the redirect is for this session only.
    r = shared.owner.http.head(shared.secret(".zattrs"))
    assert r.status_code == 302 and "/store/" in r.headers["location"]
    assert "no-store" in r.headers["cache-control"]
    # The key URL itself does not read the session.
    key_url = f"{shared.archive.url}/zarr/{shared.secret_zarr}/.zattrs"
    assert shared.owner.http.get(key_url).status_code == 401


def test_an_admin_and_a_named_reviewer_read_it(shared: Shared) -> None:
    admin, _, _ = signed_in_user(shared.archive, admin=True)
    reviewer, name, _ = signed_in_user(shared.archive)
    with admin, reviewer, client(shared.archive.api_url, shared.owner_key) as api:
        grant(api, shared.embargoed, name)
        for web in (admin, reviewer):
            assert_reads_everything(shared, web)


def test_a_review_link_session_reads_it(shared: Shared) -> None:
    with client(shared.archive.api_url, shared.owner_key) as api:
        token = new_link(api, shared.embargoed, label="zarr")["token"]
    with WebClient(shared.archive.url) as web:
        assert web.get(f"/review/{token}").status_code == 303
        assert_reads_everything(shared, web)
        assert token not in web.page(shared.page(shared.embargoed))


def test_strangers_are_refused(shared: Shared) -> None:
    route = shared.secret(".zattrs")
    stranger, _, _ = signed_in_user(shared.archive)
    with stranger, WebClient(shared.archive.url) as anonymous:
        r = anonymous.get(route)
        assert_refused(r, 303, shared)  # asked to sign in, and sent back here after
        assert r.headers["location"].endswith("/login?next=" + quote(route, safe=""))
        assert_refused(anonymous.http.head(route), 401, shared)
        assert_refused(stranger.get(route), 403, shared)
        assert_refused(stranger.http.head(route), 403, shared)
        # The embargoed Zarr's asset under the open dandiset's route: not found there.
        other = shared.route(shared.open, shared.secret_asset, ".zattrs")
        assert_refused(anonymous.get(other), 404, shared)


def test_keys_that_are_not_there_or_not_keys(shared: Shared) -> None:
    owner = shared.owner
    assert owner.get(shared.secret("no/such/key")).status_code == 404
    # Keys that would leave the Zarr, or name nothing, are refused before any read.
    for bad in ("%2E%2E/%2E%2E/secret", "a/%2E%2E/b", "/etc/passwd", ""):
        r = owner.get(shared.secret(bad))
        assert r.status_code in (400, 404), (bad, r.status_code)
        assert "location" not in r.headers
    # The open dandiset's Zarr asset is not in the embargoed one's version.
    elsewhere = shared.route(shared.embargoed, shared.public_asset, ".zattrs")
    assert owner.get(elsewhere).status_code == 404


def test_a_signed_url_reads_its_own_file_only(shared: Shared) -> None:
    location = shared.owner.get(shared.secret(".zattrs")).headers["location"]
    assert "/.zattrs?" in location
    forged = location.replace("/.zattrs?", "/.zmetadata?")
    assert httpx.get(forged, timeout=60.0).status_code == 404
    unsigned = location.partition("?")[0]
    assert httpx.get(unsigned, timeout=60.0).status_code == 404


def test_an_open_zarr_keeps_its_key_urls(shared: Shared) -> None:
    key_urls = f"{shared.archive.url}/zarr/{shared.public_zarr}"
    with WebClient(shared.archive.url) as anonymous:
        links = panel_links(anonymous, shared.page(shared.open))
        assert links == {key: f"{key_urls}/{key}" for key in ROOT_METADATA}
        for key, link in links.items():
            assert httpx.get(link, timeout=60.0).content == shared.files[key]
        page = anonymous.page(shared.page(shared.open))
        assert f'id="zarr-link" href="{key_urls}/"' in page
        assert 'id="zarr-needs-key"' not in page and "NEUROPIL_API_KEY" not in page
        assert "Open with vizarr (OME-Zarr)" in page
        # The web route answers anyone for an open Zarr too, with its key URL.
        route = shared.route(shared.open, shared.public_asset, CHUNK)
        assert anonymous.get(route).headers["location"] == f"{key_urls}/{CHUNK}"
        assert follow(anonymous, route).content == shared.files[CHUNK]

"""Downloads from the web pages of an embargoed dandiset (issue 16).

The API reads no session cookie, so the Download links of an embargoed dandiset point at
the web app's own download route (``/dandiset/{id}/{version}/files/{asset_id}/download``),
which knows the reader by the session or a review link's cookie and answers the same
redirect as the API. Every reader the page lets in gets the exact bytes; nobody else learns
where they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.api.embargo_helpers import create_embargoed, grant, new_link
from tests.api.helpers import client, create_dandiset, random_bytes, upload_asset
from tests.api.publishing import asset_metadata
from tests.conftest import Archive
from tests.web.helpers import WebClient, signed_in_user

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

PATH = "sub-01/sub-01_ecephys.bin"
DOWNLOAD_LINK = re.compile(r'id="download-link" href="([^"]+)"')
LIST_LINK = re.compile(r'href="([^"]+)" download>download</a>')


@dataclass
class Shared:
    """One embargoed and one open dandiset, each holding one file, and the owner's browser."""

    archive: Archive
    owner: WebClient
    owner_key: str
    embargoed: str
    open: str
    secret: bytes
    public: bytes
    secret_asset: str
    public_asset: str

    def file_page(self, ident: str) -> str:
        return f"/dandiset/{ident}/draft/files?location={PATH}"

    def route(self, ident: str, asset_id: str) -> str:
        return f"/dandiset/{ident}/draft/files/{asset_id}/download"


@pytest.fixture(scope="module")
def shared(archive: Archive) -> Iterator[Shared]:
    owner, _, key = signed_in_user(archive)
    secret, public = random_bytes(3000), random_bytes(2000)
    with owner, client(archive.api_url, key) as api:
        embargoed = create_embargoed(api, "downloads under embargo")
        opened = create_dandiset(api, "downloads in the open")
        hidden = upload_asset(api, embargoed, PATH, secret, asset_metadata())
        shown = upload_asset(api, opened, PATH, public, asset_metadata())
        yield Shared(
            archive,
            owner,
            key,
            embargoed,
            opened,
            secret,
            public,
            hidden["asset_id"],
            shown["asset_id"],
        )


def download_link(web: WebClient, page: str) -> str:
    match = DOWNLOAD_LINK.search(web.page(page))
    assert match, "the file page has no Download link"
    return html.unescape(match.group(1))


def follow(web: WebClient, link: str) -> bytes:
    """Follow a Download link as a browser does: the web app's (or the API's) 302, then the
    blob URL it names, which must need no cookie (a signed URL)."""
    r = web.get(link)
    assert r.status_code == 302, (link, r.status_code, r.text[:300])
    blob = httpx.get(r.headers["location"], timeout=60.0)
    assert blob.status_code == 200, blob.text[:300]
    assert blob.headers["content-disposition"].startswith("attachment;")
    return blob.content


def assert_refused(r: httpx.Response, status: int, shared: Shared) -> None:
    """Refused, and nothing names the file or where its bytes are."""
    assert r.status_code == status, r.text[:300]
    location = r.headers.get("location", "")
    assert "/store/" not in location and "X-Np-" not in location
    assert "/store/" not in r.text and PATH not in r.text
    assert shared.secret_asset not in r.text


def test_an_owner_downloads_an_embargoed_file(shared: Shared) -> None:
    link = download_link(shared.owner, shared.file_page(shared.embargoed))
    assert link == shared.route(shared.embargoed, shared.secret_asset)
    assert follow(shared.owner, link) == shared.secret
    # The file list's link is the same route.
    listing = shared.owner.page(f"/dandiset/{shared.embargoed}/draft/files?location=sub-01/")
    assert [html.unescape(h) for h in LIST_LINK.findall(listing)] == [link]
    # HEAD is answered as GET; the redirect is for this session only.
    r = shared.owner.http.head(link)
    assert r.status_code == 302 and "/store/" in r.headers["location"]
    assert "no-store" in r.headers["cache-control"]
    # The page still shows the API's URL (for scripts, with the API key).
    page = shared.owner.page(shared.file_page(shared.embargoed))
    assert f"/api/assets/{shared.secret_asset}/download/</code>" in page
    assert "send your API key" in page


def test_an_admin_and_a_named_reviewer_download_it(shared: Shared) -> None:
    admin, _, _ = signed_in_user(shared.archive, admin=True)
    reviewer, name, _ = signed_in_user(shared.archive)
    with admin, reviewer, client(shared.archive.api_url, shared.owner_key) as api:
        grant(api, shared.embargoed, name)
        for web in (admin, reviewer):
            link = download_link(web, shared.file_page(shared.embargoed))
            assert follow(web, link) == shared.secret


def test_a_review_link_session_downloads_it(shared: Shared) -> None:
    with client(shared.archive.api_url, shared.owner_key) as api:
        token = new_link(api, shared.embargoed, label="downloads")["token"]
    with WebClient(shared.archive.url) as web:
        assert web.get(f"/review/{token}").status_code == 303
        link = download_link(web, shared.file_page(shared.embargoed))
        assert link == shared.route(shared.embargoed, shared.secret_asset)
        assert follow(web, link) == shared.secret


def test_strangers_are_refused(shared: Shared) -> None:
    route = shared.route(shared.embargoed, shared.secret_asset)
    stranger, _, _ = signed_in_user(shared.archive)
    with stranger, WebClient(shared.archive.url) as anonymous:
        r = anonymous.get(route)
        assert_refused(r, 303, shared)  # asked to sign in, and sent back here after
        assert r.headers["location"].endswith("/login?next=" + route.replace("/", "%2F"))
        assert_refused(anonymous.http.head(route), 401, shared)
        assert_refused(stranger.get(route), 403, shared)
        assert_refused(stranger.http.head(route), 403, shared)


def test_an_asset_is_downloaded_only_through_its_own_dandiset(shared: Shared) -> None:
    # The embargoed file's id under the open dandiset's route: not found there.
    with WebClient(shared.archive.url) as anonymous:
        r = anonymous.get(shared.route(shared.open, shared.secret_asset))
        assert_refused(r, 404, shared)
    r = shared.owner.get(shared.route(shared.embargoed, shared.public_asset))
    assert r.status_code == 404


def test_an_open_file_downloads_as_before(shared: Shared) -> None:
    with WebClient(shared.archive.url) as anonymous:
        link = download_link(anonymous, shared.file_page(shared.open))
        # What users copy: the API's URL, which needs no session.
        assert link == f"{shared.archive.api_url}/assets/{shared.public_asset}/download/"
        assert follow(anonymous, link) == shared.public
        listing = anonymous.page(f"/dandiset/{shared.open}/draft/files?location=sub-01/")
        assert LIST_LINK.findall(listing) == [link]
        # The web route answers anyone for an open dandiset too.
        assert follow(anonymous, shared.route(shared.open, shared.public_asset)) == shared.public


def test_the_api_does_not_read_the_session_cookie(shared: Shared) -> None:
    """The owner's browser, session cookie and all, is anonymous to the API."""
    nested = (
        f"/api/dandisets/{shared.embargoed}/versions/draft/assets/{shared.secret_asset}/download/"
    )
    for url in (f"/api/assets/{shared.secret_asset}/download/", nested):
        r = shared.owner.get(url)
        assert r.status_code == 401, r.text[:300]
        assert "location" not in r.headers

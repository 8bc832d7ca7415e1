"""Reading pages without JavaScript: home, browse, dandiset, citations, file browser.

Every assertion reads the server-rendered HTML (what a browser without JavaScript shows);
the dandisets are made over the API by an approved user of the session's archive.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neuropil.http.transport import Transport
from tests.conftest import Archive
from tests.support.dandisets import Seeded, create_dandiset, seed
from tests.web.helpers import WebClient, signed_in_user, text

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def anon(archive: Archive) -> Iterator[WebClient]:
    with WebClient(archive.url) as web:
        yield web


@pytest.fixture(scope="module")
def seeded(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(archive.api_url, archive.user_token, tmp_path_factory.mktemp("web-seed"))


def test_home_shows_statistics_search_and_recent_dandisets(anon: WebClient, seeded: Seeded) -> None:
    r = anon.get("/")
    assert r.status_code == 200 and "set-cookie" not in r.headers  # reading sets no cookie
    page = text(r.text)
    assert re.search(r"\d+ dandisets \d+ published \d+ files [\d.]+ \w?B of data", page)
    assert '<form action="/search" method="get"' in r.text
    assert "Recently modified" in page and seeded.name in page


def test_browse_sorts_and_pages(archive: Archive, tmp_path: Path) -> None:
    web, _, key = signed_in_user(archive)
    with web, Transport(archive.api_url, key) as api:
        names = [f"browse {c} {tmp_path.name}" for c in "bcadefghijklmnopqrstuvwxyz"]
        ids = [create_dandiset(api, name)[0] for name in names]

        first = text(web.page("/dandiset/?mine=1&sort=name&order=asc"))
        assert "My dandisets (26)" in first and "Page 1 of 2" in first
        shown = re.findall(r"browse (\w) ", first)
        assert shown == sorted(shown) and len(shown) == 25
        last = text(web.page("/dandiset/?mine=1&sort=name&order=asc&page=2"))
        assert re.findall(r"browse (\w) ", last) == ["z"]

        by_id = text(web.page("/dandiset/?mine=1&sort=id&order=desc"))
        assert by_id.index(ids[-1]) < by_id.index(ids[-2])
        for sort in ("modified", "size"):
            assert "My dandisets (26)" in text(web.page(f"/dandiset/?mine=1&sort={sort}"))

    r = httpx.get(f"{archive.url}/dandiset/?sort=stars")
    assert r.status_code == 400 and "sort by one of id, name, modified, size" in text(r.text)


def test_dandiset_page_for_readers(anon: WebClient, seeded: Seeded, archive: Archive) -> None:
    page = anon.page(f"/dandiset/{seeded.identifier}")
    seen = text(page)
    for expected in (
        seeded.name,
        "Seeded by neuropil's client tests.",
        "Doe, Jane (Author, ContactPerson)",
        "CC-BY-4.0",
        f"NEUROPIL:{seeded.identifier}",
        "Versions: draft",
        f"Files {len(seeded.content)}",
        f"neuropil download {archive.url}/dandiset/{seeded.identifier}/draft",
        f"dandi download {archive.url}/dandiset/{seeded.identifier}/draft",
    ):
        assert expected in seen, expected
    assert "Owners" in seen and "Validation" not in seen and "Edit metadata" not in seen
    assert f"(Version draft) [Data set]. NEUROPIL Archive. {archive.url}" in seen

    bib = anon.get(f"/dandiset/{seeded.identifier}/draft/citation.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    assert "author = {Doe, Jane}" in bib.text and f"title = {{{seeded.name}}}" in bib.text
    ris = anon.get(f"/dandiset/{seeded.identifier}/draft/citation.ris")
    assert "TY  - DATA\r\n" in ris.text and "AU  - Doe, Jane\r\n" in ris.text


def test_owners_see_validation_and_actions(archive: Archive, tmp_path: Path) -> None:
    web, _, key = signed_in_user(archive)
    with web:
        mine = seed(archive.api_url, key, tmp_path, {"notes.txt": 10})
        seen = text(web.page(f"/dandiset/{mine.identifier}/draft"))
        assert "Validation Status:" in seen and "Edit metadata" in seen and "Add owner" in seen


def test_missing_pages_are_html_404s(anon: WebClient, seeded: Seeded) -> None:
    # A missing version of an open dandiset (not 000001: another module may have made that
    # one embargoed, which anonymous callers are asked to sign in for).
    missing_version = f"/dandiset/{seeded.identifier}/0.000000.0000/files"
    for path in ("/dandiset/999999", "/dandiset/12", missing_version):
        r = anon.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
    assert "No dandiset '12'" in text(anon.get("/dandiset/12").text)


def test_file_browser_folders_files_and_download(
    anon: WebClient, seeded: Seeded, archive: Archive
) -> None:
    root = text(anon.page(f"/dandiset/{seeded.identifier}/draft/files"))
    assert "5 files, 60.4 kB" in root
    # Folders first with their aggregate size and file count, then files.
    assert re.search(r"sub-01/ 50\.0 kB 2 sub-02/ 10\.3 kB 2 README\.txt 120 B", root)

    folder = anon.page(f"/dandiset/{seeded.identifier}/draft/files?location=sub-02/")
    assert "extra/" in text(folder) and "sub-02_ses-a.nwb" in text(folder)
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", text(folder))

    path = "sub-01/sub-01_ses-a.nwb"
    page = anon.page(f"/dandiset/{seeded.identifier}/draft/files?location={path}")
    seen = text(page)
    asset_id = seeded.asset_ids[path]
    url = f"{archive.api_url}/assets/{asset_id}/download/"
    assert f'id="download-link" href="{url}"' in page
    assert f'nwbfile = neuropil.open_nwb("{url}")' in seen
    assert '"path": "sub-01/sub-01_ses-a.nwb"' in seen  # the metadata view
    assert "Rename" not in seen  # not an owner
    body = httpx.get(url, follow_redirects=True)
    assert body.content == seeded.content[path]

    r = anon.get(f"/dandiset/{seeded.identifier}/draft/files?location=nowhere/")
    assert r.status_code == 404 and "No folder 'nowhere'" in text(r.text)


def test_static_files(anon: WebClient) -> None:
    css = anon.get("/static/neuropil.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert anon.get("/static/secret.key").status_code == 404
    assert anon.get("/static/..%2Fsessions.py").status_code == 404


def test_dandi_url_forms_all_answer(anon: WebClient, seeded: Seeded) -> None:
    ident = seeded.identifier
    for path in (
        f"/dandiset/{ident}",
        f"/dandiset/{ident}/",
        f"/dandiset/{ident}/draft",
        f"/dandiset/{ident}/draft/",
        f"/dandiset/{ident}/draft/files",
        f"/dandiset/{ident}/draft/files/?location=sub-01/",
        f"/dandiset/{ident}/draft/files?location=sub-01",
        "/dandiset",
        "/search",
    ):
        assert anon.get(path).status_code == 200, path

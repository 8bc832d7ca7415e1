"""Embargo on the web pages (issue 16): create an embargoed dandiset with the form, see it
marked, end the embargo; lists show it to its owner only. Reviewer pages are tested with
the reviewers (``tests/api/test_reviewers.py``), access cell by cell in
``tests/api/test_permission_matrix.py``."""

from __future__ import annotations

import httpx

from tests.api.embargo_helpers import wait_unembargoed
from tests.api.helpers import client
from tests.conftest import Archive
from tests.web.helpers import WebClient, signed_in_user, text


def test_create_embargoed_and_end_the_embargo(archive: Archive) -> None:
    web, _, key = signed_in_user(archive)
    with web, client(archive.api_url, key) as api, WebClient(archive.url) as stranger:
        r = web.submit(
            "/dandiset/create",
            "/dandiset/create",
            {
                "name": "embargoed on the web",
                "embargo": "1",
                "funding_source": "NIH",
                "award_number": "R01",
            },
        )
        assert r.status_code == 303, text(r.text)[:300]
        ident = r.headers["location"].rstrip("/").split("/")[-2]
        page = text(web.page(f"/dandiset/{ident}/draft"))
        assert "Embargoed until" in page and "End the embargo" in page
        assert "embargoed on the web" not in text(web.page("/dandiset/"))  # listed if asked
        assert "embargoed on the web" not in text(stranger.page("/dandiset/"))
        assert "embargoed on the web" in text(web.page("/dandiset/?mine=1"))
        assert "embargoed on the web" not in text(stranger.page("/"))
        assert stranger.get(f"/dandiset/{ident}/draft").status_code == 303
        md = api.get(f"dandisets/{ident}/versions/draft/").json()
        assert md["contributor"][-1]["awardNumber"] == "R01"

        # A bad form keeps what was typed and says why.
        r = web.submit(
            "/dandiset/create",
            "/dandiset/create",
            {"name": "half funded", "embargo": "1", "funding_source": "NIH"},
        )
        assert r.status_code == 400 and "award_number" in text(r.text)

        r = web.submit(
            f"/dandiset/{ident}/draft", f"/dandiset/{ident}/unembargo", {"confirm": "no"}
        )
        assert r.status_code == 400
        r = web.submit(
            f"/dandiset/{ident}/draft", f"/dandiset/{ident}/unembargo", {"confirm": ident}
        )
        assert r.status_code == 303
        with httpx.Client(base_url=archive.api_url + "/") as anon:
            wait_unembargoed(anon, ident)
        assert stranger.get(f"/dandiset/{ident}/draft").status_code == 200
        assert "Embargoed until" not in text(web.page(f"/dandiset/{ident}/draft"))

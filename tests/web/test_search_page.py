"""The search page without JavaScript: hits, help, and a bad query's message."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Archive
from tests.support.dandisets import seed
from tests.web.helpers import WebClient, text


def test_search_page_lists_hits_and_explains_bad_queries(archive: Archive, tmp_path: Path) -> None:
    ds = seed(archive.api_url, archive.user_token, tmp_path, {"sub-01/sub-01_ses-a.nwb": 100})
    word = ds.name.split()[-1]
    with WebClient(archive.url) as web:
        empty = text(web.page("/search"))
        assert "Operators" in empty and "species:mouse" in empty

        page = web.page(f"/search?q={word}")
        seen = text(page)
        assert "1 dandiset found" in seen and ds.name in seen
        assert f'href="/dandiset/{ds.identifier}/draft"' in page

        r = web.get("/search", params={"q": "created_after:yesterday"})
        assert r.status_code == 400
        assert "YYYY-MM-DD" in text(r.text)
        assert 'value="created_after:yesterday"' in r.text  # the query stays in the box

"""The index ``Link`` header (neuropil.core.links) and asset API URLs (neuropil.core.asset_urls)."""

from __future__ import annotations

import pytest

from neuropil.core.asset_urls import AssetUrl, parse_asset_url
from neuropil.core.links import (
    ACCEPT_INDEX,
    INDEX_MEDIA_TYPE,
    find_index_link,
    index_link,
    prefers_index,
)


def test_the_header_written_is_the_header_read() -> None:
    url = "https://host/api/assets/abc/index/"
    assert find_index_link(index_link(url), "https://other/") == url


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (None, None),
        ("", None),
        ('</i/>; rel="describedby"; type="application/json"', None),  # another format
        ('</i/>; rel="alternate"; type="application/vnd.lindi+json"', None),  # another relation
        # Several links, several relations, case, spacing, a relative URL, quoted commas.
        (
            '<https://x/?a=1,2>; rel="next"; title="a, b; c", </api/blobs/b/index/> ;'
            ' rel="alternate DescribedBy" ; type=Application/VND.lindi+json',
            "http://h:1/api/blobs/b/index/",
        ),
        ("garbage, </i/>; rel=describedby; type=application/vnd.lindi+json", None),
    ],
)
def test_find_index_link(header: str | None, found: str | None) -> None:
    assert find_index_link(header, "http://h:1/store/blobs/k") == found


@pytest.mark.parametrize(
    ("accept", "wanted"),
    [
        (ACCEPT_INDEX, True),  # what the reader sends
        (INDEX_MEDIA_TYPE, True),
        ("Application/VND.lindi+json ; q=0.9, application/octet-stream;q=0.5", True),
        (None, False),
        ("", False),
        ("*/*", False),  # curl, httpx
        ("text/html,application/xhtml+xml,*/*;q=0.8", False),  # a browser
        (f"{INDEX_MEDIA_TYPE}, */*", False),  # a tie: the bytes
        (f"{INDEX_MEDIA_TYPE};q=0, */*;q=0.1", False),  # refused
        (f"{INDEX_MEDIA_TYPE};q=oops, */*;q=0.1", False),  # unreadable quality: none
    ],
)
def test_prefers_index(accept: str | None, wanted: bool) -> None:
    assert prefers_index(accept) is wanted


def test_the_media_type() -> None:
    assert INDEX_MEDIA_TYPE == "application/vnd.lindi+json"


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://h/api/assets/a1/", AssetUrl("https://h/api", "a1")),
        ("https://h/api/assets/a1", AssetUrl("https://h/api", "a1")),
        (
            "https://h/api/assets/a1/download/?x=1",
            AssetUrl("https://h/api", "a1", suffix="download"),
        ),
        ("https://h/api/assets/a1/info", AssetUrl("https://h/api", "a1", suffix="info")),
        ("https://h/api/assets/a1/index/", AssetUrl("https://h/api", "a1", suffix="index")),
        (
            "http://h:8/lab/api/dandisets/000001/versions/0.250101.1200/assets/a1/download/",
            AssetUrl("http://h:8/lab/api", "a1", "000001", "0.250101.1200", "download"),
        ),
        ("https://h/assets/a1/", AssetUrl("https://h", "a1")),
        ("https://h/store/blobs/abc/def/a1", None),
        ("https://h/api/assets/", None),
        ("https://h/api/dandisets/000001/versions/draft/assets/?path=x", None),
        ("dandi://lab/000001/x.nwb", None),
    ],
)
def test_parse_asset_url(url: str, parsed: AssetUrl | None) -> None:
    assert parse_asset_url(url) == parsed


def test_an_asset_urls_neighbours() -> None:
    asset = parse_asset_url("https://h/api/dandisets/000001/versions/draft/assets/a1/")
    assert asset is not None
    assert asset.download_url == "https://h/api/assets/a1/download/"
    assert asset.index_url == "https://h/api/assets/a1/index/"

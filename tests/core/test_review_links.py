"""The one parser of a URL carrying a review link's token."""

from __future__ import annotations

import pytest

from neuropil.core.review_links import split_review


@pytest.mark.parametrize(
    ("url", "rest", "token"),
    [
        ("https://a.org/zarr/z/?review=t0k", "https://a.org/zarr/z/", "t0k"),
        ("https://a.org/zarr/z/?x=1&review=t0k&y=2", "https://a.org/zarr/z/?x=1&y=2", "t0k"),
        ("https://a.org/zarr/z/?review=a&review=b", "https://a.org/zarr/z/", "b"),
        ("https://a.org/zarr/z/?review=", "https://a.org/zarr/z/", None),
        ("https://a.org/zarr/z/?reviews=1", "https://a.org/zarr/z/?reviews=1", None),
        ("https://a.org/zarr/z/", "https://a.org/zarr/z/", None),
        ("https://a.org/zarr/z/?review=a%2Bb%3D", "https://a.org/zarr/z/", "a+b="),
    ],
)
def test_split_review(url: str, rest: str, token: str | None) -> None:
    assert split_review(url) == (rest, token)

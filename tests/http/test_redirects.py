"""The one redirect follower: hops resolved against the URL that answered, the token kept
to the API's origin, and a chain that never ends refused."""

from __future__ import annotations

import httpx
import pytest

from neuropil.errors import RemoteError
from neuropil.http import redirects
from neuropil.http.redirects import MAX_REDIRECTS, Hops, redirect_location, same_origin
from neuropil.http.transport import Backoff, Transport

API = "https://api.example.org/api"


def test_get_follows_to_the_blob_without_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.org":
            return httpx.Response(302, headers={"location": "https://bucket.example/b/x?sig=1"})
        if request.url.path == "/b/x":
            return httpx.Response(307, headers={"location": "../c/y"})  # relative to /b/x
        return httpx.Response(200, content=b"bytes")

    with Transport(API, "t0k3n", transport=httpx.MockTransport(handler)) as t:
        answer = redirects.get(t, f"{API}/assets/a/download/")
    assert answer.content == b"bytes"
    assert [str(r.url) for r in seen] == [
        f"{API}/assets/a/download/",
        "https://bucket.example/b/x?sig=1",
        "https://bucket.example/c/y",
    ]
    assert [r.headers.get("authorization") for r in seen] == ["token t0k3n", None, None]


def test_get_returns_statuses_in_ok() -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(503))
    with Transport(API, backoff=Backoff(attempts=1), transport=mock) as t:
        assert redirects.get(t, f"{API}/x/", ok=(503,)).status_code == 503


def test_a_redirect_loop_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": str(request.url)})

    calls = 0

    def counting(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return handler(request)

    with (
        Transport(API, transport=httpx.MockTransport(counting)) as t,
        pytest.raises(RemoteError, match="too many redirects") as info,
    ):
        redirects.get(t, f"{API}/loop/")
    assert info.value.status_code == 0
    assert calls == MAX_REDIRECTS + 1


def test_hops_count() -> None:
    hops = Hops("https://a.example/start", limit=2)
    assert hops.follow("https://a.example/x/y", "z") == "https://a.example/x/z"
    assert hops.follow("https://a.example/x/z", "https://b.example/") == "https://b.example/"
    with pytest.raises(RemoteError, match=r"from https://a\.example/start"):
        hops.follow("https://b.example/", "/again")


def test_redirect_location_and_origin() -> None:
    request = httpx.Request("GET", "https://a.example/x")
    moved = httpx.Response(302, headers={"location": "/y"}, request=request)
    assert redirect_location(moved) == "/y"
    assert redirect_location(httpx.Response(304, headers={"location": "/y"})) is None
    assert redirect_location(httpx.Response(302)) is None
    assert same_origin("https://a.example/x", "https://a.example:443/y") is False  # as written
    assert same_origin("https://a.example/x", "https://a.example/y")
    assert not same_origin("https://a.example/x", "http://a.example/x")

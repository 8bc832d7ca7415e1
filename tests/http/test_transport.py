"""The transport seam: ``httpx.MockTransport`` under the Transport and the Archive façade,
and every error answer turned into the RemoteError subclass its status means."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from neuropil.client.archive import Archive
from neuropil.client.instances import Registry
from neuropil.errors import (
    BadRequest,
    Conflict,
    Locked,
    NotFound,
    PermissionDenied,
    RemoteBadRequest,
    RemoteConflict,
    RemoteError,
    RemoteForbidden,
    RemoteLocked,
    RemoteNotFound,
    RemoteServerError,
)
from neuropil.http.transport import Backoff, Transport

API = "https://api.example.org/api"
Handler = Callable[[httpx.Request], httpx.Response]


def transport(handler: Handler, token: str | None = "t0k3n") -> Transport:
    """A Transport over ``handler`` that retries once, without sleeping."""
    return Transport(
        API, token, backoff=Backoff(attempts=2, base=0.0), transport=httpx.MockTransport(handler)
    )


def test_requests_go_through_the_given_httpx_transport() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    with transport(handler) as t:
        assert t.get_json("info/") == {"ok": True}
    assert [str(r.url) for r in seen] == [f"{API}/info/"]
    assert seen[0].headers["authorization"] == "token t0k3n"
    assert seen[0].headers["user-agent"].startswith("neuropil/")


@pytest.mark.parametrize(
    ("status", "cls", "meaning"),
    [
        (400, RemoteBadRequest, BadRequest),
        (401, RemoteForbidden, PermissionDenied),
        (403, RemoteForbidden, PermissionDenied),
        (404, RemoteNotFound, NotFound),
        (409, RemoteConflict, Conflict),
        (410, RemoteNotFound, NotFound),
        (422, RemoteBadRequest, BadRequest),
        (423, RemoteLocked, Locked),
        (500, RemoteServerError, RemoteServerError),
        (503, RemoteServerError, RemoteServerError),
        (418, RemoteError, RemoteError),
    ],
)
def test_an_error_status_raises_the_class_it_means(
    status: int, cls: type[RemoteError], meaning: type[Exception]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"detail": "the server's reason"})

    with transport(handler) as t, pytest.raises(RemoteError) as info:
        t.request("GET", "dandisets/000001/")
    assert type(info.value) is cls and isinstance(info.value, meaning)
    assert info.value.status_code == status
    assert info.value.url == f"{API}/dandisets/000001/"
    assert str(info.value) == f"GET {API}/dandisets/000001/ -> {status}: the server's reason"


def test_a_retried_status_that_recovers_is_no_error() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, json=[1])])
    with transport(lambda request: next(answers)) as t:
        assert t.get_json("x/") == [1]


def test_statuses_in_ok_are_answers_not_errors() -> None:
    with transport(lambda request: httpx.Response(404, text="gone")) as t:
        assert t.request("GET", "x/", ok=(404,)).status_code == 404


def test_no_answer_at_all_is_a_plain_remote_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with transport(handler) as t, pytest.raises(RemoteError, match="refused") as info:
        t.request("GET", "x/")
    assert type(info.value) is RemoteError and info.value.status_code == 0


# -- the façade over a mock archive -------------------------------------------------------------

DANDISET = {
    "identifier": "000027",
    "draft_version": {"version": "draft", "name": "Mock", "asset_count": 1, "size": 5},
    "most_recent_published_version": None,
    "contact_person": "Doe, Jane",
}
ASSET = {
    "asset_id": "a-1",
    "path": "sub-1/sub-1.nwb",
    "size": 5,
    "blob": "b-1",
    "metadata": {"digest": {"dandi:dandi-etag": "e-1"}},
}


def mock_archive(request: httpx.Request) -> httpx.Response:
    path = request.url.path.removeprefix("/api/")
    if path == "dandisets/000027/":
        return httpx.Response(200, json=DANDISET)
    if path == "dandisets/000027/versions/draft/assets/":
        return httpx.Response(200, json={"results": [ASSET], "next": None})
    return httpx.Response(404, json={"detail": "Not found."})


def test_the_archive_takes_an_httpx_transport(tmp_path: Path) -> None:
    registry = Registry(tmp_path, env={})
    registry.add("mock", API)  # a configured name: nothing to discover over the network
    mock = httpx.MockTransport(mock_archive)
    with Archive("mock", "t0k3n", registry=registry, transport=mock) as archive:
        ds = archive.dandiset("000027")
        assert ds.version_id == "draft" and ds.name == "Mock"
        assert [a.path for a in ds.assets()] == ["sub-1/sub-1.nwb"]
        asset = ds.asset("sub-1/sub-1.nwb")
        assert asset.etag == "e-1" and asset.transport is archive.transport
        assert asset.download_url == f"{API}/assets/a-1/download/"
        with pytest.raises(NotFound, match="dandiset 000999 not found"):
            archive.dandiset("000999")
        with pytest.raises(NotFound, match="no asset at"):
            ds.asset("sub-2/missing.nwb")

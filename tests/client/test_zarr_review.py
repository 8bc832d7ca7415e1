"""``neuropil.open_zarr`` of an embargoed Zarr by a review link's reader, against a real
server: the URL's ``?review=<token>`` is taken off (zarr-python appends keys to the URL and
would drop it) and sent as the ``X-Neuropil-Review`` header on every request (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import zarr

import neuropil
from neuropil.client.zarr_open import HttpZarrStore
from neuropil.core.review_links import REVIEW_HEADER
from neuropil.errors import RemoteForbidden
from tests.api.embargo_helpers import review_zarrs
from tests.conftest import Archive
from tests.support.zarrs import make_zarr

#: Who may read is decided in Python, the same on both backends.
pytestmark = pytest.mark.backends("sqlite")


@dataclass
class Shared:
    archive: Archive
    local: Path
    secret: str
    public: str
    token: str


@pytest.fixture(scope="module")
def shared(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    local = make_zarr(tmp_path_factory.mktemp("zarr") / "sample.zarr", seed=3)
    secret, public, token = review_zarrs(archive, local, "open_zarr review")
    yield Shared(archive, local, secret, public, token)


def our_store(group: zarr.Group) -> HttpZarrStore:
    # ours, below zarr's view of the consolidated metadata and its KVStore wrapper
    store = getattr(group.chunk_store, "_mutable_mapping", group.chunk_store)
    assert isinstance(store, HttpZarrStore)
    return store


def test_a_review_url_opens_an_embargoed_zarr(shared: Shared) -> None:
    url = f"{shared.archive.url}/zarr/{shared.secret}/?review={shared.token}"
    group = neuropil.open_zarr(url)
    store = our_store(group)
    assert store.base_url == f"{shared.archive.url}/zarr/{shared.secret}/"
    sent: list[httpx.Request] = []
    store.transport.client.event_hooks["request"].append(sent.append)
    expected = zarr.open_group(str(shared.local), mode="r")
    assert group.attrs["description"] == "neuropil test zarr 3"
    assert np.array_equal(group["data"][:], expected["data"][:])
    assert np.array_equal(group["sub"]["noise"][:], expected["sub"]["noise"][:])
    assert sent, "the chunks were read over HTTP"
    for request in sent:
        assert request.headers[REVIEW_HEADER] == shared.token
        assert shared.token not in str(request.url)


def test_without_the_token_it_is_refused(shared: Shared) -> None:
    for query in ("", "?review=not-a-token"):
        with pytest.raises(RemoteForbidden) as refused:
            neuropil.open_zarr(f"{shared.archive.url}/zarr/{shared.secret}/{query}")
        assert refused.value.status_code == 401


def test_an_open_zarr_opens_as_before(shared: Shared) -> None:
    group = neuropil.open_zarr(f"{shared.archive.url}/zarr/{shared.public}/")
    assert our_store(group).transport.review is None
    expected = zarr.open_group(str(shared.local), mode="r")
    assert np.array_equal(group["data"][:], expected["data"][:])

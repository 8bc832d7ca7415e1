"""Clients for the session's archive: anonymous, alice (approved user) and the admin."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.helpers import client, create_dandiset
from tests.conftest import Archive


@pytest.fixture
def anon(archive: Archive) -> Iterator[httpx.Client]:
    with client(archive.api_url) as c:
        yield c


@pytest.fixture
def alice(archive: Archive) -> Iterator[httpx.Client]:
    with client(archive.api_url, archive.user_token) as c:
        yield c


@pytest.fixture
def admin(archive: Archive) -> Iterator[httpx.Client]:
    with client(archive.api_url, archive.admin_token) as c:
        yield c


@pytest.fixture
def dandiset(alice: httpx.Client) -> str:
    """A fresh dandiset owned by alice."""
    return create_dandiset(alice)

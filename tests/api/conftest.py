"""Clients for the session's archive: anonymous, alice (approved user) and the admin."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.helpers import client, create_dandiset, unique_name
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


@pytest.fixture(scope="module")
def bob_token(archive: Archive) -> str:
    """A second approved user (not an owner of alice's dandisets), one per test module."""
    return archive.server.add_user(unique_name("bob"))


@pytest.fixture
def bob(archive: Archive, bob_token: str) -> Iterator[httpx.Client]:
    with client(archive.api_url, bob_token) as c:
        yield c

"""Tokens, the current user and DANDI's permission matrix (reference section 8)."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import (
    assets_url,
    client,
    create_dandiset,
    draft_url,
    initialize,
    random_bytes,
    unique_name,
    upload_asset,
    upload_blob,
)
from tests.conftest import Archive


@pytest.mark.parametrize("path", ["auth/token", "auth/token/"])
def test_token_is_echoed_with_and_without_slash(
    archive: Archive, alice: httpx.Client, path: str
) -> None:
    r = alice.get(path)
    assert r.status_code == 200
    assert r.json() == archive.user_token


def test_token_keyword_is_case_insensitive(archive: Archive) -> None:
    r = httpx.get(
        f"{archive.api_url}/auth/token/",
        headers={"Authorization": f"Token {archive.user_token}"},
    )
    assert r.status_code == 200
    assert r.json() == archive.user_token


def test_token_needs_authentication(anon: httpx.Client) -> None:
    assert anon.get("auth/token/").status_code == 401


@pytest.mark.parametrize("path", ["auth/token/", "dandisets/", "users/me/"])
def test_bad_token_is_401(archive: Archive, path: str) -> None:
    with client(archive.api_url, "0" * 40) as c:
        r = c.get(path)
    assert r.status_code == 401
    detail = r.json()["detail"]
    assert detail.startswith("Invalid token.")  # as DANDI's, then where keys come from
    assert "/account" in detail and "neuropil users add" in detail


def test_empty_token_is_401(archive: Archive) -> None:
    r = httpx.get(f"{archive.api_url}/users/me/", headers={"Authorization": "token"})
    assert r.status_code == 401
    assert "detail" in r.json()


def test_users_me(alice: httpx.Client, admin: httpx.Client, anon: httpx.Client) -> None:
    me = alice.get("users/me/")
    assert me.status_code == 200
    assert me.json() == {"username": "alice", "name": "alice", "admin": False, "status": "APPROVED"}
    boss = admin.get("users/me")
    assert boss.status_code == 200
    assert boss.json()["admin"] is True
    assert boss.json()["username"] == "admin"
    assert anon.get("users/me/").status_code == 401


def test_writes_without_a_token_are_401(anon: httpx.Client, alice: httpx.Client) -> None:
    ident = create_dandiset(alice)
    asset = upload_asset(alice, ident, "a.bin", random_bytes(100))
    attempts = [
        anon.post("dandisets/", json={"name": "nope", "metadata": {}}),
        anon.delete(f"dandisets/{ident}/"),
        anon.put(draft_url(ident), json={"name": "x", "metadata": {}}),
        anon.post(assets_url(ident), json={"metadata": {"path": "b"}, "blob_id": asset["blob"]}),
        anon.put(
            f"{assets_url(ident)}{asset['asset_id']}/",
            json={"metadata": {"path": "c"}, "blob_id": asset["blob"]},
        ),
        anon.delete(f"{assets_url(ident)}{asset['asset_id']}/"),
        initialize(anon, ident, random_bytes(10)),
        anon.post("auth/token/"),
    ]
    for r in attempts:
        assert r.status_code == 401, (r.request.method, r.request.url, r.text)
        assert r.json()["detail"]
    # Nothing changed.
    assert alice.get(f"{assets_url(ident)}{asset['asset_id']}/").status_code == 200
    assert alice.get(f"dandisets/{ident}/").json()["draft_version"]["asset_count"] == 1


def test_an_approved_non_owner_gets_403(admin: httpx.Client, alice: httpx.Client) -> None:
    ident = create_dandiset(admin)  # owned by the admin, not by alice
    asset = upload_asset(admin, ident, "a.bin", random_bytes(100))
    own = create_dandiset(alice)
    blob_id = upload_blob(alice, own, random_bytes(100))
    attempts = [
        alice.delete(f"dandisets/{ident}/"),
        alice.put(draft_url(ident), json={"name": "taken over", "metadata": {}}),
        alice.post(assets_url(ident), json={"metadata": {"path": "b"}, "blob_id": blob_id}),
        alice.put(
            f"{assets_url(ident)}{asset['asset_id']}/",
            json={"metadata": {"path": "c"}, "blob_id": asset["blob"]},
        ),
        alice.delete(f"{assets_url(ident)}{asset['asset_id']}/"),
        initialize(alice, ident, random_bytes(10)),
    ]
    for r in attempts:
        assert r.status_code == 403, (r.request.method, r.request.url, r.text)
        assert ident in r.json()["detail"]
    # Reads stay open to everyone.
    assert alice.get(f"dandisets/{ident}/").status_code == 200
    assert alice.get(f"{assets_url(ident)}{asset['asset_id']}/").status_code == 200
    info = admin.get(f"dandisets/{ident}/").json()
    assert info["draft_version"]["asset_count"] == 1
    assert info["draft_version"]["name"] != "taken over"


def test_admin_can_change_any_dandiset(admin: httpx.Client, alice: httpx.Client) -> None:
    ident = create_dandiset(alice)
    asset = upload_asset(alice, ident, "a.bin", random_bytes(100))
    r = admin.put(draft_url(ident), json={"name": "edited by admin", "metadata": {}})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "edited by admin"
    added = upload_asset(admin, ident, "by-admin.bin", random_bytes(50))
    assert added["path"] == "by-admin.bin"
    assert admin.delete(f"{assets_url(ident)}{asset['asset_id']}/").status_code == 204
    assert alice.get(f"dandisets/{ident}/").json()["draft_version"]["asset_count"] == 1
    assert admin.delete(f"dandisets/{ident}/").status_code == 204
    assert alice.get(f"dandisets/{ident}/").status_code == 404


def test_token_refresh_replaces_the_old_token(archive: Archive) -> None:
    name = unique_name("carol")
    old = archive.server.add_user(name)
    with client(archive.api_url, old) as c:
        r = c.post("auth/token/")
        assert r.status_code == 200
        new = r.json()
        assert isinstance(new, str)
        assert len(new) == 40
        assert new != old
        assert c.get("users/me/").status_code == 401  # the old token is gone
    with client(archive.api_url, new) as c:
        me = c.get("users/me/")
        assert me.status_code == 200
        assert me.json()["username"] == name

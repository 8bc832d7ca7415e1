"""Who may do what (issue 16, items 5, 7 and 11): uploads belong to whoever started them,
owner e-mail addresses are for owners, DANDI's ``PUT /users/``, one path per asset name."""

from __future__ import annotations

import unicodedata

import httpx
import pytest

from tests.api.embargo_helpers import create_embargoed
from tests.api.helpers import (
    add_asset,
    all_pages,
    assets_url,
    complete,
    create_dandiset,
    put_parts,
    random_bytes,
    start_upload,
    upload_blob,
    validate,
)


def _bob_name(bob: httpx.Client) -> str:
    return str(bob.get("users/me/").json()["username"])


# -- item 5 -----------------------------------------------------------------------------------
def test_only_the_uploader_completes_and_validates(
    alice: httpx.Client, bob: httpx.Client, admin: httpx.Client
) -> None:
    ident = create_dandiset(alice)
    # bob co-owns the dandiset: ownership of the dandiset is not ownership of the upload.
    names = [{"username": "alice"}, {"username": _bob_name(bob)}]
    assert alice.put(f"dandisets/{ident}/users/", json=names).status_code == 200
    data = random_bytes(2048)
    upload = start_upload(alice, ident, data)
    done = put_parts(upload)
    r = bob.post(f"uploads/{upload.upload_id}/complete/", json={"parts": done})
    assert r.status_code == 403
    assert "started by another user" in r.json()["detail"]
    assert bob.post(f"uploads/{upload.upload_id}/validate/").status_code == 403
    assert complete(alice, upload, done).status_code == 200
    assert bob.post(f"uploads/{upload.upload_id}/validate/").status_code == 403
    # An administrator may finish anyone's upload.
    r = admin.post(f"uploads/{upload.upload_id}/validate/")
    assert r.status_code == 200, r.text


def test_the_uploader_still_finishes_their_own(alice: httpx.Client, dandiset: str) -> None:
    data = random_bytes(100)
    upload = start_upload(alice, dandiset, data)
    assert complete(alice, upload, put_parts(upload)).status_code == 200
    assert validate(alice, upload).status_code == 200


# -- item 7 -----------------------------------------------------------------------------------
def test_owner_emails_are_for_owners_and_admins(
    alice: httpx.Client, bob: httpx.Client, admin: httpx.Client, anon: httpx.Client
) -> None:
    ident = create_dandiset(alice)
    url = f"dandisets/{ident}/users/"
    for c in (anon, bob):  # anonymous, and signed in without owning it
        owners = c.get(url).json()
        assert [o["username"] for o in owners] == ["alice"]
        assert all(o["email"] is None for o in owners)
        assert all("name" in o for o in owners)
    for c in (alice, admin):
        assert all(o["email"] is not None for o in c.get(url).json())


# -- item 11: PUT /users/ -------------------------------------------------------------------
def test_put_users_replaces_the_owners(
    alice: httpx.Client, bob: httpx.Client, anon: httpx.Client
) -> None:
    ident = create_dandiset(alice)
    url = f"dandisets/{ident}/users/"
    bob_name = _bob_name(bob)
    r = alice.put(url, json=[{"username": "alice"}, {"username": bob_name}])
    assert r.status_code == 200, r.text
    assert [o["username"] for o in r.json()] == ["alice", bob_name]
    assert [o["username"] for o in anon.get(url).json()] == ["alice", bob_name]
    # bob, an owner now, hands the dandiset over entirely.
    r = bob.put(url, json=[{"username": bob_name}])
    assert r.status_code == 200
    assert [o["username"] for o in anon.get(url).json()] == [bob_name]
    assert alice.put(url, json=[{"username": "alice"}]).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ([], 400, "Cannot remove all draft owners"),
        ([{"username": "nobody-such-user"}], 400, "User nobody-such-user not found"),
        ({"username": "alice"}, 400, "JSON list of owners"),
        ([{"name": "alice"}], 400, "needs a 'username' string"),
    ],
)
def test_put_users_refusals(alice: httpx.Client, body: object, status: int, message: str) -> None:
    ident = create_dandiset(alice)
    url = f"dandisets/{ident}/users/"
    r = alice.put(url, json=body)
    assert r.status_code == status
    assert message in r.json()
    assert [o["username"] for o in alice.get(url).json()] == ["alice"]


def test_put_users_needs_an_owner(
    alice: httpx.Client, bob: httpx.Client, anon: httpx.Client
) -> None:
    ident = create_dandiset(alice)
    url = f"dandisets/{ident}/users/"
    assert anon.put(url, json=[{"username": "alice"}]).status_code == 401
    assert bob.put(url, json=[{"username": _bob_name(bob)}]).status_code == 403
    assert alice.put("dandisets/999999/users/", json=[{"username": "alice"}]).status_code == 404


# -- item 11: NFC paths -----------------------------------------------------------------------
def test_nfc_and_nfd_paths_are_one_asset(alice: httpx.Client, dandiset: str) -> None:
    nfc = unicodedata.normalize("NFC", "café/x.bin")
    nfd = unicodedata.normalize("NFD", "café/x.bin")
    assert nfc != nfd
    first = add_asset(alice, dandiset, nfd, upload_blob(alice, dandiset, random_bytes(10)))
    assert first.status_code == 200, first.text
    assert first.json()["path"] == nfc
    second = add_asset(alice, dandiset, nfc, upload_blob(alice, dandiset, random_bytes(11)))
    assert second.status_code == 409
    assert [a["path"] for a in all_pages(alice, assets_url(dandiset))] == [nfc]
    for query in (nfc, nfd):
        found = alice.get(assets_url(dandiset), params={"path": query}).json()
        assert [a["path"] for a in found["results"]] == [nfc]
    folder = alice.get(f"{assets_url(dandiset)}paths/", params={"path_prefix": nfd.split("/")[0]})
    assert folder.status_code == 200 and folder.json()["count"] == 1


# -- an asset listing reads its dandiset, version and page in one statement --------------------
def test_an_embargoed_listing_is_for_each_owner_once_and_nobody_else(
    alice: httpx.Client, bob: httpx.Client, admin: httpx.Client, anon: httpx.Client
) -> None:
    """The listing of all of a version's assets reads the dandiset's owners only when they
    decide (an embargoed dandiset): they are not read with the page, where two owners
    would list each asset twice, and a caller who is not one is refused all the same."""
    ident = create_embargoed(alice)
    url = assets_url(ident)
    paths = [f"sub-{i}/f{i}.txt" for i in range(3)]
    for path in paths:
        r = add_asset(alice, ident, path, upload_blob(alice, ident, random_bytes(64)))
        assert r.status_code == 200, r.text
    assert anon.get(url).status_code == 401
    assert bob.get(url).status_code == 403
    assert bob.get(url, params={"page": 2, "page_size": 1}).status_code == 403
    names = [{"username": "alice"}, {"username": _bob_name(bob)}]
    assert alice.put(f"dandisets/{ident}/users/", json=names).status_code == 200
    for reader in (alice, bob, admin):
        page = reader.get(url, params={"order": "path", "metadata": "1"}).json()
        assert page["count"] == 3
        assert [a["path"] for a in page["results"]] == paths
        assert [a["metadata"]["path"] for a in page["results"]] == paths
        assert all(
            a["metadata"]["access"][0]["status"] == "dandi:EmbargoedAccess" for a in page["results"]
        )
        assert [a["path"] for a in all_pages(reader, url, {"page_size": 1})] == paths
    # A version the dandiset does not have, or an empty one, after the same checks.
    assert bob.get(f"dandisets/{ident}/versions/0.260101.0000/assets/").status_code == 404
    assert anon.get(f"dandisets/{ident}/versions/0.260101.0000/assets/").status_code == 401
    empty = create_embargoed(alice)
    listed = alice.get(assets_url(empty)).json()
    assert (listed["count"], listed["results"], listed["next"]) == (0, [], None)
    assert anon.get(assets_url(empty)).status_code == 401

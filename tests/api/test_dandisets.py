"""``/api/dandisets/``: create, read, list (pagination, filters, search, ordering), delete."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dandi.utils import is_page2_url

from tests.api.helpers import create_dandiset, random_bytes, unique_name, upload_asset
from tests.conftest import Archive

DETAIL_KEYS = {
    "identifier",
    "created",
    "modified",
    "contact_person",
    "embargo_status",
    "star_count",
    "is_starred",
    "most_recent_published_version",
    "draft_version",
}
DRAFT_KEYS = {
    "version",
    "name",
    "asset_count",
    "active_uploads",
    "size",
    "status",
    "created",
    "modified",
    "release_notes",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _ids(page: dict[str, Any]) -> list[str]:
    return [d["identifier"] for d in page["results"]]


def test_create_returns_dandiset_detail(alice: httpx.Client) -> None:
    name = unique_name("create")
    r = alice.post("dandisets/", json={"name": name, "metadata": {"description": "d"}})
    assert r.status_code == 200, r.text
    d = r.json()
    assert set(d) == DETAIL_KEYS
    assert re.fullmatch(r"\d{6}", d["identifier"])
    assert TIMESTAMP.match(d["created"])
    assert TIMESTAMP.match(d["modified"])
    assert d["embargo_status"] == "OPEN"
    assert d["most_recent_published_version"] is None
    # the default contributor is the creator, named as DANDI cites people ("Last, First")
    assert d["contact_person"] == "Alice, Alice"
    draft = d["draft_version"]
    assert set(draft) == DRAFT_KEYS
    assert draft["version"] == "draft"
    assert draft["name"] == name
    assert draft["asset_count"] == 0
    assert draft["size"] == 0
    assert draft["active_uploads"] == 0
    assert draft["status"] == "Pending"
    assert draft["release_notes"] == ""


def test_create_keeps_a_given_contact_person(alice: httpx.Client) -> None:
    contributor = {
        "schemaKey": "Person",
        "name": "Doe, Jane",
        "roleName": ["dcite:Author", "dcite:ContactPerson"],
        "email": "jane@example.org",
    }
    r = alice.post("dandisets/", json={"name": "cp", "metadata": {"contributor": [contributor]}})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["contact_person"] == "Doe, Jane"
    md = alice.get(f"dandisets/{d['identifier']}/versions/draft/").json()
    assert md["contributor"] == [contributor]


def test_get_a_dandiset(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "gettable")
    for c in (alice, anon):
        r = c.get(f"dandisets/{ident}/")
        assert r.status_code == 200
        d = r.json()
        assert set(d) == DETAIL_KEYS
        assert d["identifier"] == ident
        assert d["draft_version"]["name"] == "gettable"
    assert anon.get(f"dandisets/{ident}").status_code == 200  # no trailing slash


@pytest.mark.parametrize("ident", ["999999", "12", "abcdef", "0000001"])
def test_unknown_dandiset_is_404(anon: httpx.Client, ident: str) -> None:
    r = anon.get(f"dandisets/{ident}/")
    assert r.status_code == 404
    assert r.json()["detail"]


def test_malformed_json_is_400_with_a_message(alice: httpx.Client) -> None:
    r = alice.post(
        "dandisets/", content=b'{"name": "x", ', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400
    assert "JSON" in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{}, {"metadata": {}}, {"name": ""}, {"name": "   "}, {"name": 5}, {"name": "x" * 301}],
)
def test_bad_names_are_400(alice: httpx.Client, body: dict[str, Any]) -> None:
    r = alice.post("dandisets/", json=body)
    assert r.status_code == 400
    assert "name" in r.text


def test_body_must_be_an_object(alice: httpx.Client) -> None:
    r = alice.post("dandisets/", json=["name"])
    assert r.status_code == 400
    r = alice.post("dandisets/", json={"name": "x", "metadata": ["not", "an", "object"]})
    assert r.status_code == 400
    assert "metadata" in r.json()


def test_explicit_identifier_is_admin_only(alice: httpx.Client, admin: httpx.Client) -> None:
    number = f"{900000 + uuid.uuid4().int % 99999:06d}"
    r = alice.post("dandisets/", json={"name": "x", "metadata": {"identifier": number}})
    assert r.status_code == 400
    assert "admin" in r.json()
    r = admin.post("dandisets/", json={"name": "x", "metadata": {"identifier": f"DANDI:{number}"}})
    assert r.status_code == 200, r.text
    assert r.json()["identifier"] == number
    again = admin.post("dandisets/", json={"name": "y", "metadata": {"identifier": number}})
    assert again.status_code == 400
    assert "exists" in again.json()


def test_list_pagination(archive: Archive, anon: httpx.Client, alice: httpx.Client) -> None:
    word = unique_name("pagination")
    made = [create_dandiset(alice, f"{word} {i}") for i in range(3)]
    first = anon.get("dandisets/", params={"search": word, "page_size": 2})
    assert first.status_code == 200
    page1 = first.json()
    assert set(page1) == {"count", "next", "previous", "results"}
    assert page1["count"] == 3
    assert page1["previous"] is None
    assert _ids(page1) == made[:2]
    # The official client parallelizes only when `next` is its own URL with page=2.
    assert is_page2_url(str(first.request.url), page1["next"])
    assert page1["next"].startswith(archive.api_url + "/dandisets/?")
    page2 = anon.get(page1["next"]).json()
    assert page2["count"] == 3
    assert _ids(page2) == made[2:]
    assert page2["next"] is None
    assert page2["previous"] is not None
    assert _ids(anon.get(page2["previous"]).json()) == made[:2]
    item = page1["results"][0]
    assert set(item) == DETAIL_KEYS
    assert set(item["draft_version"]) == {
        "version",
        "name",
        "asset_count",
        "size",
        "status",
        "created",
        "modified",
    }


def test_next_link_without_trailing_slash_and_behind_a_proxy(
    anon: httpx.Client, alice: httpx.Client, archive: Archive
) -> None:
    word = unique_name("proxy")
    for i in range(2):
        create_dandiset(alice, f"{word} {i}")
    r = anon.get(f"{archive.api_url}/dandisets", params={"search": word, "page_size": 1})
    assert is_page2_url(str(r.request.url), r.json()["next"])
    r = anon.get(
        "dandisets/",
        params={"search": word, "page_size": 1},
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "archive.example.org"},
    )
    nxt = urlsplit(r.json()["next"])
    assert (nxt.scheme, nxt.netloc, nxt.path) == ("https", "archive.example.org", "/api/dandisets/")


def test_page_size_limits(anon: httpx.Client) -> None:
    r = anon.get("dandisets/", params={"page_size": 1001})
    assert r.status_code == 400
    assert "1000" in r.json()
    assert anon.get("dandisets/", params={"page_size": 1000}).status_code == 200
    assert anon.get("dandisets/", params={"page_size": 0}).status_code == 400
    assert anon.get("dandisets/", params={"page_size": "many"}).status_code == 400


@pytest.mark.parametrize("page", ["0", "-1", "abc", "100000"])
def test_invalid_page_is_404(anon: httpx.Client, page: str) -> None:
    r = anon.get("dandisets/", params={"page": page})
    assert r.status_code == 404
    assert r.json() == {"detail": "Invalid page."}


def test_user_me(alice: httpx.Client, admin: httpx.Client, anon: httpx.Client) -> None:
    word = unique_name("mine")
    mine = create_dandiset(alice, word)
    theirs = create_dandiset(admin, word)
    r = alice.get("dandisets/", params={"user": "me", "search": word})
    assert r.status_code == 200
    assert _ids(r.json()) == [mine]
    assert _ids(admin.get("dandisets/", params={"user": "me", "search": word}).json()) == [theirs]
    assert _ids(anon.get("dandisets/", params={"search": word}).json()) == [mine, theirs]
    assert anon.get("dandisets/", params={"user": "me"}).status_code == 401


def test_search_by_name_metadata_and_identifier(alice: httpx.Client, anon: httpx.Client) -> None:
    word = unique_name("needle")
    other = unique_name("haystack")
    by_name = create_dandiset(alice, f"Recordings {word.upper()}")
    by_md = create_dandiset(alice, "plain", {"description": f"about {word} and {other}"})
    assert _ids(anon.get("dandisets/", params={"search": word}).json()) == [by_name, by_md]
    # Words are ANDed.
    both = anon.get("dandisets/", params={"search": f"{other} {word}"}).json()
    assert _ids(both) == [by_md]
    assert anon.get("dandisets/", params={"search": f"{word} nothing-else"}).json()["count"] == 0
    assert by_name in _ids(anon.get("dandisets/", params={"search": by_name}).json())
    # A long number is text to look for, not an id (on PostgreSQL it overflowed an integer).
    huge = anon.get("dandisets/", params={"search": "98031915079803191507"})
    assert huge.status_code == 200 and huge.json()["count"] == 0


def test_ordering(alice: httpx.Client, anon: httpx.Client) -> None:
    word = unique_name("order")
    b = create_dandiset(alice, f"{word} b")
    a = create_dandiset(alice, f"{word} a")
    c = create_dandiset(alice, f"{word} c")
    upload_asset(alice, c, "big.bin", random_bytes(2000))
    upload_asset(alice, b, "small.bin", random_bytes(10))

    def order(key: str) -> list[str]:
        r = anon.get("dandisets/", params={"search": word, "ordering": key})
        assert r.status_code == 200, r.text
        return _ids(r.json())

    assert order("name") == [a, b, c]
    assert order("-name") == [c, b, a]
    assert order("id") == [b, a, c]
    assert order("-id") == [c, a, b]
    assert order("size") == [a, b, c]
    assert order("-size") == [c, b, a]
    assert order("-modified")[0] == b  # the last one changed
    assert _ids(anon.get("dandisets/", params={"search": word}).json()) == [b, a, c]  # created
    r = anon.get("dandisets/", params={"ordering": "colour"})
    assert r.status_code == 400
    assert "ordering" in r.json()


def test_empty_and_draft_filters(alice: httpx.Client, anon: httpx.Client) -> None:
    word = unique_name("filters")
    empty = create_dandiset(alice, word)
    full = create_dandiset(alice, word)
    upload_asset(alice, full, "f.bin", random_bytes(10))
    assert _ids(anon.get("dandisets/", params={"search": word}).json()) == [empty, full]
    assert _ids(anon.get("dandisets/", params={"search": word, "empty": "false"}).json()) == [full]
    # Nothing is published, so draft=false leaves nothing.
    assert anon.get("dandisets/", params={"search": word, "draft": "false"}).json()["count"] == 0


def test_owners(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice)
    r = anon.get(f"dandisets/{ident}/users/")
    assert r.status_code == 200
    assert [u["username"] for u in r.json()] == ["alice"]


def test_delete(alice: httpx.Client, admin: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice)
    upload_asset(alice, ident, "x/y.bin", random_bytes(10))
    theirs = create_dandiset(admin)
    r = alice.delete(f"dandisets/{theirs}/")
    assert r.status_code == 403
    assert admin.get(f"dandisets/{theirs}/").status_code == 200
    r = alice.delete(f"dandisets/{ident}/")
    assert r.status_code == 204
    assert r.content == b""
    assert anon.get(f"dandisets/{ident}/").status_code == 404
    assert anon.get(f"dandisets/{ident}/versions/draft/assets/").status_code == 404
    assert alice.delete(f"dandisets/{ident}/").status_code == 404
    assert alice.delete("dandisets/999999/").status_code == 404

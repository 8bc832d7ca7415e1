"""Reviewers of an embargoed dandiset (beyond DANDI, issue 16): named accounts and review
links, granted and revoked by owners, expiring; they read what owners read, write nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.api.embargo_helpers import (
    create_embargoed,
    grant,
    link_client,
    new_link,
    username,
)
from tests.api.helpers import client, draft_url, unique_name
from tests.conftest import Archive
from tests.web.helpers import WebClient, text


def test_grant_and_revoke_a_named_reviewer(alice: httpx.Client, bob: httpx.Client) -> None:
    ident = create_embargoed(alice)
    url = f"dandisets/{ident}/reviewers/"
    assert bob.get(f"dandisets/{ident}/").status_code == 403
    until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    r = alice.put(url, json=[{"username": username(bob), "expires": until}])
    assert r.status_code == 200, r.text
    (entry,) = r.json()
    assert entry["username"] == username(bob)
    assert entry["expires"].startswith(
        (datetime.fromisoformat(until) + timedelta(days=1)).date().isoformat()
    )
    for path in (
        "",
        "versions/",
        "versions/draft/",
        "versions/draft/info/",
        "versions/draft/assets/",
    ):
        assert bob.get(f"dandisets/{ident}/{path}").status_code == 200, path
    # A reviewer sees the owners' addresses, as owners do, but not the other reviewers.
    assert all(o["email"] is not None for o in bob.get(f"dandisets/{ident}/users/").json())
    assert bob.get(url).status_code == 403
    # ... and changes nothing.
    assert bob.put(draft_url(ident), json={"name": "mine", "metadata": {}}).status_code == 403
    assert bob.put(url, json=[]).status_code == 403
    assert alice.put(url, json=[]).json() == []
    assert bob.get(f"dandisets/{ident}/").status_code == 403


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"username": "alice"}, "JSON list of reviewers"),
        ([{"name": "x"}], "needs a 'username' string"),
        ([{"username": "nobody-such-user"}], "User nobody-such-user not found"),
        ([{"username": "alice", "expires": "someday"}], "is not a date"),
        ([{"username": "alice", "expires": "2001-01-01"}], "must be in the future"),
        ([{"username": "alice", "expires": "2999-01-01"}], "at most five years away"),
    ],
)
def test_set_reviewers_refusals(alice: httpx.Client, body: object, message: str) -> None:
    ident = create_embargoed(alice)
    r = alice.put(f"dandisets/{ident}/reviewers/", json=body)
    assert r.status_code == 400, r.text
    assert message in r.text


def test_a_review_link_reads_and_writes_nothing(archive: Archive, alice: httpx.Client) -> None:
    ident = create_embargoed(alice, "under review")
    link = new_link(alice, ident, label="Journal of Neuroscience, round 1")
    assert link["url"].endswith(f"/review/{link['token']}")
    assert link["api_url"].endswith(f"/api/dandisets/{ident}/?review={link['token']}")
    assert httpx.get(link["api_url"]).json()["identifier"] == ident
    listed = alice.get(f"dandisets/{ident}/review-links/").json()
    assert [k["label"] for k in listed] == ["Journal of Neuroscience, round 1"]
    assert "token" not in listed[0]  # shown once, at creation
    with link_client(archive, link["token"]) as reader:
        assert reader.get(f"dandisets/{ident}/versions/draft/").json()["name"] == "under review"
        me = reader.get("users/me/").json()
        assert me["status"] != "APPROVED" and not me["admin"]
        assert reader.get("auth/token/").status_code == 403  # no token to mint
        r = reader.post("dandisets/", json={"name": "by a reviewer", "metadata": {}})
        assert r.status_code == 403 and "read access only" in r.text
        assert reader.put(draft_url(ident), json={"name": "x", "metadata": {}}).status_code == 403
        assert reader.get(f"dandisets/{ident}/review-links/").status_code == 403


def test_revoking_a_link_ends_it_at_once(archive: Archive, alice: httpx.Client) -> None:
    ident = create_embargoed(alice)
    keep, drop = new_link(alice, ident), new_link(alice, ident)
    r = alice.delete(f"dandisets/{ident}/review-links/{drop['id']}/")
    assert r.status_code == 204
    with link_client(archive, drop["token"]) as gone, link_client(archive, keep["token"]) as kept:
        r = gone.get(f"dandisets/{ident}/")
        assert r.status_code == 401 and "revoked or expired" in r.text
        assert kept.get(f"dandisets/{ident}/").status_code == 200
    assert [k["id"] for k in alice.get(f"dandisets/{ident}/review-links/").json()] == [keep["id"]]
    assert alice.delete(f"dandisets/{ident}/review-links/{drop['id']}/").status_code == 404


def test_links_expire(archive: Archive, alice: httpx.Client) -> None:
    ident = create_embargoed(alice)
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    link = new_link(alice, ident, expires=soon)
    with link_client(archive, link["token"]) as reader:
        assert reader.get(f"dandisets/{ident}/").status_code == 200
        time.sleep(3.5)
        assert reader.get(f"dandisets/{ident}/").status_code == 401
    (listed,) = alice.get(f"dandisets/{ident}/review-links/").json()
    assert listed["expired"] is True
    # A link lasts 90 days unless told; it needs a zone and a time in the future.
    default = new_link(alice, ident)["expires"]
    days = (datetime.fromisoformat(default.replace("Z", "+00:00")) - datetime.now(UTC)).days
    assert days in (89, 90)
    r = alice.post(f"dandisets/{ident}/review-links/", json={"expires": "2030-01-01T00:00:00"})
    assert r.status_code == 400 and "time zone" in r.text


def test_a_link_reads_one_dandiset_only(archive: Archive, alice: httpx.Client) -> None:
    first, second = create_embargoed(alice), create_embargoed(alice)
    with link_client(archive, new_link(alice, first)["token"]) as reader:
        assert reader.get(f"dandisets/{first}/").status_code == 200
        assert reader.get(f"dandisets/{second}/").status_code == 403
        listed = reader.get("dandisets/", params={"embargoed": "true", "page_size": 1000})
        found = {d["identifier"] for d in listed.json()["results"]}
        assert first in found and second not in found


# -- in the browser ------------------------------------------------------------------------------
def test_a_review_link_in_the_browser(archive: Archive, alice: httpx.Client) -> None:
    ident = create_embargoed(alice, "browsed by a reviewer")
    link = new_link(alice, ident)
    with WebClient(archive.url) as web:
        assert web.get(f"/dandiset/{ident}/draft").status_code == 303  # sign in first
        r = web.get(f"/review/{link['token']}")
        assert r.status_code == 303
        assert r.headers["location"].endswith(f"/dandiset/{ident}/draft")
        assert "np_review" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
        page = web.page(f"/dandiset/{ident}/draft")
        assert "browsed by a reviewer" in page and "Reviewer (read only)" in text(page)
        assert "Edit metadata" not in page and 'id="unembargo"' not in page
        files = web.get(f"/dandiset/{ident}/draft/files")
        assert files.status_code == 200
        assert web.get(f"/dandiset/{ident}/reviewers").status_code == 303
        # Leaving the review forgets the link in this browser.
        r = web.submit(f"/dandiset/{ident}/draft", "/logout")
        assert r.status_code == 303
        assert web.get(f"/dandiset/{ident}/draft").status_code == 303
        # A revoked link stops working at once, and its cookie is cleared.
        web.get(f"/review/{link['token']}")
        alice.delete(f"dandisets/{ident}/review-links/{link['id']}/")
        r = web.get(f"/dandiset/{ident}/draft")
        assert r.status_code == 303 and "np_review=" in r.headers.get("set-cookie", "")
        assert web.get(f"/review/{link['token']}").status_code == 404


def test_owners_manage_reviewers_on_the_web(archive: Archive) -> None:
    from tests.web.helpers import signed_in_user

    web, _, key = signed_in_user(archive)
    reviewer = unique_name("rev").replace("-", "")
    reviewer_key = archive.server.add_user(reviewer)
    with web, client(archive.api_url, key) as owner, client(archive.api_url, reviewer_key) as rc:
        ident = create_embargoed(owner, "managed on the web")
        page = f"/dandiset/{ident}/reviewers"
        assert "Reviewers" in web.page(f"/dandiset/{ident}/draft")
        r = web.submit(page, f"{page}/add", {"username": reviewer})
        assert r.status_code == 303
        assert rc.get(f"dandisets/{ident}/").status_code == 200
        r = web.submit(page, f"/dandiset/{ident}/review-links/create", {"label": "round 2"})
        assert r.status_code == 201
        assert "/review/" in r.text and "shown only now" in text(r.text)
        token = r.text.split("/review/", 1)[1].split("<", 1)[0].split('"', 1)[0]
        with link_client(archive, token) as reader:
            assert reader.get(f"dandisets/{ident}/").status_code == 200
        (link,) = owner.get(f"dandisets/{ident}/review-links/").json()
        r = web.submit(page, f"/dandiset/{ident}/review-links/{link['id']}/revoke")
        assert r.status_code == 303
        with link_client(archive, token) as reader:
            assert reader.get(f"dandisets/{ident}/").status_code == 401
        r = web.submit(page, f"{page}/remove", {"username": reviewer})
        assert r.status_code == 303
        assert rc.get(f"dandisets/{ident}/").status_code == 403
        grant(owner, ident, reviewer)  # the API and the web manage the same grants
        assert reviewer in web.page(page)

"""Embargoed dandisets with DANDI's semantics (issue 16): creation rules, metadata, the end of
an embargo (asked for, and at the end date), deduplication that tells nobody what exists,
and the URLs of embargoed bytes. Who may read what is ``test_permission_matrix.py``."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import h5py
import httpx
import numpy as np
import pytest

from tests.api.embargo_helpers import (
    create_embargoed,
    grant,
    link_client,
    new_link,
    set_end_date,
    username,
    wait_unembargoed,
)
from tests.api.helpers import (
    add_asset,
    assets_url,
    client,
    complete,
    create_dandiset,
    draft_url,
    initialize,
    put_parts,
    random_bytes,
    start_upload,
    unique_name,
    upload_blob,
    validate,
    wait_for,
)
from tests.api.publishing import DANDISET_METADATA, asset_metadata, publish, wait_status
from tests.conftest import Archive
from tests.support.server import ServerProcess


def _today() -> date:
    return datetime.now(UTC).date()


def _years(n: int) -> date:
    today = _today()
    return today.replace(year=today.year + n) if (today.month, today.day) != (2, 29) else today


# -- creation --------------------------------------------------------------------------------
def test_create_embargoed_as_dandi_does(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_embargoed(alice, "embargoed one")
    d = alice.get(f"dandisets/{ident}/").json()
    assert d["embargo_status"] == "EMBARGOED"
    md = alice.get(draft_url(ident)).json()
    (access,) = md["access"]
    assert access == {
        "schemaKey": "AccessRequirements",
        "status": "dandi:EmbargoedAccess",
        "embargoedUntil": _years(2).isoformat(),  # DANDI's default: two years
    }
    # The access block is the server's: a PUT cannot open the dandiset by its metadata.
    md["access"] = [{"schemaKey": "AccessRequirements", "status": "dandi:OpenAccess"}]
    assert alice.put(draft_url(ident), json={"name": md["name"], "metadata": md}).status_code == 200
    assert alice.get(draft_url(ident)).json()["access"][0]["status"] == "dandi:EmbargoedAccess"
    assert anon.get(f"dandisets/{ident}/").status_code == 401
    # ?embargo=false (the official client always sends it) is an open dandiset.
    r = alice.post("dandisets/", params={"embargo": "false"}, json={"name": "open", "metadata": {}})
    assert r.status_code == 200 and r.json()["embargo_status"] == "OPEN"


def test_funding_and_end_date(alice: httpx.Client) -> None:
    later = (_today() + timedelta(days=400)).isoformat()
    ident = create_embargoed(
        alice, funding_source="NIH", award_number="R01MH000001", embargo_end_date=later
    )
    md = alice.get(draft_url(ident)).json()
    assert md["access"][0]["embargoedUntil"] == later
    funder = md["contributor"][-1]
    assert funder == {
        "schemaKey": "Organization",
        "name": "NIH",
        "awardNumber": "R01MH000001",
        "roleName": ["dcite:Funder"],
        "includeInCitation": False,
    }
    # Five years with funding, two without.
    far = (_years(5) - timedelta(days=1)).isoformat()
    create_embargoed(alice, funding_source="NSF", award_number="1", embargo_end_date=far)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"funding_source": "NIH"}, "needs both funding_source and award_number"),
        ({"award_number": "R01"}, "needs both funding_source and award_number"),
        ({"embargo_end_date": "next year"}, "is not a date"),
        ({"embargo_end_date": "2001-01-01"}, "must be after today"),
        ({"embargo_end_date": "TWO_YEARS_AND_A_DAY"}, "at most 2 years away without funding"),
    ],
)
def test_create_refusals(alice: httpx.Client, params: dict[str, str], message: str) -> None:
    if params.get("embargo_end_date") == "TWO_YEARS_AND_A_DAY":
        params = {"embargo_end_date": (_years(2) + timedelta(days=1)).isoformat()}
    r = alice.post(
        "dandisets/",
        params={"embargo": "true", **params},
        json={"name": unique_name(), "metadata": {}},
    )
    assert r.status_code == 400, r.text
    assert message in r.text


def test_publishing_needs_an_open_dandiset(alice: httpx.Client) -> None:
    ident = create_embargoed(alice, metadata=DANDISET_METADATA)
    blob = upload_blob(alice, ident, random_bytes(100))
    assert add_asset(alice, ident, "a.bin", blob, asset_metadata()).status_code == 200
    # Valid as a draft (validation checks the metadata as it would be published: open)...
    wait_status(alice, ident, "Valid")
    r = publish(alice, ident)
    assert r.status_code == 400 and "Operation only allowed on OPEN dandisets" in r.text


# -- the end of an embargo ---------------------------------------------------------------------
def test_unembargo_refusals(alice: httpx.Client) -> None:
    opened = create_dandiset(alice)
    r = alice.post(f"dandisets/{opened}/unembargo/")
    assert r.status_code == 400 and "is not embargoed" in r.text
    ident = create_embargoed(alice)
    start_upload(alice, ident, random_bytes(10))  # in progress
    r = alice.post(f"dandisets/{ident}/unembargo/")
    assert r.status_code == 400 and "upload(s) in progress" in r.text


def test_unembargo_by_an_owner(fresh_server: ServerProcess) -> None:
    """EMBARGOED -> UNEMBARGOING (nothing changes while it is) -> OPEN, by the job."""
    server = fresh_server
    server.extra_env["NEUROPIL_JOB_WORKERS"] = "0"  # the job waits until the restart
    owner_token = server.add_user("owner")
    reviewer_token = server.add_user("reviewer")
    server.start()
    data = random_bytes(1000)
    with client(server.api_url, owner_token) as owner, client(server.api_url) as anon:
        ident = create_embargoed(owner, "soon open")
        blob = upload_blob(owner, ident, data)
        r = add_asset(owner, ident, "sub-1/a.bin", blob, asset_metadata())
        assert r.status_code == 200, r.text
        asset_id = r.json()["asset_id"]
        assert r.json()["metadata"]["access"][0]["status"] == "dandi:EmbargoedAccess"
        assert r.json()["metadata"]["access"][0]["embargoedUntil"] == _years(2).isoformat()
        blob_url = next(u for u in r.json()["metadata"]["contentUrl"] if "/store/" in u)
        assert httpx.get(blob_url).status_code == 404
        grant(owner, ident, "reviewer")
        token = new_link(owner, ident)["token"]

        r = owner.post(f"dandisets/{ident}/unembargo/")
        assert r.status_code == 200, r.text
        assert r.json()["embargo_status"] == "UNEMBARGOING"
        # While it is unembargoing: still embargoed for readers, every change refused.
        assert anon.get(f"dandisets/{ident}/").status_code == 401
        assert owner.get(assets_url(ident)).status_code == 200
        refused = [
            owner.put(draft_url(ident), json={"name": "x", "metadata": {}}),
            add_asset(owner, ident, "b.bin", blob),
            owner.delete(f"{assets_url(ident)}{asset_id}/"),
            initialize(owner, ident, random_bytes(5)),
            owner.delete(f"dandisets/{ident}/"),
            owner.post(f"dandisets/{ident}/unembargo/"),
        ]
        for answer in refused:
            assert answer.status_code == 400, answer.text
        assert publish(owner, ident).status_code == 400

    server.extra_env["NEUROPIL_JOB_WORKERS"] = "2"
    server.restart()
    with client(server.api_url, owner_token) as owner, client(server.api_url) as anon:
        d = wait_unembargoed(anon, ident)
        assert d["embargo_status"] == "OPEN"
        md = anon.get(draft_url(ident)).json()
        assert md["access"] == [{"schemaKey": "AccessRequirements", "status": "dandi:OpenAccess"}]
        asset = anon.get(f"assets/{asset_id}/").json()
        assert asset["access"][0]["status"] == "dandi:OpenAccess"
        assert httpx.get(blob_url).content == data  # its unsigned URL works now
        assert ident in {x["identifier"] for x in anon.get("dandisets/").json()["results"]}
        # Review access ends with the embargo: everyone reads now, and the grants are gone.
        assert owner.get(f"dandisets/{ident}/reviewers/").json() == []
        assert owner.get(f"dandisets/{ident}/review-links/").json() == []
        with link_client_for(server, token) as link:
            assert link.get(f"dandisets/{ident}/").status_code == 401
        with client(server.api_url, reviewer_token) as reviewer:
            assert reviewer.get(f"dandisets/{ident}/").status_code == 200
        # ... and the draft is revalidated with its new access.
        wait_status(owner, ident, "Invalid", "Valid")


def link_client_for(server: ServerProcess, token: str) -> httpx.Client:
    c = client(server.api_url)
    c.params = c.params.set("review", token)
    return c


def test_unembargo_at_the_end_date(fresh_server: ServerProcess) -> None:
    server = fresh_server
    server.extra_env["NEUROPIL_EMBARGO_CHECK_INTERVAL"] = "1"
    token = server.add_user("owner")
    server.start()
    with client(server.api_url, token) as owner, client(server.api_url) as anon:
        ending = create_embargoed(owner, "ends today")
        staying = create_embargoed(owner, "ends later")
        set_end_date(server, ending, _today())  # the last day has come
        d = wait_unembargoed(anon, ending)
        assert d["embargo_status"] == "OPEN"
        assert owner.get(f"dandisets/{staying}/").json()["embargo_status"] == "EMBARGOED"
        assert anon.get(f"dandisets/{staying}/").status_code == 401
    assert "at their end date" in server.log()


# -- deduplication -----------------------------------------------------------------------------
def test_an_owner_deduplicates_within_what_they_can_read(alice: httpx.Client) -> None:
    ident = create_embargoed(alice)
    data = random_bytes(3000)
    blob = upload_blob(alice, ident, data)
    r = initialize(alice, ident, data)
    assert r.status_code == 409 and r.headers["location"] == blob
    other = create_dandiset(alice)  # and into their open dandiset too
    r = initialize(alice, other, data)
    assert r.status_code == 409 and r.headers["location"] == blob
    # An embargoed upload of bytes an open blob holds: the open blob, nothing to hide.
    public = random_bytes(2000)
    open_blob = upload_blob(alice, other, public)
    r = initialize(alice, ident, public)
    assert r.status_code == 409 and r.headers["location"] == open_blob


def test_nobody_learns_that_an_embargoed_blob_exists(
    alice: httpx.Client, bob: httpx.Client, anon: httpx.Client
) -> None:
    secret = create_embargoed(alice, "secret")
    data = random_bytes(4000)
    blob = upload_blob(alice, secret, data)
    assert add_asset(alice, secret, "s.bin", blob, asset_metadata()).status_code == 200

    mine = create_dandiset(bob, "bob's open one")
    # The blob id alone is worth nothing: it is "not found", like a missing one.
    r = add_asset(bob, mine, "stolen.bin", blob)
    assert r.status_code == 404 and "No blob" in r.text
    # Bob holding the same bytes: no 409; he uploads them, then may use the blob.
    r = initialize(bob, mine, data)
    assert r.status_code == 200, r.text
    upload = start_upload(bob, mine, data)
    assert complete(bob, upload, put_parts(upload)).status_code == 200
    got = validate(bob, upload)
    assert got.status_code == 200, got.text
    assert got.json()["etag"] == upload.etag
    r = add_asset(bob, mine, "mine.bin", got.json()["blob_id"], asset_metadata())
    assert r.status_code == 200, r.text
    # In an open dandiset the bytes are public now (as on DANDI); the secret stays secret.
    url = next(u for u in r.json()["metadata"]["contentUrl"] if "/store/" in u)
    assert httpx.get(url).content == data
    assert anon.get(f"dandisets/{secret}/").status_code == 401
    assert bob.get(f"dandisets/{secret}/").status_code == 403


def test_embargoed_uploads_of_the_same_bytes_stay_embargoed(
    alice: httpx.Client, bob: httpx.Client, anon: httpx.Client
) -> None:
    first = create_embargoed(alice)
    data = random_bytes(5000)
    blob = upload_blob(alice, first, data)
    assert add_asset(alice, first, "a.bin", blob).status_code == 200
    second = create_embargoed(bob)
    upload = start_upload(bob, second, data)  # no 409 for bob
    assert complete(bob, upload, put_parts(upload)).status_code == 200
    blob_id = validate(bob, upload).json()["blob_id"]
    r = add_asset(bob, second, "b.bin", blob_id)
    assert r.status_code == 200, r.text
    url = next(u for u in r.json()["metadata"]["contentUrl"] if "/store/" in u)
    assert httpx.get(url).status_code == 404  # no unsigned read: still embargoed
    r = anon.post("blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": upload.etag})
    assert r.status_code == 404
    r = bob.post("blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": upload.etag})
    assert r.status_code == 200


# -- embargoed bytes -----------------------------------------------------------------------------
def _hdf5_bytes() -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.create_dataset("x", data=np.arange(1000, dtype="int32"), chunks=(100,))
    return buf.getvalue()


def test_index_of_an_embargoed_file_points_at_a_signed_url(
    alice: httpx.Client, anon: httpx.Client
) -> None:
    ident = create_embargoed(alice)
    data = _hdf5_bytes()
    r = add_asset(alice, ident, "data.h5", upload_blob(alice, ident, data), asset_metadata())
    asset_id = r.json()["asset_id"]
    url = f"assets/{asset_id}/index/"
    index = wait_for(lambda: (got := alice.get(url)).status_code == 200 and got.json())
    (template,) = index["templates"].values()
    assert "X-Np-Signature=" in template
    assert httpx.get(template, headers={"Range": "bytes=0-7"}).content == data[:8]
    assert anon.get(url).status_code == 401
    unsigned = template.split("?", 1)[0]
    assert httpx.get(unsigned).status_code == 404


def test_reviewer_of_one_dandiset_reads_no_other(
    archive: Archive, alice: httpx.Client, bob: httpx.Client
) -> None:
    first, second = create_embargoed(alice), create_embargoed(alice)
    grant(alice, first, username(bob))
    token = new_link(alice, first)["token"]
    assert bob.get(f"dandisets/{first}/").status_code == 200
    assert bob.get(f"dandisets/{second}/").status_code == 403
    with link_client(archive, token) as link:
        assert link.get(f"dandisets/{first}/").status_code == 200
        assert link.get(f"dandisets/{second}/").status_code == 403


def test_a_path_lookup_says_what_the_listing_says_of_embargoed_bytes(
    alice: httpx.Client,
) -> None:
    # A path lookup reads its asset with the dandiset and version in one statement; the
    # embargo of the asset's bytes must come from the asset's own holders, as a listing
    # reads it, not from the dandiset of the statement.
    closed = create_embargoed(alice, unique_name("closed"))
    opened = create_dandiset(alice, unique_name("open"))
    for ident in (closed, opened):
        blob = upload_blob(alice, ident, random_bytes(500))
        assert add_asset(alice, ident, "sub-1/a.bin", blob, asset_metadata()).status_code == 200
    for ident, status in ((closed, "dandi:EmbargoedAccess"), (opened, "dandi:OpenAccess")):
        listed = alice.get(assets_url(ident), params={"metadata": 1}).json()["results"]
        found = alice.get(assets_url(ident), params={"metadata": 1, "path": "sub-1/a.bin"})
        assert found.status_code == 200
        [one] = found.json()["results"]
        assert one == listed[0]
        assert one["metadata"]["access"][0]["status"] == status
    [one] = alice.get(assets_url(closed), params={"metadata": 1, "path": "sub-1/a.bin"}).json()[
        "results"
    ]
    assert one["metadata"]["access"][0]["embargoedUntil"] == _years(2).isoformat()

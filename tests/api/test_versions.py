"""``/api/dandisets/{id}/versions/``: list, raw metadata, info, draft metadata updates."""

from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import create_dandiset, draft_url, random_bytes, upload_asset, wait_for
from tests.api.publishing import asset_metadata, info, wait_status
from tests.conftest import Archive

INFO_KEYS = {
    "version",
    "name",
    "asset_count",
    "size",
    "status",
    "created",
    "modified",
    "active_uploads",
    "release_notes",
    "dandiset",
    "asset_validation_errors",
    "version_validation_errors",
    "metadata",
    "contact_person",
}


def test_list_versions(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "versioned")
    r = anon.get(f"dandisets/{ident}/versions/")
    assert r.status_code == 200
    page = r.json()
    assert page["count"] == 1
    assert page["next"] is None
    [draft] = page["results"]
    assert draft["version"] == "draft"
    assert draft["name"] == "versioned"
    # A new draft lacks what publishing needs: validation finds it Invalid.
    assert draft["status"] in ("Pending", "Validating", "Invalid")
    assert draft["asset_count"] == 0
    assert draft["dandiset"]["identifier"] == ident
    assert draft["dandiset"]["contact_person"] == "Alice, Alice"
    wait_status(anon, ident, "Invalid")
    page = anon.get(f"dandisets/{ident}/versions/").json()
    for order in ("created", "-created"):
        assert anon.get(f"dandisets/{ident}/versions/", params={"order": order}).json() == page
    assert anon.get(f"dandisets/{ident}/versions/", params={"order": "size"}).status_code == 400
    assert anon.get("dandisets/999999/versions/").status_code == 404


def test_raw_metadata(archive: Archive, alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "Raw metadata", {"description": "what it is"})
    data = random_bytes(1234)
    upload_asset(alice, ident, "sub/one.bin", data, asset_metadata())
    # assetsSummary is aggregated from valid assets when the draft is validated.
    wait_for(lambda: anon.get(draft_url(ident)).json()["assetsSummary"]["numberOfFiles"] == 1)
    r = anon.get(draft_url(ident))
    assert r.status_code == 200
    md = r.json()
    assert md["identifier"] == f"NEUROPIL:{ident}"
    assert md["id"] == f"NEUROPIL:{ident}/draft"
    assert md["version"] == "draft"
    assert md["name"] == "Raw metadata"
    assert md["description"] == "what it is"
    assert md["schemaKey"] == "Dandiset"
    assert md["url"] == f"{archive.url}/dandiset/{ident}/draft"
    assert "Raw metadata" in md["citation"]
    assert "(Version draft)" in md["citation"]
    assert md["citation"].endswith(md["url"])
    assert md["assetsSummary"]["schemaKey"] == "AssetsSummary"
    assert md["assetsSummary"]["numberOfFiles"] == 1
    assert md["assetsSummary"]["numberOfBytes"] == len(data)
    assert md["access"][0]["status"] == "dandi:OpenAccess"
    assert md["contributor"][0]["roleName"] == ["dcite:ContactPerson"]
    assert md["manifestLocation"] == [f"{archive.api_url}/dandisets/{ident}/versions/draft/assets/"]
    assert anon.get(f"dandisets/{ident}/versions/draft").json() == md


def test_version_info(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "informative")
    data = random_bytes(321)
    upload_asset(alice, ident, "a.bin", data, asset_metadata())
    found = wait_status(anon, ident, "Invalid")  # no description, license, ...
    assert set(found) == INFO_KEYS
    assert found["version"] == "draft"
    assert found["name"] == "informative"
    assert found["asset_count"] == 1
    assert found["size"] == len(data)
    assert found["asset_validation_errors"] == []
    fields = {e["field"] for e in found["version_validation_errors"]}
    assert {"description", "license"} <= fields
    assert found["metadata"] == anon.get(draft_url(ident)).json()
    assert found["contact_person"] == "Alice, Alice"
    assert found["dandiset"]["identifier"] == ident
    assert info(anon, ident)["release_notes"] == ""


@pytest.mark.parametrize("version", ["0.230101.1200", "1.0.0", "latest"])
def test_unknown_versions_are_404(alice: httpx.Client, anon: httpx.Client, version: str) -> None:
    ident = create_dandiset(alice)
    assert anon.get(f"dandisets/{ident}/versions/{version}/").status_code == 404
    assert anon.get(f"dandisets/{ident}/versions/{version}/info/").status_code == 404
    assert anon.get(f"dandisets/{ident}/versions/{version}/assets/").status_code == 404
    r = alice.put(
        f"dandisets/{ident}/versions/{version}/", json={"name": "x", "metadata": {"a": 1}}
    )
    assert r.status_code == 404


def test_put_draft_metadata(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "before")
    md = anon.get(draft_url(ident)).json()
    before = anon.get(f"dandisets/{ident}/").json()["modified"]
    # The client sends back everything it got, computed fields included.
    md["description"] = "after the edit"
    md["name"] = "after"
    md["identifier"] = "NEUROPIL:999999"
    md["citation"] = "forged"
    r = alice.put(draft_url(ident), json={"metadata": md, "name": md["name"]})
    assert r.status_code == 200, r.text
    info = r.json()
    assert set(info) == INFO_KEYS
    assert info["name"] == "after"
    assert info["status"] == "Pending"  # changed: validated again
    assert info["metadata"]["description"] == "after the edit"
    assert info["metadata"]["identifier"] == f"NEUROPIL:{ident}"  # computed, not stored
    assert info["metadata"]["citation"] != "forged"
    stored = anon.get(draft_url(ident)).json()
    assert stored["description"] == "after the edit"
    assert stored["name"] == "after"
    d = anon.get(f"dandisets/{ident}/").json()
    assert d["draft_version"]["name"] == "after"
    assert d["draft_version"]["status"] in ("Pending", "Validating", "Invalid")
    assert d["modified"] > before
    # An unchanged PUT is a no-op.
    again = alice.put(draft_url(ident), json={"metadata": stored, "name": "after"})
    assert again.status_code == 200
    assert anon.get(f"dandisets/{ident}/").json()["modified"] == d["modified"]


def test_put_changes_the_contact_person(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice)
    person = {"schemaKey": "Person", "name": "Roe, Rich", "roleName": ["dcite:ContactPerson"]}
    r = alice.put(draft_url(ident), json={"name": "cp", "metadata": {"contributor": [person]}})
    assert r.status_code == 200
    assert r.json()["contact_person"] == "Roe, Rich"
    assert anon.get(f"dandisets/{ident}/").json()["contact_person"] == "Roe, Rich"


def test_put_by_a_non_owner_is_403(admin: httpx.Client, alice: httpx.Client) -> None:
    ident = create_dandiset(admin, "admin's")
    r = alice.put(draft_url(ident), json={"name": "mine now", "metadata": {}})
    assert r.status_code == 403
    assert admin.get(f"dandisets/{ident}/").json()["draft_version"]["name"] == "admin's"


@pytest.mark.parametrize(
    "body",
    [{"name": "x"}, {"name": "x", "metadata": [1]}, {"name": "", "metadata": {}}, {"metadata": {}}],
)
def test_put_bad_bodies_are_400(alice: httpx.Client, body: dict[str, object]) -> None:
    ident = create_dandiset(alice)
    r = alice.put(draft_url(ident), json=body)
    assert r.status_code == 400
    assert r.text


def test_info_describes_its_dandiset_as_the_dandiset_does(
    alice: httpx.Client, anon: httpx.Client
) -> None:
    # /info/ reads its version with what it says of the dandiset in one statement; what it
    # says must be what the dandiset's own representation says: the contact person of the
    # newest published version (of the draft before there is one), the draft's active
    # uploads, and each version's own files and bytes.
    from tests.api.helpers import initialize
    from tests.api.publishing import publish_and_wait, publishable_dandiset

    ident = publishable_dandiset(alice, {"a.bin": 1000, "sub/b.bin": 200})
    first = info(anon, ident)
    assert first["dandiset"]["contact_person"] == "Doe, Jane"
    assert (first["asset_count"], first["size"]) == (2, 1200)
    published = publish_and_wait(alice, ident)

    md = alice.get(draft_url(ident)).json()
    md["contributor"][0]["name"] = "Roe, Richard"
    r = alice.put(draft_url(ident), json={"name": md["name"], "metadata": md})
    assert r.status_code == 200, r.text
    upload_asset(alice, ident, "c.bin", random_bytes(300), asset_metadata())
    assert initialize(alice, ident, random_bytes(10)).status_code == 200  # left open

    detail = anon.get(f"dandisets/{ident}/").json()
    draft, release = info(anon, ident), info(anon, ident, published)
    assert detail["contact_person"] == "Doe, Jane"
    for one in (draft, release):
        for key in ("identifier", "created", "modified", "contact_person", "embargo_status"):
            assert one["dandiset"][key] == detail[key], key
    assert draft["contact_person"] == "Roe, Richard"  # the version's own
    assert release["contact_person"] == "Doe, Jane"
    assert (draft["asset_count"], draft["size"]) == (3, 1500)
    assert (release["asset_count"], release["size"]) == (2, 1200)
    assert (draft["active_uploads"], release["active_uploads"]) == (1, 0)
    assert detail["draft_version"]["active_uploads"] == 1
    listed = anon.get(f"dandisets/{ident}/versions/draft/assets/").json()
    assert listed["count"] == 3

"""Drafts may be invalid, as on DANDI (issue 16): ``PUT .../versions/draft/`` stores any JSON
object; validation says what is wrong (status ``Invalid`` with the errors) and publishing
waits until it is fixed. Only what is not a JSON object, or would harm the archive, is
refused; computed fields are stripped."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.helpers import add_asset, create_dandiset, draft_url, random_bytes, upload_blob
from tests.api.publishing import (
    DANDISET_METADATA,
    asset_metadata,
    publish,
    publish_and_wait,
    wait_status,
)
from tests.conftest import Archive
from tests.web.helpers import WebClient

#: Well-formed JSON that the Dandiset schema refuses: a ``wasGeneratedBy`` item of the wrong
#: kind, an affiliation without a name, a contributor named null, values of the wrong type.
WRONG: dict[str, Any] = {
    **DANDISET_METADATA,
    "wasGeneratedBy": [{"schemaKey": "Dandiset", "name": "not an activity"}],
    "contributor": [
        {
            **DANDISET_METADATA["contributor"][0],
            "affiliation": [{"schemaKey": "Affiliation", "name": None}],
        },
        {"schemaKey": "Person", "name": None, "roleName": ["dcite:ContactPerson"]},
    ],
    "license": ["spdx:not-a-license"],
    "description": 42,
    "keywords": "not a list",
    "relatedResource": {"url": "not a list either"},
}


def test_an_invalid_draft_is_stored_and_reported(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "invalid on purpose")
    r = alice.put(draft_url(ident), json={"name": "invalid on purpose", "metadata": WRONG})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "Pending"
    stored = anon.get(draft_url(ident)).json()
    for key in ("wasGeneratedBy", "license", "description", "keywords", "relatedResource"):
        assert stored[key] == WRONG[key], key
    assert stored["contributor"] == WRONG["contributor"]
    found = wait_status(alice, ident, "Invalid")
    fields = {e["field"] for e in found["version_validation_errors"]}
    assert any(f.startswith("wasGeneratedBy") for f in fields), fields
    assert any(f.startswith("license") for f in fields), fields
    assert "description" in fields
    # Reads never stumble on it.
    d = anon.get(f"dandisets/{ident}/").json()
    assert isinstance(d["contact_person"], str)
    assert anon.get("dandisets/", params={"search": ident}).status_code == 200
    # Publishing waits for a valid draft.
    r = publish(alice, ident)
    assert r.status_code == 400, r.text


def test_fixing_the_draft_makes_it_publishable(alice: httpx.Client) -> None:
    ident = create_dandiset(alice, "fixed later")
    blob = upload_blob(alice, ident, random_bytes(100))
    assert add_asset(alice, ident, "a.bin", blob, asset_metadata()).status_code == 200
    assert (
        alice.put(draft_url(ident), json={"name": "fixed later", "metadata": WRONG}).status_code
        == 200
    )
    wait_status(alice, ident, "Invalid")
    r = alice.put(draft_url(ident), json={"name": "fixed later", "metadata": DANDISET_METADATA})
    assert r.status_code == 200
    wait_status(alice, ident, "Valid")
    assert publish_and_wait(alice, ident)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "metadata": [1]},
        {"name": "x", "metadata": "text"},
        {"name": "x", "metadata": None},
        {"name": "", "metadata": {}},
    ],
)
def test_what_is_still_refused(alice: httpx.Client, body: dict[str, object]) -> None:
    ident = create_dandiset(alice)
    assert alice.put(draft_url(ident), json=body).status_code == 400


def test_computed_fields_are_stripped(alice: httpx.Client) -> None:
    ident = create_dandiset(alice, "computed")
    md = {"identifier": "DANDI:999999", "version": "0.1", "citation": "mine", "doi": "10.1/x"}
    r = alice.put(draft_url(ident), json={"name": "computed", "metadata": md})
    assert r.status_code == 200
    stored = alice.get(draft_url(ident)).json()
    assert stored["identifier"].endswith(f":{ident}")
    assert stored["version"] == "draft"
    assert stored["citation"] != "mine" and "doi" not in stored


def test_web_pages_show_an_invalid_draft(archive: Archive, alice: httpx.Client) -> None:
    ident = create_dandiset(alice, "shown anyway")
    blob = upload_blob(alice, ident, random_bytes(10))
    assert add_asset(alice, ident, "f.bin", blob).status_code == 200
    assert (
        alice.put(draft_url(ident), json={"name": "shown anyway", "metadata": WRONG}).status_code
        == 200
    )
    wait_status(alice, ident, "Invalid")
    with WebClient(archive.url) as web:
        for path in ("", "/files", "/files?location=f.bin", "/citation.bib", "/citation.ris"):
            r = web.get(f"/dandiset/{ident}/draft{path}")
            assert r.status_code == 200, (path, r.text[:300])
        assert web.get("/dandiset/").status_code == 200
        assert web.get("/search", params={"q": "shown anyway"}).status_code == 200


def test_the_editor_opens_an_invalid_draft(archive: Archive) -> None:
    from tests.api.helpers import client
    from tests.web.helpers import signed_in_user

    web, _, key = signed_in_user(archive)
    with web, client(archive.api_url, key) as owner:
        ident = create_dandiset(owner, "edited anyway")
        r = owner.put(draft_url(ident), json={"name": "edited anyway", "metadata": WRONG})
        assert r.status_code == 200
        assert "edited anyway" in web.page(f"/dandiset/{ident}/draft/metadata")
        assert "edited anyway" in web.page(f"/dandiset/{ident}/draft")

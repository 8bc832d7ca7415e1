"""Owner actions over HTTP without JavaScript: create, edit metadata, owners, rename and
delete assets, publish, delete a dandiset; and the permission errors for everyone else."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.conftest import Archive
from tests.support.dandisets import seed
from tests.web.helpers import WebClient, field_errors, signed_in_user, text

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")


def _create(web: WebClient, name: str) -> str:
    r = web.submit(
        "/dandiset/create",
        "/dandiset/create",
        {"name": name, "description": "Made in a test.", "license": "spdx:CC0-1.0"},
    )
    assert r.status_code == 303, text(r.text)
    match = re.fullmatch(r"/dandiset/(\d{6})/draft", r.headers["location"])
    assert match
    return match.group(1)


def _editor_form(page: str) -> dict[str, str | list[str]]:
    """The editor's current values as the browser would send them untouched."""
    data: dict[str, str | list[str]] = {}
    for name, value in re.findall(r'<input name="([^"]+)" value="([^"]*)"', page):
        data[name] = value
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        data[name] = value
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        data[name] = body
    data["other"] = re.search(r"data-json-editor>(.*?)</textarea>", page, re.S).group(1)  # type: ignore[union-attr]
    data.pop("csrf_token", None)
    return {k: html.unescape(v) if isinstance(v, str) else v for k, v in data.items()}


def test_create_and_edit_metadata_with_field_errors(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        ident = _create(web, "made on the web")
        seen = text(web.page(f"/dandiset/{ident}/draft"))
        assert "made on the web" in seen and "Made in a test." in seen and "CC0-1.0" in seen

        editor = web.page(f"/dandiset/{ident}/draft/metadata")
        form = _editor_form(editor)
        assert form["name"] == "made on the web"
        form.update(
            {
                "contributor-0-name": "Doe, Jane",
                "contributor-0-url": "not a url",
                "contributor-0-email": "jane@example.org",
                "contributor-0-roles": ["dcite:Author", "dcite:ContactPerson"],
                "contributor-0-cite": "1",
                "license": ["spdx:CC-BY-4.0"],
                "keywords": "grid cells\nentorhinal",
            }
        )
        r = web.submit(
            f"/dandiset/{ident}/draft/metadata", f"/dandiset/{ident}/draft/metadata", form
        )
        assert r.status_code == 400
        errors = field_errors(r.text)
        assert list(errors) == ["contributor-0-url"], errors
        assert "valid URL" in errors["contributor-0-url"][0]
        assert 'value="not a url"' in r.text  # what was typed is kept
        assert "Doe, Jane" not in text(web.page(f"/dandiset/{ident}/draft"))  # nothing saved

        form["contributor-0-url"] = "https://example.org/jane"
        other = json.loads(str(form["other"]))
        other["ethicsApproval"] = [{"identifier": "IRB-42", "contactPoint": {"email": "irb@x.org"}}]
        form["other"] = json.dumps(other)
        r = web.submit(
            f"/dandiset/{ident}/draft/metadata", f"/dandiset/{ident}/draft/metadata", form
        )
        assert r.status_code == 303, text(r.text)[:800]
        seen = text(web.page(f"/dandiset/{ident}/draft"))
        assert "Doe, Jane (Author, ContactPerson)" in seen
        assert "CC-BY-4.0" in seen and "grid cells" in seen and "entorhinal" in seen
        stored = httpx.get(f"{archive.api_url}/dandisets/{ident}/versions/draft/").json()
        assert stored["ethicsApproval"][0]["identifier"] == "IRB-42"
        assert stored["contributor"][0]["url"] == "https://example.org/jane"


def test_bad_json_is_shown_under_the_editor(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        ident = _create(web, "json editor")
        form = _editor_form(web.page(f"/dandiset/{ident}/draft/metadata"))
        form["other"] = '{"schemaKey": "Dandiset",'
        r = web.submit(
            f"/dandiset/{ident}/draft/metadata", f"/dandiset/{ident}/draft/metadata", form
        )
        assert r.status_code == 400
        (message,) = field_errors(r.text)["other"]
        assert message.startswith("Not valid JSON:") and "line 1" in message


def test_other_users_cannot_edit(archive: Archive) -> None:
    owner, _, _ = signed_in_user(archive)
    stranger, _, _ = signed_in_user(archive)
    with owner, stranger:
        ident = _create(owner, "not yours")
        r = stranger.get(f"/dandiset/{ident}/draft/metadata")
        assert r.status_code == 403 and "only its owners may edit" in text(r.text)
        r = stranger.submit("/", f"/dandiset/{ident}/draft/metadata", {"name": "mine now"})
        assert r.status_code == 403
        r = stranger.submit("/", f"/dandiset/{ident}/draft/publish", {"release_notes": ""})
        assert r.status_code == 403 and f"You do not own dandiset {ident}" in text(r.text)
        assert "Edit metadata" not in text(stranger.page(f"/dandiset/{ident}/draft"))
    with WebClient(archive.url) as anon:
        r = anon.get(f"/dandiset/{ident}/draft/metadata")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_manage_owners(archive: Archive) -> None:
    owner, _, _ = signed_in_user(archive)
    helper, helper_name, _ = signed_in_user(archive)
    with owner, helper:
        ident = _create(owner, "shared")
        page = f"/dandiset/{ident}/draft"
        r = owner.submit(page, f"/dandiset/{ident}/owners/add", {"username": "no-such-person"})
        assert r.status_code == 404 and "No user 'no-such-person'" in text(r.text)
        r = owner.submit(page, f"/dandiset/{ident}/owners/add", {"username": helper_name})
        assert r.status_code == 303
        assert f"@{helper_name}" in text(owner.page(page))
        assert "Edit metadata" in text(helper.page(page))  # the new owner may edit

        r = helper.submit(page, f"/dandiset/{ident}/owners/remove", {"username": helper_name})
        assert r.status_code == 303
        r = owner.submit(page, f"/dandiset/{ident}/owners/remove", {"username": helper_name})
        assert r.status_code == 404 and "is not an owner" in text(r.text)
        r = helper.submit(page, f"/dandiset/{ident}/owners/add", {"username": helper_name})
        assert r.status_code == 403  # no longer an owner
        owner_name = re.search(r"@(\S+)", text(owner.page(page)).split("Owners")[1])
        assert owner_name
        r = owner.submit(
            page, f"/dandiset/{ident}/owners/remove", {"username": owner_name.group(1)}
        )
        assert r.status_code == 400 and "needs at least one owner" in text(r.text)


def test_rename_and_delete_assets(archive: Archive, tmp_path: Path) -> None:
    web, _, key = signed_in_user(archive)
    with web:
        ds = seed(archive.api_url, key, tmp_path, {"a/one.txt": 10, "a/two.txt": 20})
        files = f"/dandiset/{ds.identifier}/draft/files"
        page = f"{files}?location=a/one.txt"
        assert "Rename" in text(web.page(page))
        asset_id = ds.asset_ids["a/one.txt"]

        r = web.submit(
            page,
            f"/dandiset/{ds.identifier}/draft/files/rename",
            {"asset_id": asset_id, "new_path": "b/../one.txt"},
        )
        assert r.status_code == 400 and "contains a '..' segment" in text(r.text)
        r = web.submit(
            page,
            f"/dandiset/{ds.identifier}/draft/files/rename",
            {"asset_id": asset_id, "new_path": "a/two.txt"},
        )
        assert r.status_code == 409 and "already exists" in text(r.text)

        r = web.submit(
            page,
            f"/dandiset/{ds.identifier}/draft/files/rename",
            {"asset_id": asset_id, "new_path": "b/renamed.txt"},
        )
        assert r.status_code == 303 and r.headers["location"].endswith("location=b/renamed.txt")
        moved = text(web.page(r.headers["location"]))
        assert "b/renamed.txt" in moved
        new_id = re.search(r"Asset id (\S+)", moved).group(1)  # type: ignore[union-attr]
        assert new_id != asset_id
        body = httpx.get(f"{archive.api_url}/assets/{new_id}/download/", follow_redirects=True)
        assert body.content == ds.content["a/one.txt"]
        assert web.get(page).status_code == 404

        two = f"{files}?location=a/two.txt"
        r = web.submit(
            two,
            f"/dandiset/{ds.identifier}/draft/files/delete",
            {"asset_id": ds.asset_ids["a/two.txt"], "path": "a/two.txt"},
        )
        assert r.status_code == 303 and r.headers["location"] == f"{files}?location="  # a/ gone
        root = text(web.page(f"{files}?location="))
        assert "Deleted a/two.txt." in root and "1 file, 10 B" in root
        assert root.split("Modified", 1)[1].split(" neuropil ")[0].strip() == "b/ 10 B 1"


def test_publish_refusal_is_explained(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        ident = _create(web, "not ready")
        r = web.submit(
            f"/dandiset/{ident}/draft",
            f"/dandiset/{ident}/draft/publish",
            {"release_notes": "first"},
        )
        assert r.status_code in (400, 409)
        assert re.search(r"not valid|pending|being validated", text(r.text))


def test_delete_a_dandiset(archive: Archive) -> None:
    web, _, _ = signed_in_user(archive)
    with web:
        ident = _create(web, "short-lived")
        page = f"/dandiset/{ident}/draft"
        r = web.submit(page, f"/dandiset/{ident}/delete", {"confirm": "wrong"})
        assert r.status_code == 400 and f"Type the identifier {ident}" in text(r.text)
        r = web.submit(page, f"/dandiset/{ident}/delete", {"confirm": ident})
        assert r.status_code == 303
        assert web.get(page).status_code == 404

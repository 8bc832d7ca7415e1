"""Schema errors name the fix (issue 13): the allowed values of a missing or mistyped field,
and the list form of a list field given a string."""

from __future__ import annotations

import httpx

from neuropil.services import schema
from tests.api.helpers import create_dandiset
from tests.api.publishing import info, wait_status

LICENSES = "allowed values: spdx:CC-BY-4.0, spdx:CC0-1.0"


def _draft(**fields: object) -> dict[str, object]:
    md: dict[str, object] = {
        "schemaKey": "Dandiset",
        "schemaVersion": schema.SCHEMA_VERSION,
        "name": "x",
        "description": "d",
        "license": ["spdx:CC0-1.0"],
        "contributor": [
            {"schemaKey": "Person", "name": "Doe, Jane", "roleName": ["dcite:ContactPerson"]}
        ],
    }
    md.update(fields)
    return md


def test_a_string_for_a_list_names_the_list_form_and_the_choices() -> None:
    (error,) = schema.structural_errors(_draft(license="CC-BY"))
    assert error["field"] == "license"
    assert error["message"] == (
        'Input should be a valid list. It is a list, e.g. license: ["spdx:CC-BY-4.0"] '
        f"({LICENSES})."
    )


def test_a_missing_field_names_its_choices() -> None:
    md = _draft()
    del md["license"]
    errors = schema.check({**md, "id": "DANDI:000001/draft"}, "PublishedDandiset")
    (license_error,) = [e for e in errors if e["field"] == "license"]
    assert license_error["message"].startswith("'license' is a required property. It is a list")
    assert LICENSES in license_error["message"]


def test_fields_inside_lists_and_unions() -> None:
    person = {"schemaKey": "Person", "name": "Doe, Jane", "roleName": "dcite:Author"}
    (error,) = schema.structural_errors(_draft(contributor=[person]))
    assert error["field"] == "contributor.0.Person.roleName"
    assert "It is a list, e.g. roleName: [" in error["message"]
    assert "dcite:ContactPerson" in error["message"] and error["message"].endswith("...).")
    assert schema.fix_hint("Dandiset", "name") == ""  # a free string: nothing to list
    assert schema.fix_hint("NoSuchModel", "license") == ""


def test_the_api_says_it(alice: httpx.Client, anon: httpx.Client) -> None:
    ident = create_dandiset(alice, "licensed")
    found = wait_status(anon, ident, "Invalid")  # the draft has no license at all
    (missing,) = [e for e in found["version_validation_errors"] if e["field"] == "license"]
    assert LICENSES in missing["message"]

    # Drafts may be invalid (issue 16): a string for the list is stored, and the draft's
    # validation says how to fix it (this PUT was a 400 before).
    md = alice.get(f"dandisets/{ident}/versions/draft/").json()
    md["license"] = "CC-BY"
    r = alice.put(f"dandisets/{ident}/versions/draft/", json={"metadata": md, "name": "licensed"})
    assert r.status_code == 200, r.text
    found = wait_status(anon, ident, "Invalid")
    (error,) = [e for e in found["version_validation_errors"] if e["field"] == "license"]
    assert LICENSES in error["message"]
    assert info(anon, ident)["status"] == "Invalid"

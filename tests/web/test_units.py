"""The web app's small mechanisms, without a server: sessions, CSRF, passwords, citation
exports, the metadata form and viewer links."""

from __future__ import annotations

import time

import pytest
from starlette.datastructures import FormData

from neuropil.config import Viewer, parse_viewers
from neuropil.errors import BadRequest, Overloaded
from neuropil.web import citation, csrf, passwords, viewers
from neuropil.web.hash_gate import HashGate
from neuropil.web.metadata_form import MetadataForm, place_errors
from neuropil.web.sessions import Session, SessionCodec

SECRET = b"0123456789abcdef0123456789abcdef"


# -- sessions ------------------------------------------------------------------------------
def test_session_round_trip_and_tampering() -> None:
    codec = SessionCodec(SECRET)
    session = Session.signed_in(7, codec.fingerprint("$argon2id$hash")).with_flash("hello")
    cookie = codec.encode(session)
    assert codec.decode(cookie) == session
    payload, mac = cookie.split(".")
    assert codec.decode(payload + "." + mac[:-2] + "AA") is None
    assert codec.decode(payload[:-3] + "e30." + mac) is None
    assert codec.decode("garbage") is None
    assert codec.decode(None) is None
    # Another secret (another instance) cannot read it.
    assert SessionCodec(b"another secret, 32 bytes long!!!").decode(cookie) is None


def test_expired_session_is_refused() -> None:
    codec = SessionCodec(SECRET)
    old = Session(sid="x", expires=int(time.time()) - 1, user_id=1, fingerprint="f")
    assert codec.decode(codec.encode(old)) is None


def test_password_fingerprint_changes_with_the_hash() -> None:
    codec = SessionCodec(SECRET)
    assert codec.fingerprint("hash-a") != codec.fingerprint("hash-b")
    assert "hash-a" not in codec.fingerprint("hash-a")


def test_csrf_token_is_bound_to_the_session() -> None:
    codec = SessionCodec(SECRET)
    mine, theirs = Session.anonymous(), Session.anonymous()
    csrf.check(codec, mine, csrf.token(codec, mine))
    with pytest.raises(csrf.CsrfRejected, match="does not match your session"):
        csrf.check(codec, mine, csrf.token(codec, theirs))
    with pytest.raises(csrf.CsrfRejected, match="does not match"):
        csrf.check(codec, mine, None)
    with pytest.raises(csrf.CsrfRejected, match="without a session cookie"):
        csrf.check(codec, None, csrf.token(codec, mine))


# -- passwords -----------------------------------------------------------------------------
def test_password_hash_verifies_and_names_its_algorithm() -> None:
    stored = passwords.hash_password("a long passphrase")
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "a long passphrase")
    assert not passwords.verify_password(stored, "a long passphrasE")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")
    assert not passwords.needs_rehash(stored)


def test_password_strength_messages() -> None:
    with pytest.raises(Exception, match="at least 10 characters"):
        passwords.check_strength("short")
    with pytest.raises(Exception, match="differs from your username"):
        passwords.check_strength("alice12345", username="Alice12345")
    passwords.check_strength("good enough password", username="alice")


def test_the_hash_gate_bounds_concurrent_hashes() -> None:
    gate = HashGate(slots=1, queue=1, wait=0.05)
    with gate.slot():
        with pytest.raises(Overloaded) as info, gate.slot():  # taken: waits, then 503
            pass
        assert info.value.status_code == 503 and info.value.headers["Retry-After"] == "1"
    with gate.slot():  # free again
        assert gate.busy == 1
    assert gate.busy == 0


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("12345678", "at least 10 characters"),
        ("password", "at least 10 characters"),
        (" " * 8, "not only spaces"),
        (" " * 12, "not only spaces"),
        ("\t\n  \u3000   \t ", "not only spaces"),
        ("1234567890", "most common"),
        ("qwertyuiop", "most common"),
        ("Password123!", "most common"),  # a common one with decoration appended
        ("password12345678", "most common"),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        passwords.check_strength(password, username="someone")


# -- citation exports ----------------------------------------------------------------------
METADATA = {
    "name": "Grid cells & {braces}",
    "identifier": "NEUROPIL:000042",
    "version": "0.240501.1030",
    "url": "http://archive.example/dandiset/000042/0.240501.1030",
    "datePublished": "2024-05-01T10:30:00+00:00",
    "description": "Two\nlines",
    "keywords": ["grid", "MEC"],
    "doi": "10.80507/neuropil.000042/0.240501.1030",
    "contributor": [
        {"name": "Doe, Jane", "includeInCitation": True},
        {"name": "Funder Inc", "includeInCitation": False},
        {"name": "Roe, Rick"},
    ],
}


def test_bibtex_export() -> None:
    bib = citation.bibtex(METADATA, publisher="NEUROPIL Archive")
    assert bib.startswith("@misc{NEUROPIL_000042_0_240501_1030,\n")
    assert "  author = {Doe, Jane and Roe, Rick},\n" in bib
    assert r"  title = {Grid cells \& \{braces\}}," in bib
    assert "  year = {2024}," in bib
    assert "  doi = {10.80507/neuropil.000042/0.240501.1030}," in bib
    assert "Funder" not in bib


def test_ris_export() -> None:
    ris = citation.ris(METADATA, publisher="NEUROPIL Archive")
    lines = ris.split("\r\n")
    assert lines[0] == "TY  - DATA"
    assert "AU  - Doe, Jane" in lines and "AU  - Roe, Rick" in lines
    assert "AB  - Two lines" in lines
    assert "UR  - https://doi.org/10.80507/neuropil.000042/0.240501.1030" in lines
    assert lines[-2] == "ER  - " and lines[-1] == ""


# -- the metadata form ---------------------------------------------------------------------
STORED = {
    "schemaKey": "Dandiset",
    "description": "old",
    "license": ["spdx:CC0-1.0"],
    "contributor": [
        {"schemaKey": "Person", "name": "Doe, Jane", "affiliation": [{"name": "Lab"}]},
        {"schemaKey": "Person", "name": "Gone, Soon"},
    ],
    "ethicsApproval": [{"identifier": "IRB-1"}],
}


def _form(**values: str | list[str]) -> FormData:
    items: list[tuple[str, str]] = []
    for key, value in values.items():
        for v in value if isinstance(value, list) else [value]:
            items.append((key.replace("_", "-"), v))
    return FormData(items)


def test_form_round_trip_keeps_unshown_fields() -> None:
    shown = MetadataForm.from_metadata("My set", STORED)
    assert shown.licenses == ["spdx:CC0-1.0"]
    assert '"ethicsApproval"' in shown.other and '"contributor"' not in shown.other
    posted = _form(
        name="My set",
        description="new",
        license=["spdx:CC-BY-4.0"],
        keywords="a\nb, c\n\n",
        contributor_count="4",
        contributor_0_source="0",
        contributor_0_name="Doe, Jane",
        contributor_0_email="jane@example.org",
        contributor_0_roles=["dcite:Author", "dcite:ContactPerson"],
        contributor_0_cite="1",
        contributor_1_source="1",
        contributor_1_name="Gone, Soon",
        contributor_1_remove="1",
        contributor_3_name="New, Person",
        other=shown.other,
    )
    name, md, rows = MetadataForm.from_form(posted).to_metadata(STORED)
    assert name == "My set"
    assert md["keywords"] == ["a", "b, c"]
    assert md["license"] == ["spdx:CC-BY-4.0"]
    assert md["ethicsApproval"] == [{"identifier": "IRB-1"}]
    first, second = md["contributor"]
    assert first["affiliation"] == [{"name": "Lab"}] and first["email"] == "jane@example.org"
    assert first["roleName"] == ["dcite:Author", "dcite:ContactPerson"]
    assert second["name"] == "New, Person" and second["includeInCitation"] is False
    # The removed row is gone; the new contributor is displayed as row 2 (after the two
    # stored rows), so its errors land there.
    assert rows == [0, 2]


def test_bad_json_in_the_editor_is_reported_on_the_editor() -> None:
    form = MetadataForm.from_form(_form(name="x", other='{"a": 1,}'))
    with pytest.raises(Exception) as info:
        form.to_metadata({})
    assert "Not valid JSON" in info.value.errors["other"][0]  # type: ignore[attr-defined]
    form = MetadataForm.from_form(_form(name="x", other='{"license": []}'))
    with pytest.raises(Exception, match="Edit license in the form above"):
        form.to_metadata({})


def test_schema_errors_are_placed_by_field() -> None:
    placed = place_errors(
        [
            {"field": "contributor.1.Person.url", "message": "bad url"},
            {"field": "contributor.0.affiliation.0.name", "message": "too odd"},
            {"field": "license.0", "message": "not a license"},
            {"field": "ethicsApproval.0.contactPoint", "message": "wrong type"},
            {"field": "", "message": "whole document"},
        ],
        rows=[0, 3],
    )
    assert placed["contributor-3-url"] == ["bad url"]
    assert placed["contributor-0"] == ["affiliation.0.name: too odd"]
    assert placed["license"] == ["not a license"]
    assert placed["other"] == [
        "ethicsApproval.0.contactPoint: wrong type",
        "(metadata): whole document",
    ]


# -- viewers ---------------------------------------------------------------------------------
def test_viewer_links_fill_and_encode_placeholders() -> None:
    (link,) = viewers.links(
        [Viewer("Neurosift", "https://neurosift.app/?url={url}&dandiset={dandiset}&p={path}")],
        url="http://h:1/api/assets/abc/download/",
        asset_id="abc",
        dandiset="000001",
        version="draft",
        path="sub-1/a b+c.nwb",
    )
    assert link.url == (
        "https://neurosift.app/?url=http://h:1/api/assets/abc/download/&dandiset=000001"
        "&p=sub-1/a%20b%2Bc.nwb"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid JSON"),
        ('{"name": "x"}', "must be a JSON list"),
        ('[{"name": "x"}]', "needs non-empty string 'name' and 'url_template'"),
        ('[{"name": "x", "url_template": "https://v/{blob}"}]', "unknown placeholders"),
    ],
)
def test_bad_viewer_settings_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_viewers(text)

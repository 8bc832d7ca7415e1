"""Pages a newcomer reads (issue 13): the dandiset list says what the data are (species,
technique), a file page summarizes subject and session (the JSON stays, folded), and "Open
with" offers the built-in viewers for the files they open, unless the admin turns them off."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from neuropil.config import Settings, Viewer, parse_viewers
from neuropil.web import viewers
from neuropil.web.file_summary import file_summary, human_duration
from tests.api.helpers import (
    add_asset,
    client,
    create_dandiset,
    draft_url,
    random_bytes,
    upload_blob,
    wait_for,
)
from tests.api.publishing import DANDISET_METADATA, asset_metadata, wait_until_valid
from tests.conftest import Archive
from tests.web.helpers import WebClient, text

PATH = "sub-m1/sub-m1_ses-1_ecephys.nwb"
SUBJECT = {
    "schemaKey": "Participant",
    "identifier": "m1",
    "species": {
        "schemaKey": "SpeciesType",
        "identifier": "http://purl.obolibrary.org/obo/NCBITaxon_10090",
        "name": "Mus musculus - House mouse",
    },
    "sex": {
        "schemaKey": "SexType",
        "identifier": "http://purl.obolibrary.org/obo/PATO_0000384",
        "name": "Male",
    },
    "age": {"schemaKey": "PropertyValue", "value": "P90D", "unitText": "ISO-8601 duration"},
}
SESSION = {
    "schemaKey": "Session",
    "identifier": "ses-1",
    "name": "ses-1",
    "description": "linear track, 20 laps",
    "startDate": "2024-05-01T10:00:00+00:00",
}
TECHNIQUE = {"schemaKey": "MeasurementTechniqueType", "name": "spike sorting technique"}


@pytest.fixture(scope="module")
def described(archive: Archive) -> str:
    """A dandiset whose one NWB asset has subject, session and technique metadata."""
    with client(archive.api_url, archive.user_token) as alice:
        ident = create_dandiset(alice, "described", DANDISET_METADATA)
        blob = upload_blob(alice, ident, random_bytes(500))
        md = asset_metadata(
            encodingFormat="application/x-nwb",
            wasAttributedTo=[SUBJECT],
            wasGeneratedBy=[SESSION],
            measurementTechnique=[TECHNIQUE],
        )
        assert add_asset(alice, ident, PATH, blob, md).status_code == 200
        wait_until_valid(alice, ident)
        wait_for(lambda: alice.get(draft_url(ident)).json()["assetsSummary"].get("species"))
    return ident


@pytest.fixture
def anon(archive: Archive) -> Iterator[WebClient]:
    with WebClient(archive.url) as web:
        yield web


def test_the_list_shows_species_and_technique(anon: WebClient, described: str) -> None:
    page = anon.page("/dandiset/?sort=id&order=desc")
    row = re.search(rf"<tr>\s*<td><a[^>]*>{described}</a>.*?</tr>", page, re.S)
    assert row is not None
    assert re.search(r'class="species">House mouse<', row.group(0))
    assert re.search(r'class="technique">spike sorting technique<', row.group(0))
    assert "<th>Species</th><th>Technique</th>" in page


def test_a_file_page_summarizes_subject_and_session(
    anon: WebClient, described: str, archive: Archive
) -> None:
    page = anon.page(f"/dandiset/{described}/draft/files?location={PATH}")
    subject = re.search(r'id="summary-subject">(.*?)</dl>', page, re.S)
    session = re.search(r'id="summary-session">(.*?)</dl>', page, re.S)
    assert subject and session
    assert text(subject.group(1)) == (
        "Subject m1 Species Mus musculus - House mouse Sex Male Age 90 days"
    )
    assert "Session ses-1 Description linear track, 20 laps Started 2024-05-01 10:00:00" in text(
        session.group(1)
    )
    assert '<details class="metadata"><summary>All metadata (JSON)</summary>' in page  # folded
    # The built-in NWB viewer, with this file's URL and dandiset.
    link = re.search(r'class="button secondary viewer" href="([^"]+)"', page)
    assert link is not None
    asset_id = re.search(r"/api/assets/([0-9a-f-]+)/download/", page)
    assert asset_id is not None
    download = f"{archive.api_url}/assets/{asset_id.group(1)}/download/"
    expected = (
        f"https://neurosift.app/nwb?url={download}&amp;dandisetId={described}"
        "&amp;dandisetVersion=draft"
    )
    assert link.group(1) == expected


def test_viewers_match_their_files_and_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    fill = {"url": "http://h/x", "asset_id": "a", "dandiset": "000001", "version": "draft"}
    built_in = viewers.available(Settings())
    assert [v.name for v in built_in] == ["Neurosift", "vizarr (OME-Zarr)"]
    assert [x.name for x in viewers.links(built_in, path="a/b.nwb", **fill)] == ["Neurosift"]
    zarr = viewers.links(built_in, path="a/img.ome.zarr", **fill)
    assert [(x.name, x.url) for x in zarr] == [
        ("vizarr (OME-Zarr)", "https://hms-dbmi.github.io/vizarr/?source=http://h/x")
    ]
    assert viewers.links(built_in, path="notes.txt", **fill) == []

    mine = Viewer("Neurosift", "https://ns.example/?u={url}")  # replaces the built-in one
    assert [v.url_template for v in viewers.available(Settings(viewers=[mine]))][1:] == [
        mine.url_template
    ]
    monkeypatch.setenv("NEUROPIL_DEFAULT_VIEWERS", "0")
    assert viewers.available(Settings()) == []
    assert viewers.available(Settings(viewers=[mine])) == [mine]
    monkeypatch.setenv("NEUROPIL_DEFAULT_VIEWERS", "perhaps")
    with pytest.raises(ValueError, match="NEUROPIL_DEFAULT_VIEWERS"):
        Settings()
    parsed = parse_viewers('[{"name": "v", "url_template": "{url}", "suffixes": [".NWB"]}]')
    assert parsed == [Viewer("v", "{url}", (".nwb",))]
    with pytest.raises(ValueError, match="'suffixes' must be a list"):
        parse_viewers('[{"name": "v", "url_template": "{url}", "suffixes": ".nwb"}]')


def test_summary_units() -> None:
    assert human_duration("P90D") == "90 days"
    assert human_duration("P1Y2M") == "1 year 2 months"
    assert human_duration("PT1.50H") == "1.5 hours"
    assert human_duration("about a year") == "about a year"
    assert file_summary({}) == []
    assert file_summary({"wasAttributedTo": "odd", "wasGeneratedBy": [3]}) == []

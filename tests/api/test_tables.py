"""``GET .../versions/{version}/tables/{files,sessions}/``: values, freshness, formats, access."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pandas as pd
import pytest

from neuropil.tables import FILES, SEP, SESSIONS
from neuropil.tables.columns import names
from tests.api.helpers import (
    assets_url,
    create_dandiset,
    etag_of,
    sha256_hex,
)
from tests.api.publishing import DANDISET_METADATA, publish_and_wait, wait_until_valid
from tests.conftest import Archive
from tests.search.helpers import set_embargoed
from tests.support import tables
from tests.support.nwb import NwbSet
from tests.support.tables import get_rows, settled, table_url, upload_nwb

TECHNIQUE = "multi electrode extracellular electrophysiology recording technique"


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    """Every demo session: extracellular (two days), two-photon and patch clamp."""
    return tables.demo_set(tmp_path_factory.mktemp("nwb"))


@pytest.fixture
def nwb_dandiset(alice: httpx.Client, nwb: NwbSet) -> str:
    return tables.nwb_dandiset(alice, nwb)


def names_of(terms: list[dict[str, Any]], key: str = "name") -> set[str]:
    return {t[key] for t in terms}


def test_files_table_lists_every_asset_with_digests_and_metadata(
    alice: httpx.Client, archive: Archive, nwb: NwbSet, nwb_dandiset: str
) -> None:
    rows = get_rows(alice, nwb_dandiset, "files")
    assert [list(r) for r in rows] == [names(FILES)] * (len(nwb.asset_paths) + 1)
    assert [r["path"] for r in rows] == ["README.txt", *nwb.asset_paths]
    readme = rows[0]
    assert readme["subject"] is None and readme["session"] is None
    assert readme["size"] == len(tables.README)
    for row in rows[1:]:
        data = nwb.local(row["path"]).read_bytes()
        assert row["size"] == len(data)
        assert row["dandi_etag"] == etag_of(data)
        assert row["sha256"] == sha256_hex(data)
        assert row["download_url"] == f"{archive.api_url}/assets/{row['asset_id']}/download/"
        assert row["encoding_format"] == "application/x-nwb"
        md = tables.uploaded_metadata(nwb, row["path"])
        (subject,) = md["wasAttributedTo"]
        (session,) = [a for a in md["wasGeneratedBy"] if a["schemaKey"] == "Session"]
        assert (row["subject"], row["session"]) == (subject["identifier"], session["identifier"])
        assert (row["species"], row["sex"], row["age"]) == (
            subject["species"]["name"],
            subject["sex"]["name"],
            subject["age"]["value"],
        )
        assert set(row["technique"].split(SEP)) == names_of(md["measurementTechnique"])
        assert set(row["approach"].split(SEP)) == names_of(md["approach"])
    listed = alice.get(assets_url(nwb_dandiset), params={"order": "path"}).json()["results"]
    assert [r["asset_id"] for r in rows] == [a["asset_id"] for a in listed]
    r = httpx.get(rows[1]["download_url"], follow_redirects=True, timeout=60)
    assert r.content == nwb.local(rows[1]["path"]).read_bytes()


def test_sessions_table_holds_what_the_nwb_files_contain(
    alice: httpx.Client, nwb: NwbSet, nwb_dandiset: str
) -> None:
    rows = get_rows(alice, nwb_dandiset, "sessions")
    expected = tables.expected_sessions(nwb)  # read with pynwb, not through any index
    assert [list(r) for r in rows] == [names(SESSIONS)] * len(expected)
    for row, want in zip(rows, expected, strict=True):
        assert {k: row[k] for k in want} == want
        (path,) = [p for p in nwb.asset_paths if f"ses-{want['session']}" in p]
        assert (row["files"], row["paths"], row["index_status"]) == (1, path, "built")
        md = tables.uploaded_metadata(nwb, path)
        (session,) = [a for a in md["wasGeneratedBy"] if a["schemaKey"] == "Session"]
        assert row["session_start"] == session["startDate"]
        assert row["species"] == md["wasAttributedTo"][0]["species"]["name"]
        variables = names_of(md["variableMeasured"], "value")
        assert set((row["variable_measured"] or "").split(SEP)) - {""} == variables
    # The demo covers what each kind of file holds (values checked against pynwb above).
    assert any(r["electrode_count"] and r["units_count"] for r in rows)  # extracellular


@pytest.mark.parametrize("name", ["files", "sessions"])
def test_every_format_parses_to_the_same_frame(
    alice: httpx.Client, nwb_dandiset: str, name: str
) -> None:
    url = table_url(nwb_dandiset, name)
    columns = FILES if name == "files" else SESSIONS
    dtypes = {c.name: "string" if c.kind == "string" else "Int64" for c in columns}
    frames = {}
    for fmt, ctype in (
        ("json", "application/json"),
        ("csv", "text/csv; charset=utf-8"),
        ("parquet", "application/vnd.apache.parquet"),
    ):
        r = alice.get(url, params={"format": fmt})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == ctype
        assert r.headers["content-disposition"].endswith(f'_draft_{name}.{fmt}"')
        body = io.BytesIO(r.content)
        if fmt == "json":
            frame = pd.DataFrame(r.json())
        elif fmt == "csv":
            frame = pd.read_csv(body, dtype=dtypes, keep_default_na=False, na_values=[""])
        else:
            frame = pd.read_parquet(body)
        frames[fmt] = frame.astype(object).where(frame.notna(), None)
    assert list(frames["parquet"].columns) == names(columns)
    for fmt in ("json", "csv"):
        # Missing text cells are null in JSON and Parquet; CSV cannot tell null from "".
        expected = frames["parquet"].replace({"": None}) if fmt == "csv" else frames["parquet"]
        got = frames[fmt]
        for column in expected.columns:
            assert [None if v is None else str(v) for v in got[column]] == [
                None if v is None else str(v) for v in expected[column]
            ], (fmt, column)


def test_format_choice_validators_and_head(alice: httpx.Client, nwb_dandiset: str) -> None:
    url = table_url(nwb_dandiset, "files")
    r = alice.get(url, params={"format": "xlsx"})
    assert r.status_code == 400 and "parquet" in r.text
    r = alice.get(url, headers={"Accept": "application/vnd.apache.parquet"})
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    r = alice.get(url, headers={"Accept": "text/html, text/csv;q=0.9"})
    assert r.headers["content-type"].startswith("text/csv")
    first = alice.get(url, params={"format": "csv"})
    again = alice.get(
        url, params={"format": "csv"}, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    other = alice.get(url, params={"format": "json"})
    assert other.headers["etag"] != first.headers["etag"]
    head = alice.head(url, params={"format": "csv"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(first.content)
    assert alice.get(table_url(nwb_dandiset, "subjects")).status_code == 404
    assert alice.get(table_url(nwb_dandiset, "files", "0.240101.1200")).status_code == 404
    assert alice.get(table_url("999999", "files")).status_code == 404


def test_draft_tables_follow_asset_changes(alice: httpx.Client, nwb: NwbSet) -> None:
    ident = create_dandiset(alice)
    assert get_rows(alice, ident, "files") == []
    assert get_rows(alice, ident, "sessions") == []
    first, second = nwb.asset_paths[:2]
    one, two = (tables.read_with_pynwb(nwb.local(p))["session"] for p in (first, second))
    upload_nwb(alice, ident, nwb, first)
    assert [r["path"] for r in get_rows(alice, ident, "files")] == [first]
    assert [r["session"] for r in get_rows(alice, ident, "sessions")] == [one]
    added = upload_nwb(alice, ident, nwb, second)
    assert [r["path"] for r in get_rows(alice, ident, "files")] == [first, second]
    assert [r["session"] for r in get_rows(alice, ident, "sessions")] == [one, two]
    r = alice.delete(f"{assets_url(ident)}{added['asset_id']}/")
    assert r.status_code == 204, r.text
    assert [r["path"] for r in get_rows(alice, ident, "files")] == [first]
    assert [r["session"] for r in get_rows(alice, ident, "sessions")] == [one]
    # A hash and an index that arrive after a request show in the next one.
    want = tables.read_with_pynwb(nwb.local(first))["electrode_count"]
    assert settled(alice, ident)[0]["electrode_count"] == want


def test_published_tables_stay_as_published(alice: httpx.Client, nwb: NwbSet) -> None:
    ident = create_dandiset(alice, metadata=DANDISET_METADATA)
    first, second = nwb.asset_paths[:2]
    upload_nwb(alice, ident, nwb, first)
    wait_until_valid(alice, ident, timeout=60)
    version = publish_and_wait(alice, ident)
    settled(alice, ident, version)
    before = {
        name: alice.get(table_url(ident, name, version), params={"format": "parquet"})
        for name in ("files", "sessions")
    }
    upload_nwb(alice, ident, nwb, second)
    assert len(get_rows(alice, ident, "files")) == 2
    for name, old in before.items():
        now = alice.get(table_url(ident, name, version), params={"format": "parquet"})
        assert now.content == old.content
        assert now.headers["etag"] == old.headers["etag"]
    published = pd.read_parquet(io.BytesIO(before["files"].content))
    assert list(published["path"]) == [first]


def test_tables_follow_the_visibility_of_the_version(
    archive: Archive, alice: httpx.Client, anon: httpx.Client, nwb_dandiset: str
) -> None:
    assert anon.get(table_url(nwb_dandiset, "files")).status_code == 200
    set_embargoed(archive, nwb_dandiset)
    bob = archive.server.add_user(f"bob-{nwb_dandiset}")
    with httpx.Client(
        base_url=archive.api_url + "/", headers={"Authorization": f"token {bob}"}
    ) as other:
        for name in ("files", "sessions"):
            assert anon.get(table_url(nwb_dandiset, name)).status_code == 401
            assert other.get(table_url(nwb_dandiset, name)).status_code == 403
            assert alice.get(table_url(nwb_dandiset, name)).status_code == 200

"""``neuropil.archive_info`` against a real server, and against one without the tables endpoint."""

from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd
import pytest

import neuropil
from neuropil.client import tables as client_tables
from neuropil.errors import RemoteError
from neuropil.tables import FILES, SESSIONS
from neuropil.tables.columns import names
from tests.api.helpers import client
from tests.conftest import Archive as Server
from tests.search.helpers import set_embargoed
from tests.stream.faults import running_proxy
from tests.support import tables
from tests.support.client_env import isolate_client
from tests.support.nwb import NwbSet

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

INDEX_COLUMNS = ["devices", "electrode_count", "units_count", "imaging_planes", "acquisition"]


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_client(monkeypatch, tmp_path / "config")


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return tables.demo_set(tmp_path_factory.mktemp("nwb"))


@pytest.fixture(scope="module")
def ident(archive: Server, nwb: NwbSet) -> str:
    with client(archive.api_url, archive.user_token) as c:
        return tables.nwb_dandiset(c, nwb)


def test_archive_info_returns_the_tables_as_dataframes(
    archive: Server, ident: str, nwb: NwbSet
) -> None:
    url, files, sessions = neuropil.archive_info(f"{archive.url}/dandiset/{ident}/draft")
    assert url == f"{archive.url}/dandiset/{ident}/draft"
    assert isinstance(files, pd.DataFrame) and isinstance(sessions, pd.DataFrame)
    assert list(files.columns) == names(FILES)
    assert list(sessions.columns) == names(SESSIONS)
    assert str(files["size"].dtype) == "Int64" and str(files["path"].dtype) == "string"
    assert list(files.path) == ["README.txt", *nwb.asset_paths]
    assert list(files.sha256[1:]) == [nwb.digests()[p] for p in nwb.asset_paths]
    expected = tables.expected_sessions(nwb)
    for column in ("session", "electrode_count", "units_count", "imaging_planes"):
        assert list(sessions[column]) == [e[column] for e in expected], column
    assert set(sessions.index_status) == {"built"}
    # Selecting sessions, then their files, as a scientist would.
    chosen = sessions[sessions.units_count > 0]
    picked = files[files.session.isin(chosen.session)]
    assert len(picked) == sum(1 for e in expected if e["units_count"] > 0) > 0
    assert set(picked.path) <= set(nwb.asset_paths)


@pytest.mark.parametrize(
    "form",
    [
        "{api}/dandisets/{ident}/versions/draft/",
        "{api}/dandisets/{ident}/",  # no version: the latest published one, else the draft
        "{web}/dandiset/{ident}",
    ],
)
def test_archive_info_accepts_every_dandiset_url_form(
    archive: Server, nwb: NwbSet, ident: str, form: str
) -> None:
    url = form.format(api=archive.api_url, web=archive.url, ident=ident)
    info = neuropil.archive_info(url)
    assert info.archive_url.endswith(f"/dandiset/{ident}/draft")
    assert len(info.file_manifest) == len(nwb.asset_paths) + 1
    assert len(info.experiment_metadata) == len(tables.expected_sessions(nwb))


def test_without_the_endpoint_the_manifest_is_built_from_asset_pages(
    archive: Server, ident: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = neuropil.archive_info(f"{archive.api_url}/dandisets/{ident}/versions/draft/")
    monkeypatch.setattr(client_tables, "PAGE_SIZE", 2)
    with running_proxy(archive.url) as proxy:
        proxy.fail(404, r"/tables/", times=1000)  # as the public DANDI API answers
        info = neuropil.archive_info(f"{proxy.url}/api/dandisets/{ident}/versions/draft/")
        pages = -(-len(served.file_manifest) // 2)
        assert proxy.count(r"/assets/\?") == pages  # one request per page
        assert proxy.count(r"/assets/[0-9a-f-]{36}") == 0  # never one per asset
    fallback = info.file_manifest.copy()
    fallback["download_url"] = fallback.download_url.str.replace(proxy.url, archive.url)
    pd.testing.assert_frame_equal(fallback, served.file_manifest)
    sessions = info.experiment_metadata
    kept = [c for c in names(SESSIONS) if c not in [*INDEX_COLUMNS, "index_status"]]
    pd.testing.assert_frame_equal(sessions[kept], served.experiment_metadata[kept])
    assert sessions[INDEX_COLUMNS].isna().all().all()
    assert set(sessions.index_status) == {"unavailable"}


def test_a_missing_version_is_an_error_not_a_fallback(archive: Server, ident: str) -> None:
    with pytest.raises(RemoteError) as caught:
        neuropil.archive_info(f"{archive.api_url}/dandisets/{ident}/versions/0.240101.1200/")
    assert caught.value.status_code == 404


def test_embargoed_tables_need_the_owners_token(archive: Server, nwb: NwbSet) -> None:
    with httpx.Client(
        base_url=archive.api_url + "/", headers={"Authorization": f"token {archive.user_token}"}
    ) as c:
        ident = tables.nwb_dandiset(c, nwb)
    set_embargoed(archive, ident)
    url = f"{archive.api_url}/dandisets/{ident}/versions/draft/"
    with pytest.raises(RemoteError) as caught:
        neuropil.archive_info(url)
    assert caught.value.status_code == 401
    files = neuropil.archive_info(url, archive.user_token).file_manifest
    assert len(files) == len(nwb.asset_paths) + 1


def test_read_table_is_one_request(archive: Server, nwb: NwbSet, ident: str) -> None:
    with running_proxy(archive.url) as proxy:
        url = f"{proxy.url}/api/dandisets/{ident}/versions/draft/"
        files = client_tables.read_table(url, "files")
        # Discovering the unknown server (/server-info, /api/info/) is not the table's work.
        asked = [s.path for s in proxy.requests if "info" not in s.path]
    assert asked == [f"/api/dandisets/{ident}/versions/draft/tables/files/?format=parquet"]
    assert list(files.columns) == names(FILES) and len(files) == len(nwb.asset_paths) + 1

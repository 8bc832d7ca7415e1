"""The official DANDI client (unchanged) with an embargoed dandiset (issue 16): created with
``create_dandiset(embargo=True)``, listed with ``get_dandisets(embargoed=True)``, and
``dandi upload`` / ``ls`` / ``download`` with the owner's API key; nothing without it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from dandi.dandiapi import DandiAPIClient

from tests.conftest import Archive
from tests.support.nwb import NwbSet, sha256_file, stage_dandiset
from tests.test_official_client import METADATA, DandiCli, dandi_home, nwb_files

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

__all__ = ["dandi_home", "nwb_files"]  # the fixtures, shared with the open-dandiset tests


@pytest.fixture(scope="module")
def embargoed(
    archive: Archive, nwb_files: NwbSet, dandi_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, NwbSet]:
    """An embargoed dandiset made with the Python API and filled by ``dandi upload``."""
    with DandiAPIClient(archive.api_url, token=archive.user_token) as c:
        ds = c.create_dandiset(f"embargoed by dandi {uuid.uuid4().hex[:8]}", METADATA, embargo=True)
        assert ds.embargo_status.value == "EMBARGOED"
    staged = stage_dandiset(
        nwb_files, tmp_path_factory.mktemp("emb") / ds.identifier, ds.identifier
    )
    DandiCli(archive, dandi_home).upload(staged.root)
    return ds.identifier, staged


def test_listed_with_embargoed_true(archive: Archive, embargoed: tuple[str, NwbSet]) -> None:
    ident, local = embargoed
    with DandiAPIClient(archive.api_url, token=archive.user_token) as c:
        assert ident in {d.identifier for d in c.get_dandisets(embargoed=True)}
        assert ident not in {d.identifier for d in c.get_dandisets()}
        assert ident in {d.identifier for d in c.get_dandisets(mine=True)}
        ds = c.get_dandiset(ident, "draft", lazy=False)
        assert ds.embargo_status.value == "EMBARGOED"
        assert sorted(a.path for a in ds.get_assets()) == local.asset_paths
        md = ds.get_raw_metadata()
        assert md["access"][0]["status"] == "dandi:EmbargoedAccess"
    with DandiAPIClient(archive.api_url) as anonymous:
        with pytest.raises(Exception) as refused:  # 401: the client raises its HTTPError
            anonymous.get_dandiset(ident, lazy=False)
        assert "401" in str(refused.value)
        assert ident not in {d.identifier for d in anonymous.get_dandisets()}
        with pytest.raises(Exception, match="401"):
            list(anonymous.get_dandisets(embargoed=True))


def test_ls_and_download_with_the_key(
    archive: Archive, embargoed: tuple[str, NwbSet], dandi_home: Path, tmp_path: Path
) -> None:
    ident, local = embargoed
    cli = DandiCli(archive, dandi_home)
    url = f"{archive.api_url}/dandisets/{ident}/"
    records = json.loads(cli.run("ls", "-r", "-f", "json", url).stdout)
    assert sorted(r["path"] for r in records[1:]) == local.asset_paths
    cli.run("download", "-o", str(tmp_path), url)
    root = tmp_path / ident
    for path, digest in local.digests().items():
        assert sha256_file(root / path) == digest, path

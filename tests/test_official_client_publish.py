"""The official DANDI client publishes on neuropil: ``dandi upload`` of NWB files, metadata
set with ``set_raw_metadata``, ``wait_until_valid()``, ``publish()``, then ``dandi download``
of the published version gives back the same files (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from dandi.dandiapi import DandiAPIClient

from tests.conftest import Archive
from tests.support.dandisets import publishable_metadata
from tests.support.nwb import NwbSet, make_organized_set, sha256_file, stage_dandiset
from tests.test_official_client import DandiCli

METADATA = publishable_metadata("Published by the official client in neuropil's tests.")


@pytest.fixture(scope="module")
def nwb(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    return make_organized_set(tmp_path_factory.mktemp("nwb-publish"))


def test_upload_validate_publish_download(archive: Archive, nwb: NwbSet, tmp_path: Path) -> None:
    cli = DandiCli(archive, tmp_path / "dandi-home")
    with DandiAPIClient(archive.api_url, token=archive.user_token) as client:
        name = f"published by dandi {uuid.uuid4().hex[:8]}"
        ds = client.create_dandiset(name, {})
        staged = stage_dandiset(nwb, tmp_path / "upload" / ds.identifier, ds.identifier)
        cli.upload(staged.root)
        ds.set_raw_metadata({**METADATA, "name": name})
        # Validation gets there by itself (how soon is benchmarks/publish.py's measure).
        ds.wait_until_valid(max_time=120)

        published = ds.publish(max_time=60)
        version = published.version_id
        assert re.fullmatch(r"0\.\d{6}\.\d{4}", version)
        assert published.version.status.value == "Valid"
        assert published.version.asset_count == len(nwb.files)
        raw = published.get_raw_metadata()
        assert raw["version"] == version
        assert raw["datePublished"]
        assert raw["assetsSummary"]["numberOfFiles"] == len(nwb.files)
        assert raw["assetsSummary"]["dataStandard"]  # NWB, from the extracted asset metadata
        draft = client.get_dandiset(ds.identifier, "draft")
        assert draft.version.status.value == "Published"
        assert client.get_dandiset(ds.identifier).version_id == version  # the latest release

    url = f"{archive.api_url}/dandisets/{ds.identifier}/versions/{version}/"
    out = tmp_path / "download"
    out.mkdir()
    cli.run("download", "-o", str(out), url)
    root = out / ds.identifier
    got = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.nwb"))
    assert got == staged.asset_paths
    for path, digest in staged.digests().items():
        assert sha256_file(root / path) == digest, path
    assert f"version: {version}" in (root / "dandiset.yaml").read_text()

"""The official DANDI client (``dandi`` 0.81, unchanged) with Zarr assets on neuropil.

``dandi upload`` of a dandiset folder holding ``sample.zarr`` (then again with new, changed
and deleted keys, an empty folder and excluded dotfiles), ``dandi ls``, ``dandi download``
of the whole Zarr, of a sub-path and with ``--sync``, and ``dandi delete`` of the Zarr's
path; everything over HTTP to a real server, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
import zarr
from dandi.dandiapi import DandiAPIClient, RemoteZarrAsset

from tests.api.helpers import client as api_client
from tests.conftest import Archive
from tests.support.dandisets import publishable_metadata
from tests.support.nwb import write_dandiset_yaml
from tests.support.zarrs import list_all, make_zarr
from tests.test_official_client import DandiCli

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

METADATA = publishable_metadata("Zarr assets uploaded by the official client.")
#: Names the official client leaves out of a Zarr (dandi.utils.exclude_from_zarr).
EXCLUDED = {".dandi", ".datalad", ".git", ".gitattributes", ".gitmodules"}


def expected_files(root: Path) -> dict[str, bytes]:
    """The keys the official client uploads from a local Zarr: no excluded names."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not EXCLUDED & set(p.relative_to(root).parts)
    }


@dataclass
class ZarrDandiset:
    identifier: str
    root: Path

    @property
    def local(self) -> Path:
        return self.root / "sample.zarr"

    def url(self, archive: Archive) -> str:
        return f"{archive.api_url}/dandisets/{self.identifier}/"


@pytest.fixture(scope="module")
def cli(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> DandiCli:
    return DandiCli(archive, tmp_path_factory.mktemp("dandi-home-zarr"))


@pytest.fixture(scope="module")
def staged(
    archive: Archive, cli: DandiCli, tmp_path_factory: pytest.TempPathFactory
) -> ZarrDandiset:
    """A dandiset whose ``sample.zarr`` was uploaded by ``dandi upload``."""
    with DandiAPIClient(archive.api_url, token=archive.user_token) as c:
        ds = c.create_dandiset(f"zarr by dandi {uuid.uuid4().hex[:8]}", METADATA)
    root = tmp_path_factory.mktemp("zarr-upload") / ds.identifier
    write_dandiset_yaml(root, ds.identifier)
    make_zarr(root / "sample.zarr")
    (root / "sample.zarr" / ".gitattributes").write_text("* annex.largefiles=nothing\n")
    cli.upload(root)
    return ZarrDandiset(ds.identifier, root)


def _remote(archive: Archive, staged: ZarrDandiset) -> RemoteZarrAsset:
    with DandiAPIClient(archive.api_url, token=archive.user_token) as c:
        asset = c.get_dandiset(staged.identifier, "draft").get_asset_by_path("sample.zarr")
    assert isinstance(asset, RemoteZarrAsset)
    return asset


def _assert_remote_matches(archive: Archive, staged: ZarrDandiset) -> RemoteZarrAsset:
    asset = _remote(archive, staged)
    want = expected_files(staged.local)
    with api_client(archive.api_url) as c:
        entries = {e["Key"]: e for e in list_all(c, asset.zarr)}
        z = c.get(f"zarr/{asset.zarr}/").json()
    assert sorted(entries) == sorted(want)
    for key, data in want.items():
        assert entries[key]["Size"] == len(data), key
    digest = asset.get_raw_metadata()["digest"]["dandi:dandi-zarr-checksum"]
    assert z["status"] == "Complete" and z["checksum"] == digest
    assert z["file_count"] == len(want)
    return asset


def test_upload_makes_a_zarr_asset(archive: Archive, staged: ZarrDandiset) -> None:
    asset = _assert_remote_matches(archive, staged)
    assert asset.size == sum(len(v) for v in expected_files(staged.local).values())


def test_reupload_sends_only_changes(archive: Archive, cli: DandiCli, staged: ZarrDandiset) -> None:
    before = _remote(archive, staged)
    group = zarr.open_group(str(staged.local), mode="r+")
    group["data"][0:5, 0:50] = np.full((5, 50), -1, dtype="i4")  # a changed chunk
    group.create_dataset("extra", data=np.ones(8), chunks=(4,))  # new keys
    (staged.local / "sub" / "noise" / "1.1").unlink()  # a deleted key
    (staged.local / "empty" / "deeper").mkdir(parents=True)  # empty folders: not keys
    (staged.local / ".git").mkdir()
    (staged.local / ".git" / "HEAD").write_text("ref: refs/heads/main\n")  # excluded
    zarr.consolidate_metadata(str(staged.local))
    cli.upload(staged.root)
    after = _assert_remote_matches(archive, staged)
    assert after.zarr == before.zarr  # the Zarr is reused, not copied
    with api_client(archive.api_url) as c:
        keys = [e["Key"] for e in list_all(c, after.zarr)]
    assert "sub/noise/1.1" not in keys and "extra/0" in keys
    assert not any(k.startswith((".git/", "empty")) for k in keys)


def test_ls(archive: Archive, cli: DandiCli, staged: ZarrDandiset) -> None:
    out = cli.run("ls", "-r", "-f", "json", staged.url(archive)).stdout
    records = json.loads(out)
    (zarr_record,) = [r for r in records[1:] if r["path"] == "sample.zarr"]
    assert zarr_record["size"] == sum(len(v) for v in expected_files(staged.local).values())


def test_download_whole_zarr(
    archive: Archive, cli: DandiCli, staged: ZarrDandiset, tmp_path: Path
) -> None:
    cli.run("download", "-o", str(tmp_path), staged.url(archive))
    got = tmp_path / staged.identifier / "sample.zarr"
    assert expected_files(got) == expected_files(staged.local)
    group = zarr.open_group(str(got), mode="r")
    assert group["data"][0, 0] == -1 and group["data"][9, 99] == 999


def test_download_a_sub_path(
    archive: Archive, cli: DandiCli, staged: ZarrDandiset, tmp_path: Path
) -> None:
    cli.run("download", "-o", str(tmp_path), "--zarr", "path:sub", staged.url(archive))
    got = tmp_path / staged.identifier / "sample.zarr"
    keys = sorted(expected_files(got))
    assert keys == sorted(k for k in expected_files(staged.local) if k.startswith("sub/"))


def test_download_sync(
    archive: Archive, cli: DandiCli, staged: ZarrDandiset, tmp_path: Path
) -> None:
    cli.run("download", "-o", str(tmp_path), staged.url(archive))
    local = tmp_path / staged.identifier
    (local / "sample.zarr" / "stray-key").write_bytes(b"not on the server")
    # dandi 0.81 removes extra Zarr files only when it downloads something (when every
    # entry is skipped it returns early), so one key goes missing locally too.
    (local / "sample.zarr" / ".zattrs").unlink()
    (local / "stray.txt").write_text("not an asset")
    cli.run(
        "download", "-o", str(tmp_path), "-e", "overwrite-different", "--sync", "do",
        staged.url(archive),
    )  # fmt: skip
    assert not (local / "stray.txt").exists()
    assert expected_files(local / "sample.zarr") == expected_files(staged.local)


def test_publish_pins_what_dandi_download_gets(
    archive: Archive, cli: DandiCli, staged: ZarrDandiset, tmp_path: Path
) -> None:
    published_files = expected_files(staged.local)
    with DandiAPIClient(archive.api_url, token=archive.user_token) as c:
        ds = c.get_dandiset(staged.identifier, "draft")
        ds.wait_until_valid(max_time=60)
        version = ds.publish(max_time=120).version.identifier
    (staged.local / "after-publish").write_bytes(b"a draft change")
    (staged.local / ".zattrs").write_text('{"changed": true}')
    cli.upload(staged.root)
    _assert_remote_matches(archive, staged)  # the draft has the change
    url = f"{archive.api_url}/dandisets/{staged.identifier}/versions/{version}/"
    cli.run("download", "-o", str(tmp_path), url)
    got = tmp_path / staged.identifier / "sample.zarr"
    assert expected_files(got) == published_files  # the published version does not


def test_delete_the_zarr_path(
    archive: Archive, cli: DandiCli, staged: ZarrDandiset, tmp_path: Path
) -> None:
    copy = tmp_path / staged.identifier
    shutil.copytree(staged.root, copy)
    cli.run("delete", "--force", "-i", archive.url, str(copy / "sample.zarr"), cwd=copy)
    with api_client(archive.api_url) as c:
        listed = c.get(
            f"dandisets/{staged.identifier}/versions/draft/assets/", params={"path": "sample.zarr"}
        ).json()
    assert listed["results"] == []
    # The Zarr itself stays (the asset is gone, as on DANDI): the official client reuses it
    # on the next upload of the same path.
    with api_client(archive.api_url) as c:
        zarrs = c.get("zarr/", params={"dandiset": staged.identifier}).json()["results"]
    assert [z["name"] for z in zarrs] == ["sample.zarr"]
    assert httpx.get(f"{archive.url}/zarr/{zarrs[0]['zarr_id']}/.zgroup").status_code == 200

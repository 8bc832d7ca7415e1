"""neuropil's own client with Zarr assets, against a real server: upload (only changed keys,
deleted keys removed, checksum verified), download (md5 of every key, checksum, sync) and
``open_zarr`` (consolidated metadata in one request)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import zarr

from neuropil.client import zarr_download, zarr_upload
from neuropil.client.zarr_download import download_zarr
from neuropil.client.zarr_open import HttpZarrStore, open_group, zarr_base_url
from neuropil.client.zarr_upload import upload_zarr
from neuropil.http.transport import Transport
from tests.api.helpers import client, create_dandiset
from tests.conftest import Archive
from tests.support.zarrs import local_checksum, local_files, make_zarr


@pytest.fixture
def transport(archive: Archive) -> Iterator[Transport]:
    with Transport(archive.api_url, archive.user_token) as t:
        yield t


@pytest.fixture(params=["tar batches", "a request per file"])
def protocol(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """neuropil's batches, or DANDI's protocol as against an archive without them (404)."""
    if request.param == "a request per file":
        monkeypatch.setattr(zarr_upload, "_post_tar", lambda *a: False)
        monkeypatch.setattr(zarr_download, "_fetch_range", lambda *a: False)
    return str(request.param)


@pytest.fixture
def dandiset(archive: Archive) -> str:
    with client(archive.api_url, archive.user_token) as c:
        return create_dandiset(c)


def test_upload_then_only_changes(
    transport: Transport, dandiset: str, tmp_path: Path, protocol: str
) -> None:
    local = make_zarr(tmp_path / "img.ome.zarr")
    (local / ".git").mkdir()
    (local / ".git" / "config").write_text("[core]\n")
    first = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="img.ome.zarr")
    files = {k: v for k, v in local_files(local).items() if not k.startswith(".git/")}
    assert first.files_sent == len(files) and not first.deleted
    assert first.asset["zarr"] == first.zarr_id
    assert first.asset["metadata"]["encodingFormat"] == "application/x-zarr"
    shutil.rmtree(local / ".git")
    assert first.checksum == local_checksum(local)

    again = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="img.ome.zarr")
    assert again.unchanged and again.zarr_id == first.zarr_id

    (local / "data" / "0.0").write_bytes(b"changed")
    (local / "sub" / "noise" / "1.1").unlink()
    (local / "new").write_bytes(b"new key")
    third = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="img.ome.zarr")
    assert third.files_sent == 2 and third.deleted == ["sub/noise/1.1"]
    assert third.checksum == local_checksum(local)
    assert third.asset["metadata"]["digest"]["dandi:dandi-zarr-checksum"] == third.checksum


def test_a_file_where_a_folder_was(transport: Transport, dandiset: str, tmp_path: Path) -> None:
    local = tmp_path / "clash.zarr"
    (local / "a").mkdir(parents=True)
    (local / "a" / "b").write_bytes(b"in a")
    upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="clash.zarr")
    shutil.rmtree(local / "a")
    (local / "a").write_bytes(b"a is a file now")
    result = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="clash.zarr")
    assert result.deleted == ["a/b"] and result.checksum == local_checksum(local)


def test_download_verifies_and_syncs(
    transport: Transport, dandiset: str, tmp_path: Path, protocol: str
) -> None:
    local = make_zarr(tmp_path / "src.zarr")
    up = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="src.zarr")
    dest = tmp_path / "copy.zarr"
    first = download_zarr(transport, zarr_id=up.zarr_id, dest=dest)
    assert local_files(dest) == local_files(local)
    assert first.checksum == up.checksum and first.kept == 0
    (dest / "stray").write_bytes(b"not in the zarr")
    (dest / "data" / "0.0").write_bytes(b"damaged")
    second = download_zarr(transport, zarr_id=up.zarr_id, dest=dest)
    assert second.fetched == ["data/0.0"] and second.removed == ["stray"]
    assert local_files(dest) == local_files(local)
    part = download_zarr(transport, zarr_id=up.zarr_id, dest=tmp_path / "part.zarr", prefix="sub/")
    assert sorted(local_files(tmp_path / "part.zarr")) == sorted(
        k for k in local_files(local) if k.startswith("sub/")
    )
    assert part.checksum is None


def test_open_zarr_reads_consolidated_metadata_once(
    transport: Transport, dandiset: str, tmp_path: Path
) -> None:
    local = make_zarr(tmp_path / "read.zarr")
    up = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="read.zarr")
    group = open_group(transport, zarr_base_url(up.asset))
    # ours, below zarr's view of the consolidated metadata and its KVStore wrapper
    store = getattr(group.chunk_store, "_mutable_mapping", group.chunk_store)
    assert isinstance(store, HttpZarrStore)
    assert group.attrs["description"] == "neuropil test zarr 0"
    assert group["sub"]["noise"].shape == (4, 4)
    assert store.requests == 1  # .zmetadata, nothing else
    assert np.array_equal(group["data"][:], zarr.open_group(str(local), mode="r")["data"][:])
    assert store.requests == 1 + 4  # and the four chunks of data


def test_open_zarr_without_consolidated_metadata(
    transport: Transport, dandiset: str, tmp_path: Path
) -> None:
    local = make_zarr(tmp_path / "plain.zarr")
    (local / ".zmetadata").unlink()
    up = upload_zarr(transport, dandiset_id=dandiset, folder=local, asset_path="plain.zarr")
    group = open_group(transport, zarr_base_url(up.asset))
    assert group["data"][9, 99] == 999

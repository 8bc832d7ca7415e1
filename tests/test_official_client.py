"""The official DANDI client (``dandi`` 0.81, unchanged) against a real neuropil server.

Everything here goes over HTTP to a ``neuropil serve`` process, on SQLite and PostgreSQL:
the Python API (``DandiAPIClient``), the ``dandi`` command line (upload, ls, download),
content dedup on re-upload, lazy HDF5 streaming from blob URLs, and ``serve --demo``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import h5py
import httpx
import numpy as np
import pynwb
import pytest
import remfile
from dandi.dandiapi import DandiAPIClient, RemoteBlobAsset, RemoteDandiset
from dandi.exceptions import NotFoundError
from dandi.support.digests import get_dandietag

from neuropil import demo
from tests.conftest import Archive
from tests.support.dandisets import publishable_metadata
from tests.support.nwb import NwbSet, make_organized_set, sha256_file, stage_dandiset
from tests.support.server import ServerProcess

# Its subject is what a client or a page does over HTTP, not what the database does: one
# backend (the services below are tested on both in tests/api).
pytestmark = pytest.mark.backends("sqlite")

#: The official CLI, run by this interpreter (the package has no ``python -m dandi``).
DANDI_CLI = [
    sys.executable,
    "-c",
    "import sys; from dandi.cli.command import main; sys.exit(main())",
]
SERIES = "acquisition/ElectricalSeries/data"
BLOCK = 64 * 1024

METADATA = publishable_metadata("A dandiset made by the official client in neuropil's tests.")


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def nwb_files(tmp_path_factory: pytest.TempPathFactory) -> NwbSet:
    """The demo NWB sessions, generated once per test session."""
    return make_organized_set(tmp_path_factory.mktemp("nwb"))


@pytest.fixture(scope="session")
def dandi_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cache, log and keyring directories of the CLI, kept out of the real home."""
    return tmp_path_factory.mktemp("dandi-home")


def _client(archive: Archive, token: str | None) -> DandiAPIClient:
    return DandiAPIClient(archive.api_url, token=token)


@pytest.fixture
def client(archive: Archive) -> Iterator[DandiAPIClient]:
    """The official Python client, authenticated as an approved (non-admin) user."""
    with _client(archive, archive.user_token) as c:
        yield c


@dataclass
class DandiCli:
    """Runs the ``dandi`` command against one archive with the user's API key."""

    archive: Archive
    home: Path

    def env(self) -> dict[str, str]:
        """The environment of a CLI run: API key, no telemetry, private XDG directories."""
        env = dict(os.environ)
        with _client(self.archive, None) as c:
            key_var = c.api_key_env_var
        # An unknown server is named after the host:port of the API URL /server-info reports.
        assert key_var == f"127.0.0.1:{self.archive.server.port}_API_KEY"
        env[key_var] = self.archive.user_token
        env["DANDI_NO_ET"] = "1"
        env.pop("DANDI_INSTANCE", None)
        for var in ("XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
            env[var] = str(self.home / var.lower())
        return env

    def run(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``dandi <args>``; a non-zero exit fails the test with both logs."""
        proc = subprocess.run(
            [*DANDI_CLI, *args],
            cwd=cwd,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, (
            f"dandi {' '.join(args)} exited with {proc.returncode}\n"
            f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}\n"
            f"server log:\n{self.archive.server.log()[-4000:]}"
        )
        return proc

    def upload(self, dandiset_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """``dandi upload`` from a dandiset directory, with the full upload validation."""
        return self.run(
            "upload", "-i", self.archive.url, "--validation", "require", *args, cwd=dandiset_dir
        )


@pytest.fixture
def dandi_cli(archive: Archive, dandi_home: Path) -> DandiCli:
    return DandiCli(archive, dandi_home)


@dataclass
class Uploaded:
    """A dandiset filled by ``dandi upload`` from an organized folder."""

    identifier: str
    local: NwbSet

    def url(self, archive: Archive) -> str:
        return f"{archive.api_url}/dandisets/{self.identifier}/"


@pytest.fixture(scope="module")
def uploaded(
    archive: Archive, nwb_files: NwbSet, dandi_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Uploaded:
    """Per backend: create a dandiset with the Python API, then ``dandi upload`` into it."""
    with _client(archive, archive.user_token) as c:
        ds = c.create_dandiset(f"uploaded by dandi {uuid.uuid4().hex[:8]}", METADATA)
    staged = stage_dandiset(
        nwb_files, tmp_path_factory.mktemp("upload") / ds.identifier, ds.identifier
    )
    DandiCli(archive, dandi_home).upload(staged.root)
    return Uploaded(ds.identifier, staged)


def _blob_url(asset: RemoteBlobAsset, api_url: str) -> str:
    """The object URL among ``contentUrl``: the one not served under the API."""
    urls = [u for u in asset.get_raw_metadata()["contentUrl"] if not u.startswith(api_url)]
    assert len(urls) == 1, urls
    return str(urls[0])


def _local_series(path: Path, rows: slice) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.asarray(f[SERIES][rows])


def _unread_chunk_bytes(path: Path, rows: slice) -> int:
    """Stored (compressed) bytes of the series' chunks that hold none of ``rows``."""
    with h5py.File(path, "r") as f:
        series = f[SERIES]
        height = series.chunks[0]
        infos = [series.id.get_chunk_info(i) for i in range(series.id.get_num_chunks())]
    skipped = [
        c
        for c in infos
        if c.chunk_offset[0] >= rows.stop or c.chunk_offset[0] + height <= rows.start
    ]
    return sum(c.size for c in skipped)


# -- the Python API ------------------------------------------------------------------------------
def test_dandiset_lifecycle(client: DandiAPIClient) -> None:
    name = f"lifecycle {uuid.uuid4().hex[:10]}"
    created = client.create_dandiset(name, METADATA)
    ident = created.identifier
    assert len(ident) == 6 and ident.isdigit()

    got = client.get_dandiset(ident, lazy=False)
    assert got.version_id == "draft"
    assert got.version.name == name
    assert got.contact_person == "Doe, Jane"
    assert got.embargo_status.value == "OPEN"
    assert got.version.asset_count == 0
    raw = got.get_raw_metadata()
    assert raw["name"] == name
    assert raw["description"] == METADATA["description"]
    assert raw["license"] == ["spdx:CC-BY-4.0"]
    assert raw["contributor"][0]["email"] == "jane.doe@example.org"
    assert raw["identifier"].endswith(f":{ident}")

    assert ident in {d.identifier for d in client.get_dandisets()}
    assert ident in {d.identifier for d in client.get_dandisets(mine=True)}
    assert ident not in {d.identifier for d in client.get_dandisets(empty=False)}
    assert [d.identifier for d in client.get_dandisets(search=name.split()[-1])] == [ident]

    got.delete()
    with pytest.raises(NotFoundError):
        client.get_dandiset(ident, lazy=False)
    assert ident not in {d.identifier for d in client.get_dandisets()}


def test_cli_upload_creates_assets(client: DandiAPIClient, uploaded: Uploaded) -> None:
    ds = client.get_dandiset(uploaded.identifier, "draft", lazy=False)
    assets = {a.path: a for a in ds.get_assets()}
    assert sorted(assets) == uploaded.local.asset_paths
    assert ds.version.asset_count == len(assets)
    assert ds.version.size == sum(uploaded.local.local(p).stat().st_size for p in assets)
    for path, asset in assets.items():
        local = uploaded.local.local(path)
        assert asset.size == local.stat().st_size
        assert asset.get_digest().value == get_dandietag(local).as_str()
        md = asset.get_raw_metadata()
        assert md["encodingFormat"] == "application/x-nwb"
        (participant,) = md["wasAttributedTo"]  # extracted from the NWB file by the client
        assert participant["identifier"] == demo.SUBJECT_ID
        assert participant["sex"]["name"] == "Male"
        assert participant["species"]["name"].startswith("Mus musculus")
        assert participant["age"]["value"] == demo.AGE


def test_get_asset_by_path_and_download(
    client: DandiAPIClient, uploaded: Uploaded, tmp_path: Path
) -> None:
    ds = client.get_dandiset(uploaded.identifier, "draft")
    for path in uploaded.local.asset_paths:
        asset = ds.get_asset_by_path(path)
        assert isinstance(asset, RemoteBlobAsset)
        assert asset.path == path
        assert client.get_asset(asset.identifier).path == path
        target = tmp_path / Path(path).name
        asset.download(target)
        assert sha256_file(target) == sha256_file(uploaded.local.local(path))
    with pytest.raises(NotFoundError):
        ds.get_asset_by_path("sub-nobody/missing.nwb")


def test_content_url_follows_download_redirect(
    archive: Archive, client: DandiAPIClient, uploaded: Uploaded
) -> None:
    path = uploaded.local.asset_paths[0]
    asset = client.get_dandiset(uploaded.identifier, "draft").get_asset_by_path(path)
    assert isinstance(asset, RemoteBlobAsset)
    assert asset.get_content_url().startswith(f"{archive.api_url}/assets/")
    direct = asset.get_content_url(follow_redirects=1, strip_query=True)
    assert not direct.startswith(archive.api_url)
    assert "?" not in direct
    assert direct == _blob_url(asset, archive.api_url)
    r = httpx.get(direct)  # anonymous, like a public bucket
    assert r.status_code == 200
    assert r.content == uploaded.local.local(path).read_bytes()


# -- the command line ---------------------------------------------------------------------------
def test_cli_ls(archive: Archive, dandi_cli: DandiCli, uploaded: Uploaded) -> None:
    out = dandi_cli.run("ls", "-r", "-f", "json", uploaded.url(archive)).stdout
    records = json.loads(out)
    head, assets = records[0], records[1:]
    assert head["path"] == uploaded.identifier
    assert head["asset_count"] == len(uploaded.local.asset_paths)
    assert head["metadata"]["description"] == METADATA["description"]
    assert sorted(a["path"] for a in assets) == uploaded.local.asset_paths
    for a in assets:
        assert a["size"] == uploaded.local.local(a["path"]).stat().st_size


def test_cli_download_whole_dandiset(
    archive: Archive, dandi_cli: DandiCli, uploaded: Uploaded, tmp_path: Path
) -> None:
    dandi_cli.run("download", "-o", str(tmp_path), uploaded.url(archive))
    root = tmp_path / uploaded.identifier
    got = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.nwb"))
    assert got == uploaded.local.asset_paths
    for path, digest in uploaded.local.digests().items():
        assert sha256_file(root / path) == digest, path
    yaml_text = (root / "dandiset.yaml").read_text()
    assert f":{uploaded.identifier}" in yaml_text
    assert METADATA["description"] in yaml_text


def test_cli_download_one_file(
    archive: Archive,
    client: DandiAPIClient,
    dandi_cli: DandiCli,
    uploaded: Uploaded,
    tmp_path: Path,
) -> None:
    path = uploaded.local.asset_paths[-1]
    asset = client.get_dandiset(uploaded.identifier, "draft").get_asset_by_path(path)
    url = f"{uploaded.url(archive)}versions/draft/assets/{asset.identifier}/download/"
    dandi_cli.run("download", "-o", str(tmp_path), url)
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]
    assert sha256_file(tmp_path / Path(path).name) == sha256_file(uploaded.local.local(path))


# -- dedup ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoreState:
    """What any blob upload would change in the local store (see ``storage/local.py``)."""

    blob_objects: tuple[str, ...]
    multipart_mtime_ns: int  # changes when an upload starts or ends (a folder per upload)
    multipart_entries: tuple[str, ...]
    tmp_mtime_ns: int  # changes when a part or an assembled object is written

    @classmethod
    def read(cls, data_dir: Path) -> StoreState:
        store = data_dir / "store"
        blobs = store / "objects" / "blobs"
        return cls(
            tuple(sorted(p.relative_to(blobs).as_posix() for p in blobs.rglob("*") if p.is_file())),
            (store / "multipart").stat().st_mtime_ns,
            tuple(sorted(p.name for p in (store / "multipart").iterdir())),
            (store / "tmp").stat().st_mtime_ns,
        )


def _blob_ids(ds: RemoteDandiset) -> dict[str, str]:
    return {a.path: a.blob for a in ds.get_assets() if isinstance(a, RemoteBlobAsset)}


def test_reupload_sends_no_blob_bytes(
    archive: Archive,
    client: DandiAPIClient,
    dandi_cli: DandiCli,
    uploaded: Uploaded,
    nwb_files: NwbSet,
    tmp_path: Path,
) -> None:
    first = _blob_ids(client.get_dandiset(uploaded.identifier, "draft"))
    assert sorted(first) == uploaded.local.asset_paths
    before = StoreState.read(archive.server.data_dir)

    # Forcing a re-upload of identical files, and uploading them into a second dandiset, both
    # end at initialize with a 409 (the blob exists): no upload starts, no part is written.
    dandi_cli.upload(uploaded.local.root, "-e", "force")
    other = client.create_dandiset(f"dedup {uuid.uuid4().hex[:8]}", METADATA)
    staged = stage_dandiset(nwb_files, tmp_path / other.identifier, other.identifier)
    dandi_cli.upload(staged.root)

    assert StoreState.read(archive.server.data_dir) == before
    assert _blob_ids(client.get_dandiset(uploaded.identifier, "draft")) == first
    assert _blob_ids(client.get_dandiset(other.identifier, "draft")) == first
    for path, blob_id in first.items():
        etag = get_dandietag(uploaded.local.local(path)).as_str()
        found = client.post("/blobs/digest/", json={"algorithm": "dandi:dandi-etag", "value": etag})
        assert found["blob_id"] == blob_id


# -- streaming ------------------------------------------------------------------------------------
def _streamed_asset(client: DandiAPIClient, uploaded: Uploaded) -> tuple[RemoteBlobAsset, Path]:
    path = uploaded.local.asset_paths[0]
    asset = client.get_dandiset(uploaded.identifier, "draft").get_asset_by_path(path)
    assert isinstance(asset, RemoteBlobAsset)
    return asset, uploaded.local.local(path)


def test_stream_with_remfile(archive: Archive, client: DandiAPIClient, uploaded: Uploaded) -> None:
    asset, local = _streamed_asset(client, uploaded)
    rows = slice(10_000, 10_500)
    with h5py.File(remfile.File(_blob_url(asset, archive.api_url)), "r") as f:
        series = f[SERIES]
        assert series.compression == "gzip"
        assert series.chunks is not None
        remote = np.asarray(series[rows])
        assert f["general/subject/subject_id"][()].decode() == demo.SUBJECT_ID
    np.testing.assert_array_equal(remote, _local_series(local, rows))


def test_stream_with_fsspec_and_pynwb(
    archive: Archive, client: DandiAPIClient, uploaded: Uploaded
) -> None:
    asset, local = _streamed_asset(client, uploaded)
    size = local.stat().st_size
    fs = fsspec.filesystem("http")
    url = _blob_url(asset, archive.api_url)
    rows = slice(0, 2_000)
    with (
        fs.open(url, "rb", block_size=BLOCK, cache_type="blockcache") as fp,
        h5py.File(fp, "r") as h5,
        pynwb.NWBHDF5IO(file=h5, mode="r") as io,
    ):
        nwb = io.read()
        assert nwb.subject.subject_id == demo.SUBJECT_ID
        assert nwb.subject.species == demo.SPECIES
        assert nwb.session_id in demo.SESSIONS
        remote = np.asarray(nwb.acquisition["ElectricalSeries"].data[rows])
        position = nwb.processing["behavior"]["Position"]["position"].data[:]
        lfp = nwb.processing["ecephys"]["LFP"]["lfp"].data[:10]
        assert len(nwb.units) == demo.RecordingShape().units
        fetched = fp.cache.total_requested_bytes
    # Lazy: the blocks holding only chunks of the series that were not read (most of the
    # file) never cross the wire; at most one block at each edge of that region does.
    unread = _unread_chunk_bytes(local, rows)
    assert unread > size // 2
    assert 0 < fetched <= size - unread + 2 * BLOCK
    np.testing.assert_array_equal(remote, _local_series(local, rows))
    with h5py.File(local, "r") as f:
        np.testing.assert_array_equal(position, f["processing/behavior/Position/position/data"][:])
        np.testing.assert_array_equal(lfp, f["processing/ecephys/LFP/lfp/data"][:10])


# -- neuropil serve --demo -----------------------------------------------------------------------
def _wait_for_demo(api_url: str, timeout: float = 90.0) -> str:
    """Poll the API until the demo dandiset holds all its assets; returns its identifier."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = httpx.get(f"{api_url}/dandisets/", timeout=10).json()
        done = [
            d for d in last["results"] if d["draft_version"]["asset_count"] == len(demo.SESSIONS)
        ]
        if done:
            return str(done[0]["identifier"])
        time.sleep(0.25)
    raise AssertionError(f"the demo dandiset did not appear in {timeout} s; last listing: {last}")


def _wait_for_log(server: ServerProcess, text: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.log()[-4000:]}"
        time.sleep(0.1)


def test_serve_demo_seeds_a_dandiset(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", demo=True)
    with server:
        ident = _wait_for_demo(server.api_url)
        with DandiAPIClient(server.api_url) as anonymous:
            ds = anonymous.get_dandiset(ident, lazy=False)
            assert ds.version.name == demo.DEMO_NAME
            assert ds.contact_person == "Neuropil, Demo"
            raw = ds.get_raw_metadata()
            assert raw["license"] == ["spdx:CC-BY-4.0"]
            assert raw["contributor"][0]["roleName"] == ["dcite:Author", "dcite:ContactPerson"]
            expected = sorted(demo.session_filename(s, organized=True) for s in demo.SESSIONS)
            assert sorted(a.path for a in ds.get_assets()) == expected
            asset = ds.get_asset_by_path(expected[0])
            assert isinstance(asset, RemoteBlobAsset)
            target = tmp_path / "demo.nwb"
            asset.download(target)
        assert get_dandietag(target).as_str() == asset.get_digest().value
        with pynwb.NWBHDF5IO(str(target), "r") as io:
            nwb = io.read()
            assert nwb.subject.subject_id == demo.SUBJECT_ID
            assert nwb.session_id == demo.SESSIONS[0]

        # Seeding is idempotent: a restart with --demo leaves a non-empty archive alone.
        server.restart()
        _wait_for_log(server, "not seeding the demo")
        listing = httpx.get(f"{server.api_url}/dandisets/").json()
        assert [d["identifier"] for d in listing["results"]] == [ident]

"""The Python API (``neuropil.Archive``) end to end against real servers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import neuropil
from neuropil.client.archive import Archive
from neuropil.client.events import BytesDone, FileDone, FileStarted, ProgressEvent
from neuropil.client.instances import Instance, Registry, clear_discovery_cache
from neuropil.client.layout import local_path, sync_scope
from neuropil.client.urls import Target
from neuropil.errors import InvalidUrl, NotAuthenticated, NotFound
from neuropil.http.transport import Transport
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.dandisets import METADATA, TREE, Seeded, add_asset, seed, tree_of
from tests.support.nwb import write_dandiset_yaml


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config, no keyring, no token or default instance from the environment."""
    isolate_client(monkeypatch, tmp_path / "config")


@pytest.fixture(scope="module")
def seeded(archive: Server, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(archive.api_url, archive.user_token, tmp_path_factory.mktemp("seed"))


@pytest.fixture
def api(archive: Server) -> Iterator[Archive]:
    with Archive(archive.url, archive.user_token) as a:
        yield a


class Recorder:
    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)

    def fetched(self, path: str) -> int:
        return sum(e.n for e in self.events if isinstance(e, BytesDone) and e.path == path)

    def done(self) -> dict[str, str]:
        return {e.path: e.status for e in self.events if isinstance(e, FileDone)}


def test_public_surface() -> None:
    assert neuropil.__all__ == sorted(neuropil.__all__)
    assert set(neuropil.__all__) == {
        "Archive",
        "__version__",
        "archive_info",
        "open",
        "open_nwb",
        "open_zarr",
    }
    assert neuropil.Archive is Archive


def test_archive_finds_url_and_token(archive: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    with Archive(archive.url) as by_root, Archive(f"{archive.api_url}/") as by_api:
        assert by_root.instance.api_url == by_api.instance.api_url == archive.api_url
        assert not by_root.authenticated
    monkeypatch.setenv("NEUROPIL_URL", archive.url)
    monkeypatch.setenv("NEUROPIL_API_KEY", archive.user_token)
    with Archive() as default:
        assert default.instance.api_url == archive.api_url
        assert default.transport.token == archive.user_token
    with Archive("dandi") as named:  # a built-in name needs no network
        assert named.instance.api_url == "https://api.dandiarchive.org/api"


def test_dandisets_versions_and_metadata(api: Archive, seeded: Seeded) -> None:
    ds = api.dandiset(seeded.identifier)
    assert ds.version_id == "draft" and ds.published is None  # nothing published: the draft
    assert ds.name == seeded.name
    assert ds.version.asset_count == len(TREE)
    assert ds.version.size == sum(TREE.values())
    assert ds.contact_person == "Doe, Jane"
    assert ds.metadata["description"] == METADATA["description"]
    assert ds.metadata["identifier"].endswith(seeded.identifier)
    assert api.dandiset(int(seeded.identifier), "draft").version_id == "draft"  # type: ignore[arg-type]
    assert ds.url.endswith(f"/dandiset/{seeded.identifier}/draft")

    found = list(api.dandisets(search=seeded.name.split()[-1]))
    assert [d.identifier for d in found] == [seeded.identifier]
    assert seeded.identifier in {d.identifier for d in api.dandisets(mine=True)}
    with pytest.raises(NotFound, match="999999"):
        api.dandiset("999999")
    with pytest.raises(NotFound):
        api.dandiset(seeded.identifier, "0.230101.0000")


def test_assets_listing(api: Archive, seeded: Seeded) -> None:
    ds = api.dandiset(seeded.identifier, "draft")
    assets = list(ds.assets())
    assert [a.path for a in assets] == sorted(TREE)
    assert {a.path: a.size for a in assets} == TREE
    assert all(a.etag and a.dandiset_id == seeded.identifier for a in assets)
    assert [a.path for a in ds.assets(path="sub-01/")] == [
        "sub-01/sub-01_ses-a.nwb",
        "sub-01/sub-01_ses-b.nwb",
    ]
    assert [a.path for a in ds.assets(glob="*SES-A*")] == [
        "sub-01/sub-01_ses-a.nwb",
        "sub-02/sub-02_ses-a.nwb",
    ]
    one = ds.asset("sub-02/extra/notes.txt")
    assert one.asset_id == seeded.asset_ids["sub-02/extra/notes.txt"]
    assert api.asset(one.asset_id).path == one.path
    with pytest.raises(NotFound):
        ds.asset("sub-02/extra")


def test_asset_download_reports_progress(api: Archive, seeded: Seeded, tmp_path: Path) -> None:
    asset = api.dandiset(seeded.identifier).asset("sub-01/sub-01_ses-b.nwb")
    rec = Recorder()
    got = asset.download(tmp_path, progress=rec)
    assert got == tmp_path / "sub-01_ses-b.nwb"
    assert got.read_bytes() == seeded.content[asset.path]
    assert isinstance(rec.events[0], FileStarted) and rec.events[0].size == asset.size
    assert rec.fetched(asset.path) == asset.size
    assert rec.done() == {asset.path: "done"}
    # a file path works too, and the default policy overwrites
    named = asset.download(tmp_path / "copy.nwb")
    assert named.read_bytes() == seeded.content[asset.path]


def test_dandiset_download(api: Archive, seeded: Seeded, tmp_path: Path) -> None:
    ds = api.dandiset(seeded.identifier)
    rec = Recorder()
    result = ds.download(tmp_path / "ds", progress=rec)
    assert result.ok and result.done == len(TREE) + 1  # + dandiset.yaml
    files = tree_of(tmp_path / "ds")
    assert files.pop("dandiset.yaml")
    assert files == seeded.content
    assert set(rec.done()) == {*TREE, "dandiset.yaml"}
    md = yaml.safe_load((tmp_path / "ds" / "dandiset.yaml").read_text())
    assert md == ds.metadata

    again = ds.download(tmp_path / "ds", existing="skip")
    assert again.ok and again.done == 0 and again.skipped == len(TREE) + 1
    refused = ds.download(tmp_path / "ds", existing="error")
    # dandiset.yaml is unchanged ("no change"), every asset is refused with its reason
    assert refused.failed == len(TREE) and "already exists" in refused.failures[0].reason

    part = ds.download(tmp_path / "part", path="sub-02/")
    assert sorted(tree_of(tmp_path / "part")) == [
        "dandiset.yaml",
        "sub-02/extra/notes.txt",
        "sub-02/sub-02_ses-a.nwb",
    ]
    assert part.ok


def test_create_and_delete(archive: Server, api: Archive, tmp_path: Path) -> None:
    ds = api.create_dandiset("made by the API", {"description": "temporary"})
    assert ds.version_id == "draft" and ds.name == "made by the API"
    add_asset(api.transport, ds.identifier, tmp_path, "a/b.txt", b"hello")
    add_asset(api.transport, ds.identifier, tmp_path, "a/c.txt", b"world")
    ds.asset("a/b.txt").delete()
    assert [a.path for a in ds.assets()] == ["a/c.txt"]
    ds.delete()
    with pytest.raises(NotFound):
        api.dandiset(ds.identifier)
    with Archive(archive.url) as anonymous, pytest.raises(NotAuthenticated, match="login"):
        anonymous.create_dandiset("nope")


def test_download_by_url_uses_official_layout(api: Archive, seeded: Seeded, tmp_path: Path) -> None:
    ident = seeded.identifier
    folder = api.download(
        f"{api.instance.base_url}/dandiset/{ident}/draft/files?location=sub-02", tmp_path / "f"
    )
    assert folder.ok
    assert tree_of(tmp_path / "f") == {
        "sub-02/extra/notes.txt": seeded.content["sub-02/extra/notes.txt"],
        "sub-02/sub-02_ses-a.nwb": seeded.content["sub-02/sub-02_ses-a.nwb"],
    }
    api.download(f"{ident}/draft", tmp_path / "d")  # a bare id means this archive
    assert sorted(tree_of(tmp_path / "d" / ident)) == sorted([*TREE, "dandiset.yaml"])
    with pytest.raises(InvalidUrl, match="not on"):
        api.download("DANDI:000027", tmp_path)


# -- pure helpers ---------------------------------------------------------------------------


INSTANCE = Instance("x", "https://x.org/api")


@pytest.mark.parametrize(
    ("target", "asset", "expected"),
    [
        (Target(INSTANCE, "dandiset", "000001"), "a/b/c.nwb", "a/b/c.nwb"),
        (Target(INSTANCE, "folder", "000001", path="a/b/"), "a/b/c/d.nwb", "b/c/d.nwb"),
        (Target(INSTANCE, "folder", "000001", path="a/"), "a/c.nwb", "a/c.nwb"),
        (Target(INSTANCE, "path_prefix", "000001", path="a/b_"), "a/b_1/x", "b_1/x"),
        (Target(INSTANCE, "item", "000001", path="a/b/c.nwb"), "a/b/c.nwb", "c.nwb"),
        (Target(INSTANCE, "asset_id", asset_id="u"), "a/b/c.nwb", "c.nwb"),
        (Target(INSTANCE, "glob", "000001", glob="*.nwb"), "a/b/c.nwb", "a/b/c.nwb"),
    ],
)
def test_local_path(target: Target, asset: str, expected: str) -> None:
    assert local_path(target, asset) == expected
    assert local_path(target, asset, preserve_tree=True) == asset


def test_sync_scope() -> None:
    folder = sync_scope(Target(INSTANCE, "folder", "000001", path="a/b/"))
    assert folder is not None and folder.base == "b"
    assert folder.contains("b/x") and not folder.contains("a/b/x") and not folder.contains("c")
    tree = sync_scope(Target(INSTANCE, "folder", "000001", path="a/b/"), preserve_tree=True)
    assert tree is not None and tree.base == "a/b"
    assert tree.contains("a/b/x") and not tree.contains("b/x")
    prefix = sync_scope(Target(INSTANCE, "path_prefix", "000001", path="s/s_ses"))
    assert prefix is not None and prefix.base == "" and prefix.contains("s_ses-1.nwb")
    glob = sync_scope(Target(INSTANCE, "glob", "000001", glob="sub-1/*ses-A*"))
    assert glob is not None and glob.base == "sub-1"
    assert glob.contains("sub-1/sub-1_ses-a.nwb") and not glob.contains("sub-1/x.nwb")
    assert sync_scope(Target(INSTANCE, "item", "000001", path="a")) is None


def test_registry_default_is_used(
    archive: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_discovery_cache()
    registry = Registry(tmp_path / "cfg", env={})
    registry.add("mylab", archive.api_url, archive.url, default=True)
    with Archive(registry=registry) as a, Transport(archive.api_url) as t:
        assert a.instance.name == "mylab"
        assert t.get_json("info/")["services"]["api"]["url"] == a.instance.api_url
    assert os.environ.get("NEUROPIL_URL") is None


def test_upload_with_progress(api: Archive, tmp_path: Path) -> None:
    ds = api.create_dandiset("uploaded by the API")
    root = tmp_path / ds.identifier
    write_dandiset_yaml(root, ds.identifier)
    (root / "data").mkdir()
    (root / "data" / "x.bin").write_bytes(os.urandom(100_000))
    (root / "data" / "y.bin").write_bytes(os.urandom(10))
    rec = Recorder()
    report = api.upload([root / "data"], progress=rec)
    assert report.ok and sorted(report.uploaded) == ["data/x.bin", "data/y.bin"]
    assert rec.done() == {"data/x.bin": "done", "data/y.bin": "done"}
    assert rec.fetched("data/x.bin") == 100_000  # BytesDone counts bytes sent, too
    assert [a.path for a in ds.assets()] == ["data/x.bin", "data/y.bin"]
    # the same files again: nothing to send
    again = api.upload(dandiset_root=root, paths=[root])
    assert {s.path for s in again.skipped} == {"dandiset.yaml", "data/x.bin", "data/y.bin"}

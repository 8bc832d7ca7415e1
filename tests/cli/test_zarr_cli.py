"""``neuropil upload``, ``download`` and ``ls`` with a Zarr folder in the dandiset, against
a real server (click's CliRunner, in process)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from neuropil.cli.main import cli
from neuropil.client.archive import Archive
from tests.conftest import Archive as Server
from tests.support.client_env import isolate_client
from tests.support.nwb import write_dandiset_yaml
from tests.support.zarrs import local_checksum, local_files, make_zarr


@pytest.fixture(autouse=True)
def private_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return isolate_client(monkeypatch, tmp_path / "config")


def ok(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"neuropil {' '.join(args)}: {result.output}"
    return result


def test_upload_download_ls_a_zarr(archive: Server, tmp_path: Path) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("zarr via the neuropil CLI")
    root = tmp_path / "up" / ds.identifier
    write_dandiset_yaml(root, ds.identifier)
    local = make_zarr(root / "sub-01" / "img.ome.zarr")
    (root / "notes.txt").write_text("a blob beside the Zarr\n")
    auth = ("--token", archive.user_token, "-i", archive.url)

    ok("upload", *auth, "--validation", "skip", str(root))
    (local / "data" / "0.0").write_bytes(b"changed")
    again = ok("upload", *auth, "--validation", "skip", "--json", str(root))
    summary = [json.loads(line) for line in again.stdout.splitlines() if line.strip()][-1]
    assert summary["done"] == 1  # the Zarr (notes.txt and dandiset.yaml are skipped)

    url = f"{archive.api_url}/dandisets/{ds.identifier}/"
    listed = json.loads(ok("ls", "-r", "-f", "json", url).stdout)
    (zarr,) = [r for r in listed if r.get("path") == "sub-01/img.ome.zarr"]
    assert zarr["files"] == len(local_files(local))
    assert zarr["size"] == sum(len(v) for v in local_files(local).values())
    assert zarr["checksum"] == local_checksum(local)

    out = tmp_path / "down"
    ok("download", "-o", str(out), url)
    got = out / ds.identifier / "sub-01" / "img.ome.zarr"
    assert local_files(got) == local_files(local)
    (got / "stray").write_bytes(b"not in the Zarr")
    (out / ds.identifier / "extra.txt").write_text("not an asset")
    ok("download", "-o", str(out), "-e", "overwrite-different", "--sync", "--yes", url)
    assert local_files(got) == local_files(local)
    assert not (out / ds.identifier / "extra.txt").exists()

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
from tests.support.zarrs import local_checksum, local_files, make_ome_zarr, make_zarr


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
    (local / "subway").write_bytes(b"a key that starts like the folder sub/")
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

    # The Zarr's web page names the Zarr; a path inside it, that folder (or key) only, into
    # the Zarr's folder, as dandi download does.
    page = f"{archive.url}/dandiset/{ds.identifier}/draft/files?location=sub-01/img.ome.zarr"
    ok("download", "-o", str(tmp_path / "page"), page)
    assert local_files(tmp_path / "page" / "img.ome.zarr") == local_files(local)
    inside = page + "/"
    part = tmp_path / "part"
    ok("download", "-o", str(part), inside + "sub")
    wanted = {k: v for k, v in local_files(local).items() if k.startswith("sub/")}
    assert local_files(part / "img.ome.zarr") == wanted
    ok("download", "-o", str(part), inside + ".zattrs")
    assert local_files(part / "img.ome.zarr") == {
        **wanted,
        ".zattrs": (local / ".zattrs").read_bytes(),
    }
    refused = CliRunner().invoke(cli, ["download", "-o", str(part), "--sync", inside + "sub"])
    assert refused.exit_code != 0 and "--sync cannot be used with a path inside a Zarr" in (
        refused.output
    )


def _remote_zarrs(api: Archive, dandiset: str) -> dict[str, str]:
    """The Zarrs the archive holds for ``dandiset``: name -> status."""
    return {z["name"]: z["status"] for z in api.transport.paginate("zarr/", {"dandiset": dandiset})}


def test_validation_require_sends_nothing_of_an_invalid_zarr(
    archive: Server, tmp_path: Path
) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("invalid zarrs are refused before upload")
        root = tmp_path / ds.identifier
        write_dandiset_yaml(root, ds.identifier)
        make_ome_zarr(root / "sub-01" / "good.ome.zarr")
        make_zarr(root / "sub-01" / "plain.ome.zarr")  # no multiscales
        broken = make_zarr(root / "sub-01" / "broken.zarr")
        (broken / "data" / ".zarray").write_text("{not json")
        auth = ("--token", archive.user_token, "-i", archive.url)

        refused = CliRunner().invoke(cli, ["upload", *auth, str(root)], catch_exceptions=False)
        assert refused.exit_code == 1, refused.output
        assert "[NEUROPIL.NGFF_NO_MULTISCALES]" in refused.output
        assert "zarr-python cannot open its node 'data'" in refused.output
        assert _remote_zarrs(api, ds.identifier) == {"sub-01/good.ome.zarr": "Complete"}
        assert [a.path for a in api.dandiset(ds.identifier, "draft").assets()] == [
            "sub-01/good.ome.zarr"
        ]

        ok("upload", *auth, "--validation", "skip", str(root))
        assert set(_remote_zarrs(api, ds.identifier)) == {
            "sub-01/good.ome.zarr",
            "sub-01/plain.ome.zarr",
            "sub-01/broken.zarr",
        }
        remote = api.dandiset(ds.identifier, "draft").asset("sub-01/broken.zarr")
        assert remote.metadata["digest"]["dandi:dandi-zarr-checksum"] == local_checksum(broken)


def test_existing_policies_apply_to_zarrs(archive: Server, tmp_path: Path) -> None:
    with Archive(archive.url, archive.user_token) as api:
        ds = api.create_dandiset("--existing with a Zarr")
        root = tmp_path / ds.identifier
        write_dandiset_yaml(root, ds.identifier)
        local = make_zarr(root / "data.zarr")
        auth = ("--token", archive.user_token, "-i", archive.url)
        ok("upload", *auth, str(root))
        first = local_checksum(local)
        (local / "data" / "0.0").write_bytes(b"changed")

        def remote_checksum() -> str:
            asset = api.dandiset(ds.identifier, "draft").asset("data.zarr")
            return str(asset.metadata["digest"]["dandi:dandi-zarr-checksum"])

        skipped = ok("upload", *auth, "--existing", "skip", "--json", str(root))
        assert '"already exists in the draft (existing=skip)"' in skipped.stdout
        assert remote_checksum() == first
        refused = CliRunner().invoke(cli, ["upload", *auth, "-e", "error", str(root)])
        assert refused.exit_code == 1
        assert "data.zarr already exists in the draft" in refused.output
        assert remote_checksum() == first
        ok("upload", *auth, "--existing", "refresh", str(root))
        assert remote_checksum() == local_checksum(local) != first

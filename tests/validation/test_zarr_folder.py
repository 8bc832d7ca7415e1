"""``neuropil validate`` of a dandiset folder holding Zarrs: each is one asset, opened with
zarr-python, its keys and depth checked (``dandi validate``'s ids where it has them)."""

from __future__ import annotations

from pathlib import Path

import zarr
from click.testing import CliRunner

from neuropil.cli.main import cli
from neuropil.validation.paths import validate_paths
from tests.support.nwb import write_dandiset_yaml
from tests.support.zarrs import make_zarr


def _ids(root: Path) -> dict[str, list[str]]:
    (checked,) = validate_paths([root])
    out: dict[str, list[str]] = {path: [] for path in checked.files}
    for f in checked.findings:
        out.setdefault(f.path, []).append(f.id)
    return out


def test_zarr_folders_are_checked_as_assets(tmp_path: Path) -> None:
    root = tmp_path / "000321"
    write_dandiset_yaml(root, "000321")
    make_zarr(root / "good.zarr")
    (root / ".git-like.zarr").mkdir()  # a dot folder: not part of the dandiset
    zarr.open_group(str(root / "empty-group.zarr"), mode="w")
    (root / "broken.zarr").mkdir()
    (root / "broken.zarr" / ".zarray").write_text("{not json")
    (root / "no-files.zarr" / "sub").mkdir(parents=True)
    deep = root / "deep.ome.zarr"
    make_zarr(deep)
    (deep / "a/b/c/d/e/f/g/h").mkdir(parents=True)
    (deep / "a/b/c/d/e/f/g/h/0").write_bytes(b"x")
    make_zarr(root / "odd-keys.zarr")
    (root / "odd-keys.zarr" / "bell\x07").write_bytes(b"x")
    (root / "odd-keys.zarr" / ".git").mkdir()  # never a key (dandi-cli's exclude_from_zarr)
    (root / "odd-keys.zarr" / ".git" / "bell\x07").write_bytes(b"x")
    assert _ids(root) == {
        "dandiset.yaml": [],
        "good.zarr": [],
        "empty-group.zarr": ["dandi_zarr.empty_group"],
        "broken.zarr": ["zarr.cannot_open"],
        "no-files.zarr": ["NEUROPIL.ZARR_EMPTY"],
        "deep.ome.zarr": ["dandi_zarr.tree_depth_exceeded"],
        "odd-keys.zarr": ["NEUROPIL.ZARR_KEY_INVALID"],
    }


def test_validate_command_reports_a_broken_zarr(tmp_path: Path) -> None:
    root = tmp_path / "000322"
    write_dandiset_yaml(root, "000322")
    make_zarr(root / "good.zarr")
    result = CliRunner().invoke(cli, ["validate", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout
    (root / "bad.zarr").mkdir()
    (root / "bad.zarr" / ".zgroup").write_text("[]")
    result = CliRunner().invoke(cli, ["validate", str(root)], catch_exceptions=False)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "bad.zarr" in lines
    assert "[zarr.cannot_open]" in lines[lines.index("bad.zarr") + 1]

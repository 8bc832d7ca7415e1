"""``neuropil validate`` of a dandiset folder holding Zarrs: each is one asset, opened with
zarr-python, its keys, files and depth checked (``dandi validate``'s ids where it has them),
and an OME-Zarr's ``multiscales`` metadata read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import zarr
from click.testing import CliRunner

from neuropil.cli.main import cli
from neuropil.core.zarr_paths import MAX_FILE_BYTES
from neuropil.validation import Finding, validate_zarr_folders
from neuropil.validation.paths import validate_paths
from neuropil.validation.zarr_folder import MAX_DEPTH
from tests.support.nwb import write_dandiset_yaml
from tests.support.zarrs import make_ome_zarr, make_zarr
from tests.validation.conftest import DANDI, dandi_validate


def _ids(root: Path) -> dict[str, list[str]]:
    (checked,) = validate_paths([root])
    out: dict[str, list[str]] = {path: [] for path in checked.files}
    for f in checked.findings:
        out.setdefault(f.path, []).append(f.id)
    return out


def _one(root: Path, name: str) -> Finding:
    """The one finding of the Zarr folder ``name`` in the dandiset at ``root``."""
    (found,) = validate_zarr_folders([root / name], dandiset_root=root)
    assert found.path == name
    return found


def _deep(path: Path, folders: int) -> Path:
    """A good Zarr with one more file ``folders`` folders below its root."""
    make_zarr(path)
    here = path.joinpath(*"abcdefghijk"[:folders])
    here.mkdir(parents=True)
    (here / "0").write_bytes(b"x")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "000321"
    write_dandiset_yaml(root, "000321")
    return root


def test_zarr_folders_are_checked_as_assets(root: Path) -> None:
    make_zarr(root / "good.zarr")
    make_ome_zarr(root / "sub-01" / "good.ome.zarr")
    (root / ".git-like.zarr").mkdir()  # a dot folder: not part of the dandiset
    zarr.open_group(str(root / "empty-group.zarr"), mode="w")
    (root / "broken.zarr").mkdir()
    (root / "broken.zarr" / ".zarray").write_text("{not json")
    (root / "no-files.zarr" / "sub").mkdir(parents=True)
    _deep(root / "deep.zarr", MAX_DEPTH)
    make_zarr(root / "odd-keys.zarr")
    (root / "odd-keys.zarr" / "bell\x07").write_bytes(b"x")
    (root / "odd-keys.zarr" / ".git").mkdir()  # never a key (dandi-cli's exclude_from_zarr)
    (root / "odd-keys.zarr" / ".git" / "bell\x07").write_bytes(b"x")
    make_zarr(root / "plain.ome.zarr")
    assert _ids(root) == {
        "dandiset.yaml": [],
        "good.zarr": [],
        "sub-01/good.ome.zarr": [],
        "empty-group.zarr": ["dandi_zarr.empty_group"],
        "broken.zarr": ["zarr.cannot_open"],
        "no-files.zarr": ["NEUROPIL.ZARR_EMPTY"],
        "deep.zarr": ["dandi_zarr.tree_depth_exceeded"],
        "odd-keys.zarr": ["NEUROPIL.ZARR_KEY_INVALID"],
        "plain.ome.zarr": ["NEUROPIL.NGFF_NO_MULTISCALES"],
    }


def test_an_empty_folder_named_zarr(root: Path) -> None:
    (root / "x.zarr").mkdir()
    found = _one(root, "x.zarr")
    assert (found.severity, found.id) == ("ERROR", "NEUROPIL.ZARR_EMPTY")
    assert found.message == f"{root / 'x.zarr'} holds no files: an empty Zarr cannot be uploaded."


def test_corrupt_metadata_is_found_at_any_depth(root: Path) -> None:
    (root / "root.zarr").mkdir()
    (root / "root.zarr" / ".zarray").write_text("{not json")
    found = _one(root, "root.zarr")
    assert found.id == "zarr.cannot_open"
    assert found.message.startswith(f"zarr-python cannot open {root / 'root.zarr'}: ")
    assert "JSONDecodeError" in found.message

    make_zarr(root / "nested.zarr")  # dandi validate opens the root only and passes this
    (root / "nested.zarr" / "sub" / "noise" / ".zarray").write_text('{"zarr_format": 2}')
    found = _one(root, "nested.zarr")
    assert found.id == "zarr.cannot_open" and found.location == "sub/noise"
    assert found.message.startswith("zarr-python cannot open its node 'sub/noise': ")

    make_zarr(root / "attrs.zarr")
    (root / "attrs.zarr" / "data" / ".zattrs").write_text("{")
    assert _one(root, "attrs.zarr").location == "data"

    make_zarr(root / "consolidated.zarr")
    (root / "consolidated.zarr" / ".zmetadata").write_text("[]")
    found = _one(root, "consolidated.zarr")
    assert found.id == "zarr.cannot_open"
    assert "consolidated metadata (.zmetadata) cannot be read" in found.message


def test_a_folder_that_is_no_zarr(root: Path) -> None:
    (root / "images.zarr").mkdir()
    (root / "images.zarr" / "a.png").write_bytes(b"png")
    found = _one(root, "images.zarr")
    assert found.id == "zarr.cannot_open"
    assert "has no .zgroup or .zarray (Zarr v2) nor zarr.json (Zarr v3) at its root" in (
        found.message
    )


def test_zarr_v3_is_not_opened_by_zarr_python_2(root: Path) -> None:
    (root / "v3.zarr").mkdir()
    (root / "v3.zarr" / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    found = _one(root, "v3.zarr")
    if not zarr.__version__.startswith("2."):
        pytest.skip("zarr-python 3 opens Zarr v3")
    assert (found.severity, found.id) == ("WARNING", "NEUROPIL.ZARR_NOT_OPENED")


def test_ome_zarr_needs_its_multiscales(root: Path) -> None:
    make_zarr(root / "plain.ome.zarr")
    found = _one(root, "plain.ome.zarr")
    assert (found.severity, found.id) == ("ERROR", "NEUROPIL.NGFF_NO_MULTISCALES")
    assert "root group's attributes (.zattrs) have no 'multiscales'" in found.message
    assert "name the folder .zarr if it is not an OME-Zarr image" in found.message
    make_zarr(root / "plain.zarr")  # the same Zarr, named as a plain one, passes
    assert validate_zarr_folders([root / "plain.zarr"], dandiset_root=root) == []

    broken = make_ome_zarr(root / "broken.ngff")
    multiscales = zarr.open_group(str(broken)).attrs["multiscales"]
    multiscales[0]["datasets"].append({"path": "2"})
    multiscales.append({"datasets": []})
    zarr.open_group(str(broken)).attrs["multiscales"] = multiscales
    found = _one(root, "broken.ngff")
    assert found.id == "NEUROPIL.NGFF_INVALID_MULTISCALES"
    assert "multiscales[0].datasets[2] names '2', which is not an array" in found.message
    assert "multiscales[1] has no 'datasets' list" in found.message

    plate = zarr.open_group(str(root / "plate.ome.zarr"), mode="w")
    plate.create_group("A").attrs["well"] = {"images": []}
    plate.attrs["plate"] = {"rows": [{"name": "A"}], "columns": [], "wells": []}
    assert validate_zarr_folders([root / "plate.ome.zarr"], dandiset_root=root) == []

    array = zarr.open_array(str(root / "array.ome.zarr"), mode="w", shape=(2,), dtype="i1")
    array[:] = 1
    assert _one(root, "array.ome.zarr").id == "NEUROPIL.NGFF_NO_MULTISCALES"


def test_files_the_archive_would_refuse(root: Path) -> None:
    make_zarr(root / "large.zarr")
    with (root / "large.zarr" / "data" / "1.1").open("r+b") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing is written
    found = _one(root, "large.zarr")
    assert found.id == "NEUROPIL.ZARR_FILE_TOO_LARGE"
    assert "'data/1.1'" in found.message

    make_zarr(root / "annexed.zarr")
    os.symlink(root / "gone", root / "annexed.zarr" / "data" / "0.1.tmp")
    found = _one(root, "annexed.zarr")
    assert found.id == "NEUROPIL.ZARR_FILE_UNREADABLE"
    assert "'data/0.1.tmp' (a symlink to a missing file)" in found.message


@pytest.mark.skipif(not DANDI.exists(), reason="the official client is not installed")
def test_depth_limit_is_dandi_validates(root: Path) -> None:
    _deep(root / "below.zarr", MAX_DEPTH - 1)
    _deep(root / "at.zarr", MAX_DEPTH)
    status, records = dandi_validate(root)
    assert status == 1
    theirs = {Path(r["path"]).name: r["id"] for r in records if r["severity"] == "ERROR"}
    assert theirs == {"at.zarr": "dandi_zarr.tree_depth_exceeded"}
    assert _ids(root) == {
        "dandiset.yaml": [],
        "below.zarr": [],
        "at.zarr": ["dandi_zarr.tree_depth_exceeded"],
    }
    assert "'a/b/c/d/e/f/g/0' lies 7 folders below the Zarr's root" in _one(root, "at.zarr").message


def test_validate_command_reports_a_broken_zarr(root: Path) -> None:
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
    records = json.loads(
        CliRunner().invoke(cli, ["validate", "-f", "json", str(root)]).stdout or "[]"
    )
    assert [(r["asset_paths"], r["id"]) for r in records] == [(["bad.zarr"], "zarr.cannot_open")]

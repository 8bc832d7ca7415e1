"""Which local files a dandiset folder holds: what ``upload`` sends and ``validate`` checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuropil.errors import LocalFileError
from neuropil.localfiles import (
    dandiset_root_of,
    find_dandiset_root,
    in_scopes,
    parse_dandiset_id,
    read_dandiset_id,
    select_files,
)


def _tree(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_a_folder_means_its_files_without_dot_files_partials_and_zarr(tmp_path: Path) -> None:
    """A Zarr folder is one asset of its own (``zarrs``), not files."""
    _tree(
        tmp_path,
        "dandiset.yaml",
        "sub-1/a.nwb",
        "sub-1/.hidden",
        ".git/config",
        "sub-1/b.nwb.npdownload",
        "sub-1/c.zarr/.zgroup",
        "sub-2/dandiset.yaml",  # only the top-level one is not an asset
    )
    selection = select_files(tmp_path, None)
    assert [f.asset_path for f in selection.files] == ["sub-1/a.nwb", "sub-2/dandiset.yaml"]
    assert dict(selection.skipped).keys() == {"dandiset.yaml", "sub-1/b.nwb.npdownload"}
    assert [(z.asset_path, z.path) for z in selection.zarrs] == [
        ("sub-1/c.zarr", tmp_path / "sub-1/c.zarr")
    ]
    assert selection.scopes == [""]


def test_named_paths_give_their_scopes_and_missing_ones_are_listed(tmp_path: Path) -> None:
    _tree(tmp_path, "dandiset.yaml", "sub-1/a.nwb", "sub-1/b.nwb", "sub-2/.dot")
    selection = select_files(
        tmp_path, [tmp_path / "sub-1", tmp_path / "sub-1/a.nwb", tmp_path / "gone.nwb"]
    )
    assert [f.asset_path for f in selection.files] == ["sub-1/a.nwb", "sub-1/b.nwb"]
    assert selection.missing == ["gone.nwb"]
    assert selection.scopes == ["gone.nwb", "sub-1/"]
    assert in_scopes("sub-1/x.nwb", selection.scopes)
    assert not in_scopes("sub-10/x.nwb", selection.scopes)
    dot = select_files(tmp_path, [tmp_path / "sub-2/.dot"])
    assert dot.files == [] and dot.skipped[0][0] == "sub-2/.dot"


def test_a_path_outside_the_dandiset_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    with pytest.raises(LocalFileError, match="not inside the dandiset"):
        select_files(tmp_path / "ds", [tmp_path / "elsewhere.nwb"])


def test_the_dandiset_root_is_found_at_or_above_the_paths(tmp_path: Path) -> None:
    _tree(tmp_path, "ds/sub-1/a.nwb")
    (tmp_path / "ds/dandiset.yaml").write_text("identifier: DANDI:000123\n")
    assert dandiset_root_of(tmp_path / "ds/sub-1/a.nwb") == tmp_path / "ds"
    assert dandiset_root_of(tmp_path) is None
    assert find_dandiset_root([tmp_path / "ds/sub-1"]) == tmp_path / "ds"
    with pytest.raises(LocalFileError, match=r"No dandiset\.yaml"):
        find_dandiset_root([tmp_path])
    assert read_dandiset_id(tmp_path / "ds") == "000123"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("000123", "000123"),
        ("DANDI:000123", "000123"),
        (123, "000123"),
        ("12", None),
        (None, None),
        # what `neuropil download` writes for any instance (issue 13)
        ("NEUROPIL:000002", "000002"),
        ("my-lab:000001", "000001"),
        ("DANDI-SANDBOX:000123", "000123"),
        ("DANDI:0001234", None),
        (":000123", None),
        ("DANDI:000123/draft", None),
    ],
)
def test_dandiset_identifiers(value: object, expected: str | None) -> None:
    assert parse_dandiset_id(value) == expected

"""``neuropil organize`` really places the files in every files mode, and refuses cleanly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from neuropil.cli.main import cli
from tests.nwb.files import Spec, write_set

SPECS = [
    Spec("raw/one.nwb", subject_id="m1", session_id="s1"),
    Spec("raw/two.nwb", subject_id="m1", session_id="s2", content=("behavior",)),
]
TARGETS = {
    "one.nwb": "sub-m1/sub-m1_ses-s1_ecephys.nwb",
    "two.nwb": "sub-m1/sub-m1_ses-s2_behavior.nwb",
}


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("placement")
    write_set(root, SPECS)
    return root / "raw"


@pytest.fixture
def work(originals: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the files in ``tmp_path/raw``, with the current directory at ``tmp_path``."""
    raw = tmp_path / "raw"
    raw.mkdir()
    for name in TARGETS:
        (raw / name).write_bytes((originals / name).read_bytes())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def organize(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["organize", *args])
    return result.exit_code, result.output


def test_copy(work: Path) -> None:
    code, output = organize("-d", "ds", "--files-mode", "copy", "raw")
    assert code == 0, output
    for name, target in TARGETS.items():
        assert (work / "ds" / target).read_bytes() == (work / "raw" / name).read_bytes()
        assert not (work / "ds" / target).is_symlink()


def test_move(work: Path) -> None:
    data = {name: (work / "raw" / name).read_bytes() for name in TARGETS}
    code, output = organize("-d", "ds", "--files-mode", "move", "raw")
    assert code == 0, output
    for name, target in TARGETS.items():
        assert (work / "ds" / target).read_bytes() == data[name]
        assert not (work / "raw" / name).exists()


def test_hardlink(work: Path) -> None:
    code, output = organize("-d", "ds", "--files-mode", "hardlink", "raw")
    assert code == 0, output
    for name, target in TARGETS.items():
        assert os.path.samefile(work / "ds" / target, work / "raw" / name)
        assert (work / "ds" / target).stat().st_nlink == 2


@pytest.mark.parametrize("mode", ["symlink", "auto"])
def test_symlink_is_relative_for_relative_paths(work: Path, mode: str) -> None:
    code, output = organize("-d", "ds", "--files-mode", mode, "raw")
    assert code == 0, output
    for name, target in TARGETS.items():
        link = work / "ds" / target
        assert link.is_symlink()
        assert not os.path.isabs(os.readlink(link))
        assert os.path.samefile(link, work / "raw" / name)


def test_dry_changes_nothing_and_json_reports(work: Path) -> None:
    code, output = organize("-d", "ds", "--files-mode", "dry", "--json", "raw")
    assert code == 0, output
    report = json.loads(output)
    assert {f["source"]: f["target"] for f in report["files"]} == {
        f"raw/{n}": t for n, t in TARGETS.items()
    }
    assert not (work / "ds").exists()


def test_existing_target_refuses_everything(work: Path) -> None:
    target = work / "ds" / TARGETS["two.nwb"]
    target.parent.mkdir(parents=True)
    target.write_bytes(b"something else")
    code, output = organize("-d", "ds", "--files-mode", "move", "raw")
    assert code == 1
    assert "already exist" in output and TARGETS["two.nwb"] in output
    assert (work / "raw" / "one.nwb").exists() and (work / "raw" / "two.nwb").exists()
    assert not (work / "ds" / TARGETS["one.nwb"]).exists()


def test_dandiset_found_from_the_current_directory(work: Path) -> None:
    code, output = organize("--files-mode", "dry", "raw")
    assert code == 1 and "dandiset.yaml" in output and "-d" in output
    (work / "dandiset.yaml").write_text('identifier: "000001"\n')
    code, output = organize("--files-mode", "copy", "raw")
    assert code == 0, output
    assert all((work / t).is_file() for t in TARGETS.values())


def test_in_place_move_of_a_dandiset(work: Path) -> None:
    (work / "dandiset.yaml").write_text('identifier: "000001"\n')
    code, output = organize("--files-mode", "copy")
    assert code == 1 and "dry or move" in output
    code, output = organize("--files-mode", "move")
    assert code == 0, output
    assert all((work / t).is_file() for t in TARGETS.values())
    assert not (work / "raw").exists()  # emptied by the move, then removed
    code, output = organize("--files-mode", "dry")  # organized already: nothing to do
    assert code == 0 and "0 files" in output


def test_no_nwb_files(work: Path) -> None:
    (work / "empty").mkdir()
    code, output = organize("-d", "ds", "--files-mode", "dry", "empty")
    assert code == 1 and "No .nwb files" in output

"""``neuropil organize`` gives the names ``dandi organize`` gives, and places files as asked.

Each set of files exercises rules of the naming scheme; both tools run as subprocesses in
``--files-mode dry`` on the same files and their ``source -> target`` lines are compared.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.nwb.files import Spec, write_set

DANDI = str(Path(sys.executable).with_name("dandi"))
ENV = {**os.environ, "DANDI_NO_ET": "1", "DANDI_CACHE": "ignore"}

#: Every rule at once: subjects and sessions needing sanitizing, a missing session_id
#: (filled from the start time), probes and object ids telling colliding files apart,
#: tissue/slice/cell entities, and six modalities.
MAIN = [
    Spec("a1.nwb", subject_id="mouse_1.2", session_id="s 1", content=("ecephys", "behavior")),
    Spec("a2.nwb", subject_id="mouse_1.2", session_id="s2", probe_ids=(1, 2)),
    Spec("a3.nwb", subject_id="mouse_1.2", session_id="s2", probe_ids=(3,)),
    Spec(
        "a4.nwb",
        subject_id="mouse_1.2",
        session_id=None,
        start=datetime(2024, 5, 3, 14, 5, 6, tzinfo=UTC),
        content=("ophys",),
    ),
    Spec("r1.nwb", subject_id="rat01", session_id="r1", content=("behavior",), species="rat"),
    Spec("r2.nwb", subject_id="rat01", session_id="r1", content=("behavior",), species="rat"),
    Spec(
        "cells/c1.nwb",
        subject_id="cellmouse",
        session_id="c",
        content=("icephys",),
        samples={"tissue_sample_id": "t1", "slice_id": "sl.1", "cell_id": "c1"},
    ),
    Spec(
        "cells/c2.nwb",
        subject_id="cellmouse",
        session_id="c",
        content=("icephys",),
        samples={"tissue_sample_id": "t1", "slice_id": "sl.1", "cell_id": "c2"},
    ),
    Spec("o1.nwb", subject_id="m:3 x", session_id="a/b;c", content=("ogen", "image")),
    Spec(".hidden.nwb", subject_id="ignored"),
]
#: One session in the whole batch: no ``_ses-``.
ONE_SESSION = [
    Spec("e.nwb", subject_id="m1", session_id="only"),
    Spec("o.nwb", subject_id="m1", session_id="only", content=("ophys",)),
    Spec("other.nwb", subject_id="m2", session_id="only", content=("behavior",)),
]
#: No session ids, every start at midnight: ``_ses-YYYYMMDD`` without the time.
MIDNIGHT = [
    Spec("d1.nwb", subject_id="m1", start=datetime(2024, 5, 1, tzinfo=UTC)),
    Spec("d2.nwb", subject_id="m1", start=datetime(2024, 5, 2, tzinfo=UTC)),
]
SINGLE = [Spec("single.nwb", subject_id="m1", session_id="s1")]
#: A file without subject_id, one without a subject, and one that is not NWB.
INVALID = [
    Spec("good.nwb", subject_id="m1", session_id="s1"),
    Spec("nosubjectid.nwb", subject_id=None),
    Spec("nosubject.nwb", with_subject=False),
]


def run(tool: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [DANDI, "organize", "-J", "1"] if tool == "dandi" else [
        sys.executable, "-m", "neuropil", "organize"
    ]  # fmt: skip
    return subprocess.run(
        [*command, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )


def dry_names(tool: str, args: list[str], cwd: Path) -> dict[str, str]:
    result = run(tool, ["--files-mode", "dry", *args], cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    pairs = {}
    for line in result.stdout.splitlines():
        if " -> " in line and "makedirs" not in line:
            source, target = line.removeprefix("DRY: ").split(" -> ")
            pairs[source] = target
    return pairs


def same_names(directory: Path, *args: str) -> dict[str, str]:
    ours = dry_names("neuropil", [*args], directory)
    theirs = dry_names("dandi", [*args], directory)
    assert ours == theirs
    return ours


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("organize-sets")
    for name, specs in [
        ("main", MAIN),
        ("one_session", ONE_SESSION),
        ("midnight", MIDNIGHT),
        ("single", SINGLE),
        ("invalid", INVALID),
    ]:
        write_set(root / name, specs)
    (root / "invalid" / "notnwb.nwb").write_bytes(b"not an HDF5 file at all")
    return root


CELL = "sub-cellmouse_ses-c_tis-t1_slice-sl-1_cell"


def test_every_rule_gives_the_official_names(sets: Path) -> None:
    names = same_names(sets, "-d", "out", "main")
    assert names == {
        "main/a1.nwb": "sub-mouse-1-2/sub-mouse-1-2_ses-s-1_behavior+ecephys.nwb",
        "main/a2.nwb": "sub-mouse-1-2/sub-mouse-1-2_ses-s2_probe-1+2_ecephys.nwb",
        "main/a3.nwb": "sub-mouse-1-2/sub-mouse-1-2_ses-s2_probe-3_ecephys.nwb",
        "main/a4.nwb": "sub-mouse-1-2/sub-mouse-1-2_ses-20240503T140506_ophys.nwb",
        "main/r1.nwb": names["main/r1.nwb"],
        "main/r2.nwb": names["main/r2.nwb"],
        "main/cells/c1.nwb": f"sub-cellmouse/{CELL}-c1_icephys.nwb",
        "main/cells/c2.nwb": f"sub-cellmouse/{CELL}-c2_icephys.nwb",
        "main/o1.nwb": "sub-m-3-x/sub-m-3-x_ses-a-b-c_image+ogen.nwb",
    }
    for source in ("main/r1.nwb", "main/r2.nwb"):  # told apart only by their object ids
        assert names[source].startswith("sub-rat01/sub-rat01_ses-r1_obj-")
        assert names[source].endswith("_behavior.nwb")


def test_absolute_paths_are_printed_absolute(sets: Path) -> None:
    names = same_names(sets, "-d", str(sets / "out"), str(sets / "one_session"))
    assert all(os.path.isabs(source) for source in names)


def test_one_session_in_the_batch_is_left_out(sets: Path) -> None:
    assert same_names(sets, "-d", "out", "one_session") == {
        "one_session/e.nwb": "sub-m1/sub-m1_ecephys.nwb",
        "one_session/o.nwb": "sub-m1/sub-m1_ophys.nwb",
        "one_session/other.nwb": "sub-m2/sub-m2_behavior.nwb",
    }


def test_midnight_starts_give_dates_without_time(sets: Path) -> None:
    assert same_names(sets, "-d", "out", "midnight") == {
        "midnight/d1.nwb": "sub-m1/sub-m1_ses-20240501_ecephys.nwb",
        "midnight/d2.nwb": "sub-m1/sub-m1_ses-20240502_ecephys.nwb",
    }


def test_required_field(sets: Path) -> None:
    assert same_names(sets, "-d", "out", "single") == {
        "single/single.nwb": "sub-m1/sub-m1_ecephys.nwb"
    }
    assert same_names(sets, "-d", "out", "--required-field", "session_id", "single") == {
        "single/single.nwb": "sub-m1/sub-m1_ses-s1_ecephys.nwb"
    }


def test_files_without_subject_fail_or_are_skipped(sets: Path) -> None:
    for tool in ("neuropil", "dandi"):
        result = run(tool, ["-d", "out", "--files-mode", "dry", "invalid"], sets)
        assert result.returncode != 0, tool
    ours = run("neuropil", ["-d", "out", "--files-mode", "dry", "invalid"], sets)
    for name in ("nosubjectid.nwb", "nosubject.nwb", "notnwb.nwb"):
        assert name in ours.stderr
    assert "no subject_id" in ours.stderr and "--invalid warn" in ours.stderr
    assert "not HDF5" in ours.stderr
    assert same_names(sets, "-d", "out", "--invalid", "warn", "invalid") == {
        "invalid/good.nwb": "sub-m1/sub-m1_ecephys.nwb"
    }


def test_duplicate_files_cannot_be_organized(sets: Path, tmp_path: Path) -> None:
    shutil.copy(sets / "single" / "single.nwb", tmp_path / "one.nwb")
    shutil.copy(sets / "single" / "single.nwb", tmp_path / "two.nwb")
    for tool in ("neuropil", "dandi"):
        result = run(tool, ["-d", "out", "--files-mode", "dry", "."], tmp_path)
        assert result.returncode != 0, tool
    ours = run("neuropil", ["-d", "out", "--files-mode", "dry", "."], tmp_path)
    assert "same object_id" in ours.stderr


def test_simulate_builds_the_same_tree(sets: Path, tmp_path: Path) -> None:
    for tool in ("neuropil", "dandi"):
        result = run(tool, ["-d", str(tmp_path / tool), "--files-mode", "simulate", "main"], sets)
        assert result.returncode == 0, result.stderr[-3000:]
    assert _tree(tmp_path / "neuropil") == _tree(tmp_path / "dandi")
    for link in (tmp_path / "neuropil").rglob("*.nwb"):
        assert link.is_symlink() and link.resolve().is_file()
    refused = run("neuropil", ["-d", str(tmp_path / "neuropil"), "-f", "simulate", "main"], sets)
    assert refused.returncode == 1 and "must not exist" in refused.stderr


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_symlink() or p.is_file()}

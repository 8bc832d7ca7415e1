"""``validate_files``: the one validation shared by ``upload`` and ``validate`` (paths, layout,
readability, the first content checks)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from neuropil.demo import make_nwb_files
from neuropil.validation import Finding, check_organized_path, errors_by_path, validate_files


@pytest.fixture(scope="module")
def nwb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One valid NWB file (the demo's first organized session)."""
    return make_nwb_files(tmp_path_factory.mktemp("nwb"), organized=True)[0]


def place(root: Path, asset_path: str, source: Path | bytes) -> Path:
    target = root / asset_path
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copy(source, target)
    return target


def ids(findings: list[Finding]) -> list[str]:
    return [f.id for f in findings]


# The official client's own cases (dandi-cli tests/test_organize.py).
@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("XCaMPgf/XCaMPgf_ANM471996_cell01.dat", []),
        ("sub-RAT123/sub-RAT123.nwb", []),
        ("sub-RAT123/sub-RAT123_desc-label.nwb", []),
        ("sub-RAT123/sub-RAT123_ses-1_probe-2+3_ecephys+ophys.nwb", []),
        ("sub-RAT123/sub-RAT123_notsupported-irrelevant.nwb", ["DANDI.NON_DANDI_FILENAME"]),
        ("sub-RAT123/sub-RAT124.nwb", ["DANDI.METADATA_MISMATCH_SUBJECT"]),
        ("sub-RAT124.nwb", ["DANDI.NON_DANDI_FOLDERNAME"]),
        ("foo/sub-RAT124.nwb", ["DANDI.NON_DANDI_FOLDERNAME"]),
        ("foo/sub-RAT123/sub-RAT124.nwb", ["DANDI.NON_DANDI_FOLDERNAME"]),
        ("sub-RAT123/foo/sub-RAT124.nwb", ["DANDI.NON_DANDI_FOLDERNAME"]),
        (
            "XCaMPgf/XCaMPgf_ANM471996_cell01.nwb",
            ["DANDI.NON_DANDI_FILENAME", "DANDI.NON_DANDI_FOLDERNAME"],
        ),
        ("sub-RAT123/XCaMPgf_ANM471996_cell01.nwb", ["DANDI.NON_DANDI_FILENAME"]),
        ("sub-1/sub-1_ses-a.b.nwb", ["DANDI.NON_DANDI_FILENAME"]),
    ],
)
def test_layout_rules(path: str, expected: list[str]) -> None:
    assert ids(check_organized_path(path)) == expected


def test_layout_messages_say_what_to_fix() -> None:
    (name,) = check_organized_path("sub-1/sub-1_bogus-x.nwb")
    assert (
        "'sub-1_bogus-x.nwb'" in name.message and "'bogus-x' is not a DANDI entity" in name.message
    )
    (folder,) = check_organized_path("data/sub-7.nwb")
    assert "'data/'" in folder.message and "move it to sub-7/sub-7.nwb" in folder.message
    (mismatch,) = check_organized_path("sub-1/sub-2.nwb")
    assert "sub-2/sub-2.nwb" in mismatch.message
    assert str(mismatch).startswith("[DANDI.METADATA_MISMATCH_SUBJECT] sub-1/sub-2.nwb — ")


def test_valid_files_have_no_findings(tmp_path: Path, nwb_file: Path) -> None:
    good = place(tmp_path, f"sub-mouse01/{nwb_file.name}", nwb_file)
    other = place(tmp_path, "docs/notes.txt", b"any file type is fine")
    assert validate_files([good, other], dandiset_root=tmp_path) == []


def test_nwb_content_checks(tmp_path: Path) -> None:
    not_hdf5 = place(tmp_path, "sub-a/sub-a.nwb", b"plain text")
    bare = tmp_path / "sub-b" / "sub-b.nwb"
    bare.parent.mkdir()
    with h5py.File(bare, "w") as f:
        f.create_dataset("x", data=[1, 2, 3])
    findings = validate_files([not_hdf5, bare], dandiset_root=tmp_path)
    assert [(f.path, f.id, f.severity) for f in findings] == [
        ("sub-a/sub-a.nwb", "NWB.CANNOT_OPEN", "ERROR"),
        ("sub-b/sub-b.nwb", "NWB.MISSING_NWB_VERSION", "ERROR"),
    ]
    assert str(not_hdf5) in findings[0].message
    assert "nwb_version" in findings[1].message


def test_path_and_file_problems(tmp_path: Path, nwb_file: Path) -> None:
    root = tmp_path / "ds"
    bad_char = place(root, "data/a:b.txt", b"x")
    broken = root / "sub-x" / "sub-x.nwb"
    broken.parent.mkdir(parents=True)
    os.symlink(root / ".git" / "annex" / "objects" / "missing", broken)
    outside = place(tmp_path, "elsewhere.txt", b"x")
    folder = root / "a-folder"
    folder.mkdir()
    findings = validate_files([bad_char, broken, outside, folder], dandiset_root=root)
    assert ids(findings) == [
        "DANDI.INVALID_ASSET_PATH",
        "DANDI.FILE_CONTENT_MISSING",
        "DANDI.NO_DANDISET_FOUND",
        "NEUROPIL.NOT_A_FILE",
    ]
    assert "':'" in findings[0].message
    assert "git annex get" in findings[1].message
    assert str(root) in findings[2].message
    assert errors_by_path(findings).keys() == {f.path for f in findings}


#: Validates argv[1] in the dandiset argv[2]; prints each finding's id and message.
VALIDATE_ONE = """
import json, sys
from neuropil.validation import validate_files
found = validate_files([sys.argv[1]], dandiset_root=sys.argv[2])
print(json.dumps([[f.id, f.message] for f in found]))
"""
#: Root reads any file whatever its mode, through CAP_DAC_OVERRIDE (and CAP_DAC_READ_SEARCH):
#: without them, root is held to the mode's owner bits like anyone else.
NO_DAC_OVERRIDE = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_unreadable_file(tmp_path: Path) -> None:
    """A file its owner may not read (mode 000), validated by a process held to file modes:
    as root (CI), one without the capabilities that override them."""
    path = place(tmp_path, "secret.txt", b"x")
    path.chmod(0)
    command = [sys.executable, "-c", VALIDATE_ONE, str(path), str(tmp_path)]
    if os.geteuid() == 0:
        command = NO_DAC_OVERRIDE + command
    try:
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    finally:
        path.chmod(0o644)
    [(finding, message)] = json.loads(out.stdout.splitlines()[-1])
    assert finding == "NEUROPIL.FILE_NOT_READABLE"
    assert "Permission denied" in message and "check its permissions" in message


def test_file_whose_read_fails(tmp_path: Path) -> None:
    """A regular file that opens but cannot be read, for root too: a process's own memory
    read at address 0 (never mapped) is an I/O error (EIO) from the kernel."""
    path = tmp_path / "memory.bin"
    path.symlink_to("/proc/self/mem")
    (finding,) = validate_files([path], dandiset_root=tmp_path)
    assert finding.id == "NEUROPIL.FILE_NOT_READABLE"
    assert finding.path == "memory.bin"
    assert "Input/output error" in finding.message


def test_bids_datasets_skip_the_dandi_layout(tmp_path: Path, nwb_file: Path) -> None:
    place(tmp_path, "rawdata/dataset_description.json", b"{}")
    inside = place(tmp_path, "rawdata/sub-01/ses-1/ecephys/sub-01_ses-1_ecephys.nwb", nwb_file)
    outside = place(tmp_path, "derivatives/sub-01_ses-1_ecephys.nwb", nwb_file)
    findings = validate_files([inside, outside], dandiset_root=tmp_path)
    assert {f.path for f in findings} == {"derivatives/sub-01_ses-1_ecephys.nwb"}

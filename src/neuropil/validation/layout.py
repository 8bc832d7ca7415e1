"""Checks that need no file content: the asset path, readability, DANDI's organized layout.

The layout rules and their error ids are the official client's (``dandi/organize.py``,
dandi-client.md §2); the messages say how to fix the path.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath

from neuropil.core.paths import validate_asset_path
from neuropil.errors import InvalidPath
from neuropil.validation.findings import Finding

#: A label in a DANDI file name: anything but separators and characters unsafe in paths.
LABEL = r"[^_*\\/<>:|\"'?%@;.]+"
#: dandi-cli's ``ORGANIZED_FILENAME_REGEX`` (organize.py), matched against the file name.
ORGANIZED_FILENAME = re.compile(
    rf"sub-{LABEL}"
    rf"(_ses-{LABEL})?"
    rf"(_(tis|slice|cell|desc|probe|obj)-{LABEL})*"
    r"(_[a-z]+(\+[a-z]+)*)?"
    r"\.nwb"
)
#: dandi-cli's ``ORGANIZED_FOLDER_REGEX``: the one folder level, named after the subject.
ORGANIZED_FOLDER = re.compile(rf"sub-{LABEL}")
LAYOUT_HINT = (
    "sub-<subject>/sub-<subject>[_ses-<session>][_<tis|slice|cell|desc|probe|obj>-<label>...]"
    "[_<modality>[+<modality>...]].nwb"
)
ORGANIZE_HINT = "`dandi organize` names files this way from their NWB metadata"
#: A BIDS dataset is marked by this file; its NWB files follow BIDS naming, not DANDI's.
BIDS_MARKER = "dataset_description.json"


def outside_dandiset(path: Path, root: Path) -> Finding:
    return Finding(
        str(path),
        "ERROR",
        "DANDI.NO_DANDISET_FOUND",
        f"{path} is not inside the dandiset at {root}; move it there or upload "
        "from the dandiset that contains it.",
    )


def check_asset_path(asset_path: str) -> list[Finding]:
    try:
        validate_asset_path(asset_path)
    except InvalidPath as exc:
        return [
            Finding(
                asset_path,
                "ERROR",
                "DANDI.INVALID_ASSET_PATH",
                f"the archive would refuse this path: {exc} Rename the file.",
            )
        ]
    return []


def check_readable(path: Path, asset_path: str) -> list[Finding]:
    if path.is_symlink() and not path.exists():
        return [
            Finding(
                asset_path,
                "ERROR",
                "DANDI.FILE_CONTENT_MISSING",
                f"{path} is a symlink to {os.readlink(path)}, which does not exist "
                "(a git-annex file whose content was not fetched? run `git annex get`).",
            )
        ]
    if not path.is_file():
        what = "a directory" if path.is_dir() else "missing or not a regular file"
        return [Finding(asset_path, "ERROR", "NEUROPIL.NOT_A_FILE", f"{path} is {what}.")]
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        return [
            Finding(
                asset_path,
                "ERROR",
                "NEUROPIL.FILE_NOT_READABLE",
                f"{path} cannot be read ({exc.strerror or exc}); check its permissions.",
            )
        ]
    return []


def in_bids_dataset(path: Path, root: Path) -> bool:
    """Whether a folder between the file and the dandiset root starts a BIDS dataset."""
    for folder in path.parents:
        if (folder / BIDS_MARKER).is_file():
            return True
        if folder == root:
            return False
    return False


def check_organized_path(asset_path: str) -> list[Finding]:
    """DANDI's layout rules for a (non-BIDS) ``.nwb`` asset path, as dandi-cli checks them:
    the ids are the official client's, the messages say how to fix the path."""
    path = PurePosixPath(asset_path)
    if path.suffix != ".nwb":
        return []
    findings = []
    name_ok = ORGANIZED_FILENAME.fullmatch(path.name) is not None
    folder = str(path.parent)
    folder_ok = len(path.parent.parts) == 1 and ORGANIZED_FOLDER.fullmatch(folder) is not None
    if not name_ok:
        findings.append(
            Finding(
                asset_path,
                "ERROR",
                "DANDI.NON_DANDI_FILENAME",
                f"the file name {path.name!r} does not follow DANDI's layout {LAYOUT_HINT}; "
                f"{_name_problem(path.name)} ({ORGANIZE_HINT}).",
            )
        )
    if not folder_ok:
        findings.append(
            Finding(
                asset_path,
                "ERROR",
                "DANDI.NON_DANDI_FOLDERNAME",
                f"the file must sit in exactly one folder named after its subject, "
                f"sub-<subject>/ at the dandiset root, but it is in {_where(folder)}; "
                f"{_folder_fix(path)}.",
            )
        )
    if name_ok and folder_ok:
        subject = ORGANIZED_FOLDER.match(path.name)
        assert subject is not None  # the file name matched, so it starts with sub-<label>
        if folder != subject[0]:
            findings.append(
                Finding(
                    asset_path,
                    "ERROR",
                    "DANDI.METADATA_MISMATCH_SUBJECT",
                    f"the folder says {folder!r} but the file name says {subject[0]!r}; "
                    f"move the file to {subject[0]}/{path.name} or rename it to match its "
                    "folder.",
                )
            )
    return findings


def _where(folder: str) -> str:
    return "the dandiset root" if folder == "." else f"{folder + '/'!r}"


def _folder_fix(path: PurePosixPath) -> str:
    subject = ORGANIZED_FOLDER.match(path.name)
    if subject is not None:
        return f"move it to {subject[0]}/{path.name}"
    return "move it into sub-<subject>/ and rename it to sub-<subject>_....nwb"


def _name_problem(name: str) -> str:
    """The first thing wrong with a file name, in words."""
    if not name.startswith("sub-"):
        return "it must start with 'sub-<subject>'"
    bad = sorted(set(re.findall(r"[*\\/<>:|\"'?%@;]", name)))
    if bad:
        return f"it contains {', '.join(repr(c) for c in bad)}, which labels may not contain"
    if name.count(".") > 1:
        return "labels may not contain '.'; only the '.nwb' extension may"
    for field in name.removesuffix(".nwb").split("_")[1:]:
        key, dash, _ = field.partition("-")
        if dash and key not in ("ses", "tis", "slice", "cell", "desc", "probe", "obj"):
            return f"{field!r} is not a DANDI entity (use ses, tis, slice, cell, desc, probe, obj)"
        if not dash and not re.fullmatch(r"[a-z]+(\+[a-z]+)*", field):
            return f"{field!r} is neither '<entity>-<label>' nor lowercase modalities"
    return (
        "its parts are out of order or repeated (the order is sub, ses, then "
        "tis/slice/cell/desc/probe/obj, then one group of modalities)"
    )

"""``organize``'s file side: find the NWB files, plan their names, put them in place.

Planning reads every file (fast, :mod:`neuropil.nwb.fields`), names them all together
(:mod:`neuropil.nwb.organize`) and checks every target before any file is touched, so a
refused run leaves the tree as it was. The file modes and their checks are the official
client's: ``dry`` only reports, ``simulate`` builds a fresh tree of symlinks, ``copy``,
``move``, ``hardlink`` and ``symlink`` do what they say, and ``auto`` picks symlink, else
hardlink, else copy, whichever the filesystem allows.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from neuropil.errors import LocalFileError, UnsupportedOperation, UsageError
from neuropil.nwb.fields import NotNwbFile, read_fields
from neuropil.nwb.organize import Entry, assign_names, entry_from_fields, missing_subject

FilesMode = Literal["dry", "simulate", "copy", "move", "hardlink", "symlink", "auto"]
FILES_MODES: tuple[str, ...] = ("dry", "simulate", "copy", "move", "hardlink", "symlink", "auto")
InvalidPolicy = Literal["fail", "warn"]
DANDISET_YAML = "dandiset.yaml"
_NWB = re.compile(r"\.nwb\Z")
_VCS = {".git", ".gitattributes", ".svn", ".bzr", ".hg"}


@dataclass(frozen=True)
class Skipped:
    """A file left out of the run, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Placement:
    """One file's move: ``target`` is relative to the dandiset (``sub-X/sub-X_....nwb``)."""

    source: str
    target: str


@dataclass
class Plan:
    dandiset: Path
    placements: list[Placement] = field(default_factory=list)
    #: files without enough metadata (no subject_id, unreadable), skipped with --invalid warn
    invalid: list[Skipped] = field(default_factory=list)
    #: files already at their target
    in_place: list[Placement] = field(default_factory=list)
    in_place_run: bool = False


def find_nwb_files(paths: Iterable[str]) -> list[str]:
    """``.nwb`` files among ``paths`` (directories searched recursively), skipping dotfiles,
    dot directories, VCS directories and symlinks to directories; each path once."""
    found: list[str] = []
    for path in paths:
        found.extend(_walk(path) if os.path.isdir(path) else [path] if _good(path) else [])
    return list(dict.fromkeys(found))


def _good(path: str) -> bool:
    return bool(_NWB.search(path)) and not any(p in _VCS for p in Path(path).parts)


def _walk(top: str) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if name.startswith(".") or not _good(path):
                continue
            if not (os.path.islink(path) and os.path.isdir(path)):
                yield path


def find_dandiset(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``dandiset.yaml``."""
    here = start.absolute()
    for candidate in (here, *here.parents):
        if (candidate / DANDISET_YAML).exists():
            return candidate
    return None


def plan_organize(
    paths: Sequence[str],
    dandiset: str | None,
    *,
    required_fields: Sequence[str] = (),
    invalid: InvalidPolicy = "fail",
    files_mode: FilesMode = "auto",
) -> Plan:
    """Name every NWB file among ``paths`` and check the targets; nothing is changed yet.

    Without ``paths`` the dandiset itself is organized in place (``dry``/``move`` only).
    Raises :class:`~neuropil.errors.UsageError` (bad arguments),
    :class:`~neuropil.errors.LocalFileError` (files that cannot be named or read, a missing
    dandiset folder, targets that already exist) or
    :class:`~neuropil.errors.UnsupportedOperation` (external media).
    """
    root = _dandiset_root(dandiset, paths, files_mode)
    in_place_run = not paths
    if in_place_run:
        if files_mode not in ("dry", "move"):
            raise UsageError(
                "without PATHS the dandiset is organized in place, which only works with "
                "--files-mode dry or move"
            )
        paths = [str(root)]
    entries, bad = _read_entries(find_nwb_files(paths))
    if bad and invalid == "fail":
        listing = "\n".join(f"  {b.source}: {b.reason}" for b in bad)
        raise LocalFileError(
            f"{len(bad)} of {len(entries) + len(bad)} files lack the metadata organize needs:\n"
            f"{listing}\nFix them, or pass --invalid warn to skip them"
        )
    _refuse_external_media(entries)
    assign_names(entries, required_fields)
    plan = Plan(root, invalid=bad, in_place_run=in_place_run)
    for entry in entries:
        placement = Placement(entry.source, entry.target)
        if _same_file(entry.source, root / entry.target, files_mode):
            plan.in_place.append(placement)
        else:
            plan.placements.append(placement)
    _refuse_existing(plan)
    return plan


def _dandiset_root(dandiset: str | None, paths: Sequence[str], mode: FilesMode) -> Path:
    if dandiset is None:
        found = find_dandiset(Path.cwd())
        if found is None:
            raise LocalFileError(
                f"no {DANDISET_YAML} in or above the current directory: pass -d DANDISET "
                "(the dandiset directory to organize the files into)"
            )
        return found
    root = Path(dandiset)
    if mode == "simulate" and os.path.lexists(root):
        raise LocalFileError(
            f"in simulate mode the dandiset directory {root} must not exist yet "
            "(it is created with symlinks to the files)"
        )
    if not paths and not (root / DANDISET_YAML).exists():
        raise LocalFileError(f"{root} has no {DANDISET_YAML}, and no PATHS were given")
    return root


def _read_entries(paths: Sequence[str]) -> tuple[list[Entry], list[Skipped]]:
    entries: list[Entry] = []
    bad: list[Skipped] = []
    for source in paths:
        try:
            nwb = read_fields(Path(source))
        except (NotNwbFile, OSError) as exc:
            bad.append(Skipped(source, str(exc)))
            continue
        if nwb.external_links:
            bad.append(Skipped(source, "NWB files with external HDF5 links are not supported"))
            continue
        entry = entry_from_fields(source, nwb)
        if missing_subject(entry):
            bad.append(Skipped(source, "no subject_id (set NWBFile.subject.subject_id)"))
            continue
        entries.append(entry)
    return entries, bad


def _refuse_external_media(entries: Sequence[Entry]) -> None:
    with_media = [e.source for e in entries if e.media]
    if with_media:
        raise UnsupportedOperation(
            "these NWB files link external media files (ImageSeries.external_file), which "
            "organize would leave behind; neuropil cannot rewrite the links yet (use `dandi "
            "organize --update-external-file-paths`): " + ", ".join(with_media)
        )


def _same_file(source: str, target: Path, mode: FilesMode) -> bool:
    if os.path.abspath(source) == os.path.abspath(target):
        return True
    return mode == "symlink" and os.path.realpath(source) == os.path.realpath(target)


def _refuse_existing(plan: Plan) -> None:
    existing = [
        str(plan.dandiset / p.target)
        for p in plan.placements
        if os.path.lexists(plan.dandiset / p.target)
        and os.path.realpath(p.source) != os.path.realpath(plan.dandiset / p.target)
    ]
    if existing:
        more = " and more" if len(existing) > 5 else ""
        raise LocalFileError(
            f"{len(existing)} target paths already exist: {', '.join(existing[:5])}{more}. "
            "Remove them first"
        )


# -- acting ------------------------------------------------------------------------------------
def detect_link_mode(source: str, directory: Path) -> FilesMode:
    """What ``auto`` means here: symlink if the filesystem allows it, else hardlink, else
    copy (probed by making one link in ``directory``)."""
    probe = directory / f".neuropil.{os.getpid()}.probe"
    try:
        for mode, make in (("symlink", os.symlink), ("hardlink", os.link)):
            try:
                make(os.path.abspath(source), probe)
            except OSError:
                continue
            return "symlink" if mode == "symlink" else "hardlink"
        return "copy"
    finally:
        probe.unlink(missing_ok=True)


def display_sources(plan: Plan, mode: FilesMode) -> dict[str, str]:
    """Each source as the official client prints and links it: absolute when the dandiset
    or any source path is absolute, else as given (for ``symlink``: relative to the link)."""
    absolute = plan.dandiset.is_absolute() or any(os.path.isabs(p.source) for p in plan.placements)
    out = {}
    for p in plan.placements:
        if os.path.isabs(p.source) or absolute:
            out[p.source] = os.path.abspath(p.source)
        elif mode == "symlink":
            link_dir = (plan.dandiset / p.target).parent
            out[p.source] = os.path.relpath(os.path.abspath(p.source), os.path.abspath(link_dir))
        else:
            out[p.source] = p.source
    return out


def apply_plan(plan: Plan, mode: FilesMode) -> FilesMode:
    """Put every file of ``plan`` in place; returns the mode used (``auto`` resolved).

    ``dry`` does nothing. A failure on one file stops the run with an error naming it
    (the files already placed stay placed, as with the official client).
    """
    if mode == "dry":
        return mode
    plan.dandiset.mkdir(parents=True, exist_ok=True)
    if mode == "auto":
        if not plan.placements:
            return "copy"
        mode = detect_link_mode(plan.placements[0].source, plan.dandiset)
    sources = display_sources(plan, mode)
    for placement in plan.placements:
        target = plan.dandiset / placement.target
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _place(sources[placement.source], placement.source, target, mode)
        except OSError as exc:
            raise LocalFileError(
                f"could not {mode} {placement.source} to {target}: {exc.strerror or exc}"
            ) from exc
    if plan.in_place_run and mode == "move":
        _remove_empty_dirs({os.path.dirname(p.source) for p in plan.placements})
    return mode


def _place(link_source: str, source: str, target: Path, mode: FilesMode) -> None:
    if mode == "simulate":
        os.symlink(os.path.abspath(source), target)
    elif mode == "symlink":
        os.symlink(link_source, target)
    elif mode == "hardlink":
        os.link(source, target)
    elif mode == "copy":
        shutil.copy2(source, target)
    elif mode == "move":
        shutil.move(source, target)
    else:
        raise UsageError(f"unknown files mode {mode!r}; use one of {', '.join(FILES_MODES)}")


def _remove_empty_dirs(directories: Iterable[str]) -> None:
    for directory in sorted(directories, reverse=True):
        with contextlib.suppress(OSError):  # not empty (or gone): leave it
            os.rmdir(directory)

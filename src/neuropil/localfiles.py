"""Which local files a dandiset folder holds: its ``dandiset.yaml`` and the files below it.

``neuropil upload`` (:mod:`neuropil.client.upload_files`) sends these files and ``neuropil
validate`` (:mod:`neuropil.validation.paths`) checks them, so validate checks exactly what
upload would send. The walk lives below both because the client's upload runs the
validation pipeline: neither may own what the other needs.

The rules are the official client's: dot files and dot folders (``.git``, ``.datalad``...)
are left out silently, partial downloads and the top-level ``dandiset.yaml`` are never
assets, Zarr folders (``*.zarr``, ``*.ngff``) are one asset each (:attr:`FileSelection.zarrs`)
and symlinked folders are reported as skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from neuropil.errors import LocalFileError

DANDISET_YAML = "dandiset.yaml"
#: Partial downloads (ours and the official client's) are never assets.
PARTIAL_MARKERS = (".npdownload", ".dandidownload")
#: Zarr stores are directories that become one asset each (``.ome.zarr`` ends in ``.zarr``).
ZARR_SUFFIXES = (".zarr", ".ngff")
#: dandi-cli's ``exclude_from_zarr``: names that are never keys of a Zarr.
ZARR_EXCLUDED_NAMES = frozenset({".dandi", ".datalad", ".git", ".gitattributes", ".gitmodules"})


def zarr_files(root: Path) -> Iterator[tuple[str, Path]]:
    """``(key, path)`` of each file of the Zarr folder ``root``, in walk order, as both
    clients upload them: excluded names left out, symlinked folders not followed, empty
    folders holding no keys."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if d not in ZARR_EXCLUDED_NAMES)
        for name in sorted(filenames):
            if name not in ZARR_EXCLUDED_NAMES:
                yield (here / name).relative_to(root).as_posix(), here / name


# -- the dandiset directory ---------------------------------------------------------------------


#: ``identifier`` as ``dandiset.yaml`` holds it: six digits, after an instance's prefix when
#: there is one (``DANDI:000123``, ``NEUROPIL:000002``, ``MY-LAB:000001``: any instance's
#: download writes its own name there).
_IDENTIFIER = re.compile(r"(?:[A-Za-z][\w.-]*:)?(\d{6})", re.ASCII)


def parse_dandiset_id(value: object) -> str | None:
    """The six-digit id of a ``dandiset.yaml`` ``identifier`` (``000123``, ``DANDI:000123``,
    ``NEUROPIL:000002``: any ``PREFIX:NNNNNN``), or None when it is not one."""
    if isinstance(value, int):  # an unquoted 000123 loads as the integer 123
        value = f"{value:06d}"
    match = _IDENTIFIER.fullmatch(str(value or "").strip())
    return match[1] if match else None


def dandiset_root_of(path: Path) -> Path | None:
    """The folder holding ``dandiset.yaml``: ``path`` itself (a folder) or one above it."""
    start = path if path.is_dir() else path.parent
    for folder in [start, *start.parents]:
        if (folder / DANDISET_YAML).is_file():
            return folder
    return None


def find_dandiset_root(paths: Sequence[Path | str]) -> Path:
    """The dandiset the ``paths`` are in (default: the current folder's); raises if none."""
    absolute = [os.path.abspath(p) for p in paths] or [os.path.abspath(".")]
    common = Path(os.path.commonpath(absolute))
    root = dandiset_root_of(common)
    if root is None:
        raise LocalFileError(
            f"No {DANDISET_YAML} in {common} or any folder above it: run the upload inside a "
            "dandiset directory (one made by `neuropil download` of the dandiset, for example)."
        )
    return root


def read_dandiset_id(root: Path) -> str:
    """The six-digit identifier in ``root/dandiset.yaml``."""
    path = root / DANDISET_YAML
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise LocalFileError(f"Cannot read {path}: {exc}") from exc
    found = data.get("identifier") if isinstance(data, dict) else None
    ident = parse_dandiset_id(found)
    if ident is None:
        raise LocalFileError(f"{path} has no six-digit 'identifier' (found {found!r}).")
    return ident


# -- the files below it --------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalFile:
    """A file to upload: its absolute path and its asset path (relative to the dandiset)."""

    path: Path
    asset_path: str


@dataclass
class FileSelection:
    """The files found, those set aside (with the reason), and the scopes they cover.

    A scope is ``""`` (the whole dandiset), ``"dir/"`` (a folder) or an asset path (one
    file); the remote listing and ``--sync`` look only inside the scopes.
    """

    files: list[LocalFile] = field(default_factory=list)
    #: Zarr folders, each one asset (``path`` is the folder).
    zarrs: list[LocalFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)


def select_files(root: Path, paths: Sequence[Path | str] | None) -> FileSelection:
    """The files under ``paths`` (default: the whole dandiset at ``root``) an upload sends.

    Dot files and dot folders are skipped silently, as the official client does; a dot file
    named explicitly is reported as skipped.
    """
    selection = FileSelection()
    seen: set[str] = set()

    def add(item: LocalFile) -> None:
        if item.asset_path not in seen:
            seen.add(item.asset_path)
            selection.files.append(item)

    for given in paths if paths is not None else [root]:
        path = Path(os.path.abspath(given))
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            raise LocalFileError(f"{given} is not inside the dandiset at {root}.") from None
        rel = "" if rel == "." else rel
        if path.is_dir() and path.is_symlink():
            selection.skipped.append((rel, _folder_reason(path)))
        elif path.is_dir() and path.name.lower().endswith(ZARR_SUFFIXES):
            selection.scopes.append(rel)
            selection.zarrs.append(LocalFile(path, rel))
        elif path.is_dir():
            selection.scopes.append(f"{rel}/" if rel else "")
            for item in _walk(root, path, selection):
                add(item)
        elif os.path.lexists(path):
            selection.scopes.append(rel)
            reason = _set_aside(path.name, path.parent == root)
            if path.name.startswith("."):
                reason = "a dot file: dot files are not uploaded"
            if reason:
                selection.skipped.append((rel, reason))
            else:
                add(LocalFile(path, rel))
        else:
            selection.scopes.append(rel)
            selection.missing.append(rel)
    selection.scopes = _outermost(selection.scopes)
    return selection


def in_scopes(asset_path: str, scopes: Iterable[str]) -> bool:
    """Whether ``asset_path`` is inside one of the :class:`FileSelection` scopes."""
    return any(
        s == "" or asset_path == s or (s.endswith("/") and asset_path.startswith(s)) for s in scopes
    )


def _is_partial(name: str) -> bool:
    return any(m in name for m in PARTIAL_MARKERS)


def _set_aside(name: str, at_root: bool) -> str | None:
    """Why a file of this name is not uploaded, or None if it is."""
    if at_root and name == DANDISET_YAML:
        return "dandiset.yaml is not an asset: edit the dandiset's metadata online"
    if _is_partial(name):
        return "a partial download (finish or delete it); partial files are never uploaded"
    return None


def _folder_reason(path: Path) -> str:
    return "a symlink to a folder: symlinked folders are not followed"


def _walk(root: Path, top: Path, selection: FileSelection) -> Iterator[LocalFile]:
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".") or _is_partial(d):
                continue
            if d.lower().endswith(ZARR_SUFFIXES) and not (here / d).is_symlink():
                selection.zarrs.append(LocalFile(here / d, (here / d).relative_to(root).as_posix()))
                continue
            keep.append(d)  # symlinked folders are listed but, as os.walk goes, not entered
        dirnames[:] = keep
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            rel = (here / name).relative_to(root).as_posix()
            reason = _set_aside(name, here == root)
            if reason:
                selection.skipped.append((rel, reason))
            else:
                yield LocalFile(here / name, rel)


def _outermost(scopes: list[str]) -> list[str]:
    """Drop scopes inside other scopes (``""`` covers everything)."""
    if "" in scopes:
        return [""]
    folders = [s for s in scopes if s.endswith("/")]
    return sorted({s for s in scopes if not any(s != f and s.startswith(f) for f in folders)})

"""NWB test data (from :mod:`neuropil.demo`) and dandiset directories for the official client."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from neuropil.demo import RecordingShape, make_nwb_files

DANDISET_YAML = "dandiset.yaml"


def sha256_file(path: Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class NwbSet:
    """Demo NWB files in DANDI's organized layout below ``root``."""

    root: Path
    files: tuple[Path, ...]

    @property
    def asset_paths(self) -> list[str]:
        """The files' paths relative to ``root``: the asset paths after an upload."""
        return sorted(p.relative_to(self.root).as_posix() for p in self.files)

    def local(self, asset_path: str) -> Path:
        """The local file behind an asset path."""
        return self.root / asset_path

    def digests(self) -> dict[str, str]:
        """sha256 of every file, by asset path."""
        return {p: sha256_file(self.local(p)) for p in self.asset_paths}


def make_organized_set(directory: Path, *, shape: RecordingShape | None = None) -> NwbSet:
    """Generate the demo sessions once (``sub-<id>/sub-<id>_ses-<sid>_<modalities>.nwb``).

    Meant for a session-scoped fixture: generating takes about a second.
    """
    files = make_nwb_files(directory, organized=True, shape=shape)
    return NwbSet(directory, tuple(files))


def write_dandiset_yaml(
    directory: Path,
    identifier: str,
    *,
    name: str = "neuropil test dandiset",
    description: str = "Uploaded by neuropil's tests with the official DANDI client.",
) -> Path:
    """Write the ``dandiset.yaml`` that ``dandi upload`` reads the target dandiset from.

    The identifier is quoted: dandi 0.81 asserts it is a string, and an unquoted ``000001``
    would load as a YAML integer.
    """
    if not (len(identifier) == 6 and identifier.isdigit()):
        raise ValueError(f"dandiset identifiers are six digits, not {identifier!r}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / DANDISET_YAML
    path.write_text(
        f'identifier: "{identifier}"\n'
        f"name: {json.dumps(name)}\n"
        f"description: {json.dumps(description)}\n"
    )
    return path


def stage_dandiset(nwb: NwbSet, directory: Path, identifier: str) -> NwbSet:
    """A dandiset directory ready for ``dandi upload``: ``dandiset.yaml`` plus the files."""
    write_dandiset_yaml(directory, identifier)
    copies = []
    for asset_path in nwb.asset_paths:
        target = directory / asset_path
        target.parent.mkdir(parents=True, exist_ok=True)
        copies.append(Path(shutil.copy2(nwb.local(asset_path), target)))
    return NwbSet(directory, tuple(copies))

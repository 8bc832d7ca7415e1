"""Local trees and server-side probes for the transfer benchmark (see transfer.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.common import log

KIB = 1 << 10
MIB = 1 << 20

# -- local trees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileInfo:
    size: int
    sha256: str
    etag: str


@dataclass
class Tree:
    """Files below ``root`` (a dandiset directory), by asset path."""

    root: Path
    files: dict[str, FileInfo] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files.values())


def small_paths(n: int) -> list[str]:
    """``sub-NNN/sub-NNN_ses-NN_behavior.mp4``, 50 sessions per subject."""
    return [f"sub-{i // 50:03d}/sub-{i // 50:03d}_ses-{i % 50:02d}_behavior.mp4" for i in range(n)]


def big_paths(n: int) -> list[str]:
    return [f"sub-big/sub-big_ses-{i + 1:02d}_behavior.mp4" for i in range(n)]


def write_random(path: Path, size: int) -> FileInfo:
    """``size`` random bytes; their sha256 and dandi-etag computed while writing."""
    from neuropil.core.digests import EtagHasher

    path.parent.mkdir(parents=True, exist_ok=True)
    hasher = EtagHasher(size, sha256=True)
    block = 16 * MIB
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(block, left))
            hasher.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return FileInfo(size, hasher.sha256(), hasher.etag())


def make_tree(root: Path, paths: list[str], size: int, identifier: str | None) -> Tree:
    tree = Tree(root)
    for p in paths:
        tree.files[p] = write_random(root / p, size)
    if identifier is not None:
        write_dandiset_yaml(root, identifier)
    return tree


def write_dandiset_yaml(root: Path, identifier: str) -> None:
    # Quoted: dandi 0.81 asserts the identifier is a string (000001 would load as an int).
    root.mkdir(parents=True, exist_ok=True)
    (root / "dandiset.yaml").write_text(
        f'identifier: "{identifier}"\nname: "transfer benchmark"\n'
        'description: "Random bytes for the neuropil vs dandi transfer benchmark."\n'
    )


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(8 * MIB):
            h.update(block)
    return h.hexdigest()


def check_download(out: Path, identifier: str, expected: Tree) -> list[str]:
    """Exactly the expected files (plus dandiset.yaml) with their sizes and sha256."""
    root = out / identifier
    problems: list[str] = []
    if not (root / "dandiset.yaml").is_file():
        problems.append("no dandiset.yaml")
    found = {
        p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }
    found.pop("dandiset.yaml", None)
    extra = sorted(set(found) - set(expected.files))
    missing = sorted(set(expected.files) - set(found))
    if extra:
        problems.append(f"{len(extra)} unexpected files, e.g. {extra[:3]}")
    if missing:
        problems.append(f"{len(missing)} files missing, e.g. {missing[:3]}")
    stray = [p for p in out.iterdir() if p.name != identifier]
    if stray:
        problems.append(f"unexpected entries next to the dandiset: {[p.name for p in stray]}")
    bad = []
    for rel, info in expected.files.items():
        path = found.get(rel)
        if path is None:
            continue
        if path.stat().st_size != info.size or sha256_file(path) != info.sha256:
            bad.append(rel)
    if bad:
        problems.append(f"{len(bad)} files differ from the source, e.g. {bad[:3]}")
    return problems


# -- the server side -----------------------------------------------------------------------------


def wait_idle(db_path: Path, timeout: float = 1800.0) -> None:
    """Until the server's background jobs (sha256 of new blobs...) are all done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
        try:
            # Periodic jobs queued for later (the embargo check, an hour ahead) are not work
            # in progress; jobs due within a minute (debounced validation) are.
            busy = con.execute(
                "SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'queued' "
                "AND run_after <= datetime('now', '+60 seconds'))"
            ).fetchone()[0]
        finally:
            con.close()
        if not busy:
            return
        time.sleep(0.25)
    log(f"warning: background jobs still busy after {timeout:.0f}s; measuring anyway")


def proc_io(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            k, _, v = line.partition(":")
            out[k.strip()] = int(v)
    except OSError:
        pass
    return out


@dataclass(frozen=True)
class StoreState:
    """What any blob upload would change in the local store (see ``storage/local.py``)."""

    blob_objects: tuple[tuple[str, int], ...]
    multipart_mtime_ns: int  # changes when an upload starts or ends (a folder per upload)
    multipart_entries: tuple[str, ...]
    tmp_mtime_ns: int  # changes when a part or an assembled object is written

    @classmethod
    def read(cls, data_dir: Path) -> StoreState:
        store = data_dir / "store"
        objects = store / "objects"
        return cls(
            tuple(
                sorted(
                    (p.relative_to(objects).as_posix(), p.stat().st_size)
                    for p in objects.rglob("*")
                    if p.is_file()
                )
            ),
            (store / "multipart").stat().st_mtime_ns,
            tuple(sorted(p.name for p in (store / "multipart").iterdir())),
            (store / "tmp").stat().st_mtime_ns,
        )

    def differences(self, other: StoreState) -> list[str]:
        out = []
        if self.blob_objects != other.blob_objects:
            out.append(
                f"blob objects changed ({len(self.blob_objects)} -> {len(other.blob_objects)})"
            )
        if (self.multipart_mtime_ns, self.multipart_entries) != (
            other.multipart_mtime_ns,
            other.multipart_entries,
        ):
            out.append("an upload was initialized (store/multipart changed)")
        if self.tmp_mtime_ns != other.tmp_mtime_ns:
            out.append("bytes were written to store/tmp (a part or an object)")
        return out

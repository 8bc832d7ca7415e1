"""The client's digest: several parts hashed at once give dandischema's dandi-etag."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dandischema.digests.dandietag import DandiETag

from neuropil.client.digest_cache import compute_digest

MiB = 1 << 20


def dandischema_etag(path: Path) -> str:
    return DandiETag.from_file(path).as_str()


@pytest.mark.parametrize("size", [0, 1, 64 * MiB + 7, 200 * MiB])
@pytest.mark.parametrize("threads", [1, 3])
def test_parallel_parts_give_the_dandi_etag(tmp_path: Path, size: int, threads: int) -> None:
    path = tmp_path / "f.bin"
    with path.open("wb") as f:  # sparse, but with distinct bytes at the part edges
        f.truncate(size)
        for at in range(0, size, 64 * MiB):
            f.seek(at)
            f.write(os.urandom(min(4096, size - at)))
    digest = compute_digest(path, size, threads=threads)
    assert digest.etag == dandischema_etag(path)
    assert len(digest.part_md5s) == -(-size // (64 * MiB))


def test_a_file_that_shrank_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 1000)
    with pytest.raises(ValueError, match="ended at byte 1000"):
        compute_digest(path, 2000)

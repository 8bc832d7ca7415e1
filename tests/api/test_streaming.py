"""Small ranges of a local file are read on the event loop only from the page cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from neuropil.api import streaming


@pytest.mark.skipif(not hasattr(os, "RWF_NOWAIT"), reason="no RWF_NOWAIT on this system")
def test_a_cached_range_is_read_without_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = os.urandom(3 << 20)
    path.write_bytes(data)
    path.read_bytes()  # in the page cache now
    got = streaming._read_cached(path, 1000, (1 << 20) + 1000)
    assert got is not None and bytes(got) == data[1000 : (1 << 20) + 1000]
    # Past the end (a file shorter than its record says): left to the thread's read, which
    # raises.
    assert streaming._read_cached(path, len(data) - 10, len(data) + 10) is None

"""The in-memory store passes the blob-store contract."""

from __future__ import annotations

from pathlib import Path

from neuropil.storage import BlobStore, MemoryBlobStore
from neuropil.testing.storage import BlobStoreContract


class TestMemoryBlobStore(BlobStoreContract):
    def make_store(self, tmp_path: Path) -> BlobStore:
        return MemoryBlobStore()

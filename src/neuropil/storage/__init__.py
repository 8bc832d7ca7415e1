"""Blob storage behind one interface: :class:`BlobStore`, one module per backend."""

from neuropil.storage.base import (
    BlobStore,
    MultipartInfo,
    ObjectInfo,
    PartInfo,
    PresigningBlobStore,
    StoreCapabilities,
    blob_key,
)
from neuropil.storage.local import LocalBlobStore
from neuropil.storage.memory import MemoryBlobStore

__all__ = [
    "BlobStore",
    "LocalBlobStore",
    "MemoryBlobStore",
    "MultipartInfo",
    "ObjectInfo",
    "PartInfo",
    "PresigningBlobStore",
    "StoreCapabilities",
    "blob_key",
]

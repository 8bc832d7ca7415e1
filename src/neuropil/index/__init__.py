"""HDF5/NWB files as ``.lindi.json``-compatible indexes: a Zarr v2 reference file system.

:func:`build_index` walks an HDF5 file once and returns a dict that LINDI's reader and
:func:`open_index` can read without touching the file's metadata again: the whole object
tree and attributes inline, every chunk of every dataset as a byte-range ref.
:func:`open_index` returns an :class:`IndexFile`, a read-only ``h5py.File`` that pynwb reads.
"""

from neuropil.index._layouts import IndexOptions
from neuropil.index.builder import build_index, dumps_index, write_index
from neuropil.index.h5 import IndexDataset, IndexFile, IndexGroup, IndexReference
from neuropil.index.reader import open_index

__all__ = [
    "IndexDataset",
    "IndexFile",
    "IndexGroup",
    "IndexOptions",
    "IndexReference",
    "build_index",
    "dumps_index",
    "open_index",
    "write_index",
]

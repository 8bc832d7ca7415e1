"""HDF5/NWB files as ``.lindi.json``-compatible indexes: a Zarr v2 reference file system.

:func:`build_index` walks an HDF5 file once and returns a dict that LINDI's reader and
:func:`open_index` can read without touching the file's metadata again: the whole object
tree and attributes inline, every chunk of every dataset as a byte-range ref.
"""

from neuropil.index._layouts import IndexOptions
from neuropil.index.builder import build_index, dumps_index, write_index
from neuropil.index.reader import Attributes, Dataset, File, Group, Reference, open_index

__all__ = [
    "Attributes",
    "Dataset",
    "File",
    "Group",
    "IndexOptions",
    "Reference",
    "build_index",
    "dumps_index",
    "open_index",
    "write_index",
]

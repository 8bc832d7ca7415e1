"""h5py-compatible, read-only objects over an index (``IndexFile`` is an ``h5py.File``).

hdmf and pynwb test what they are given with ``isinstance(obj, h5py.File/Group/Dataset)``
and ``isinstance(value, h5py.Reference)``, so these classes subclass h5py's and answer
every property and method those libraries use from the index instead of the HDF5 library.

The modules import downwards only, lowest first: the index's documents (``_tree``,
``_refs``, ``_h5py_values``, ``_attrs``); ``_core``, what every object reads through (the tree,
the chunks); ``_node``, what groups and datasets share; ``_dataset``; ``_group``, which opens
members and follows references; ``_file``, the root group joined to the core.
"""

from neuropil.index.h5._attrs import IndexAttributes
from neuropil.index.h5._dataset import IndexDataset
from neuropil.index.h5._file import IndexFile
from neuropil.index.h5._group import IndexGroup
from neuropil.index.h5._node import ObjectId
from neuropil.index.h5._refs import IndexReference

__all__ = [
    "IndexAttributes",
    "IndexDataset",
    "IndexFile",
    "IndexGroup",
    "IndexReference",
    "ObjectId",
]

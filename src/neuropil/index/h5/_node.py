"""What groups and datasets read from an index share: names, identity, attributes.

h5py's own classes are the bases (hdmf checks ``isinstance(obj, h5py.Dataset)``), but
their constructors and the low-level ``id`` they wrap are not used: every property h5py
would compute through the HDF5 library is answered from the index here.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from neuropil.index.h5._attrs import IndexAttributes
from neuropil.index.h5._core import FileCore
from neuropil.index.h5._refs import IndexReference


@dataclass(frozen=True)
class ObjectId:
    """Stands for h5py's ``ObjectID``: equal for the same object reached by any path
    (soft links resolved), which is what hdmf uses it for (a key of its builder cache)."""

    file: int
    key: str

    @property
    def valid(self) -> bool:
        return True


class Node:
    """Mixin for :class:`IndexGroup` and :class:`IndexDataset` (before h5py's classes)."""

    #: The :class:`~neuropil.index.h5.IndexFile`, seen as the core its objects read through.
    _file: FileCore
    #: Where the object's documents are (soft links resolved).
    _key: str
    #: The path it was opened with, as h5py reports ``name``.
    _name: str

    def _init_node(self, file: FileCore, key: str, name: str) -> None:
        self._file = file
        self._key = key
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def file(self) -> FileCore:
        """The :class:`~neuropil.index.h5.IndexFile` this object was read from."""
        return self._file

    @property
    def parent(self) -> Any:
        return self._file[posixpath.dirname(self._name)]

    @property
    def attrs(self) -> IndexAttributes:
        return IndexAttributes(self._file._tree.attrs_doc(self._key), self._name)

    @property
    def id(self) -> ObjectId:
        return ObjectId(id(self._file), self._key)

    @property
    def ref(self) -> IndexReference:
        """A reference to this object (``file[obj.ref]`` opens it again)."""
        object_id = self._file._tree.attrs_doc(self._key).get("object_id")
        return IndexReference("/" + self._key, object_id)

    @property
    def regionref(self) -> Any:
        raise TypeError("region references are not supported by index files")

    def __bool__(self) -> bool:
        return bool(self._file)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self.id == other.id

    def __hash__(self) -> int:
        return hash(self.id)

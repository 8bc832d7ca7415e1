"""Groups read from an index, as ``h5py.Group`` objects."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from typing import Any

import h5py

from neuropil.errors import InvalidIndex
from neuropil.index._format import join
from neuropil.index.h5._core import FileCore
from neuropil.index.h5._dataset import IndexDataset
from neuropil.index.h5._node import Node
from neuropil.index.h5._refs import IndexReference

_READ_ONLY = "index files are read-only"


def _text(name: Any) -> str:
    if isinstance(name, bytes):
        return name.decode("utf-8")
    if isinstance(name, str):
        return name
    raise TypeError(f"accessing a group is done with bytes or str, not {type(name).__name__}")


class IndexGroup(Node, h5py.Group):  # type: ignore[misc]  # h5py is untyped
    """A group: members by name or path (soft links followed), links, visits, attributes."""

    def __init__(self, file: FileCore, key: str, name: str) -> None:
        self._init_node(file, key, name)

    def _path_name(self, path: str) -> str:
        """The h5py ``name`` of ``path`` opened from this group."""
        parts = [p for p in path.split("/") if p and p != "."]
        base = "/" if path.startswith("/") else self._name
        return posixpath.join(base, *parts) if parts else base

    def __getitem__(self, name: Any) -> IndexGroup | IndexDataset:
        if isinstance(name, h5py.Reference):
            return self._dereference(name)
        path = _text(name)
        key = self._file._tree.resolve(self._key, path)
        return self._object(key, self._path_name(path))

    def _object(self, key: str, name: str) -> IndexGroup | IndexDataset:
        """The object whose documents are at ``key``, opened as ``name``."""
        if self._file._tree.kind(key) == "dataset":
            return IndexDataset(self._file, key, name)
        return IndexGroup(self._file, key, name)

    def _dereference(self, ref: h5py.Reference) -> IndexGroup | IndexDataset:
        # A reference's path is absolute, so any group of the file opens it.
        if not isinstance(ref, IndexReference):
            raise TypeError("only references read from this index can be dereferenced")
        if ref.path is None:
            raise ValueError("cannot dereference a null reference")
        obj = self[ref.path]
        found = obj.attrs.get("object_id")
        if ref.object_id is not None and found is not None and found != ref.object_id:
            raise InvalidIndex(
                f"a reference to {ref.path} names object {ref.object_id}, but the object "
                f"there is {found}: the index is inconsistent"
            )
        return obj

    def get(
        self, name: Any, default: Any = None, getclass: bool = False, getlink: bool = False
    ) -> Any:
        """As h5py: the member, its class, or (``getlink``) its link object."""
        if not getlink:
            try:
                obj = self[name]
            except KeyError:
                return default
            if getclass:
                return h5py.Dataset if isinstance(obj, h5py.Dataset) else h5py.Group
            return obj
        try:
            link = self._link(_text(name))
        except KeyError:
            return default
        return type(link) if getclass else link

    def _link(self, path: str) -> h5py.HardLink | h5py.SoftLink:
        tree = self._file._tree
        parent, last = tree.parent_of(self._key, path)
        if not last:
            return h5py.HardLink()
        key = join(parent, last)
        kind = tree.kind(key)
        if kind is None:
            raise KeyError(f"no object named /{key}")
        target = tree.link_target(key) if kind == "soft" else None
        return h5py.SoftLink(target) if target is not None else h5py.HardLink()

    def __contains__(self, name: object) -> bool:
        try:
            self._file._tree.resolve(self._key, _text(name))
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._file._tree.children.get(self._key, []))

    def __len__(self) -> int:
        return len(self._file._tree.children.get(self._key, []))

    def __repr__(self) -> str:
        if not self._file:
            return "<Closed HDF5 group>"
        return f'<HDF5 group "{self._name}" ({len(self)} members) from an index>'

    # -- visits: each object once, by its first path in name order; soft links not followed

    def visit(self, func: Callable[[str], Any]) -> Any:
        return self.visititems(lambda name, _obj: func(name))

    def visititems(self, func: Callable[[str, Any], Any]) -> Any:
        seen: set[str] = set()
        for rel, obj in self._walk(""):
            if obj._key in seen:
                continue
            seen.add(obj._key)
            result = func(rel, obj)
            if result is not None:
                return result
        return None

    def visit_links(self, func: Callable[[str], Any]) -> Any:
        return self.visititems_links(lambda name, _link: func(name))

    def visititems_links(self, func: Callable[[str, Any], Any]) -> Any:
        for rel in self._link_names("", self._key):
            result = func(rel, self._link(rel))
            if result is not None:
                return result
        return None

    def _link_names(self, rel: str, key: str) -> Iterator[str]:
        tree = self._file._tree
        for name in tree.children.get(key, []):
            child_rel = posixpath.join(rel, name) if rel else name
            yield child_rel
            if tree.kind(join(key, name)) == "group":
                yield from self._link_names(child_rel, join(key, name))

    def _walk(self, rel: str) -> Iterator[tuple[str, Any]]:
        tree = self._file._tree
        for name in self:
            child_rel = posixpath.join(rel, name) if rel else name
            if tree.kind(join(self._key, name)) == "soft":
                continue
            obj = self[name]
            yield child_rel, obj
            if isinstance(obj, IndexGroup):
                yield from obj._walk(child_rel)

    # -- writing is refused with h5py's kind of error

    def __setitem__(self, name: Any, obj: Any) -> None:
        raise ValueError(f"cannot create {name!r}: {_READ_ONLY}")

    def __delitem__(self, name: Any) -> None:
        raise ValueError(f"cannot delete {name!r}: {_READ_ONLY}")

    def create_group(self, name: Any, track_order: Any = None) -> Any:
        raise ValueError(f"cannot create group {name!r}: {_READ_ONLY}")

    def create_dataset(
        self, name: Any, shape: Any = None, dtype: Any = None, data: Any = None, **kwds: Any
    ) -> Any:
        raise ValueError(f"cannot create dataset {name!r}: {_READ_ONLY}")

    def require_group(self, name: Any) -> Any:
        return self[name]

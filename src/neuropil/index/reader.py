"""A small read-only, h5py-like view of an index: groups, datasets, attributes, references.

Enough to check that an index says what the HDF5 file says; the streaming reader will build
on :mod:`neuropil.index._decode`. File bytes are fetched through a caller-supplied
``fetch(url, offset, size)``, so tests read a local file and the client reads over HTTP.

Values follow h5py where the index keeps the information and LINDI where it does not:
variable-length strings come back as ``str`` (h5py gives ``bytes`` unless ``.asstr()``),
attribute lists as numpy arrays, object references as :class:`Reference`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuropil.errors import InvalidIndex
from neuropil.index._decode import (
    ArrayMeta,
    ChunkSource,
    Fetch,
    decode_chunk,
    finish,
    read_box,
    resolve,
)
from neuropil.index._format import (
    COMPOUND_DTYPE,
    EXTERNAL_ARRAY_LINK,
    REFERENCE,
    REFERENCE_DTYPE,
    SCALAR,
    SOFT_LINK,
    SPECIAL_ATTRIBUTES,
    chunk_name,
    decode_float,
    join,
)

_MAX_LINK_HOPS = 32


@dataclass(frozen=True)
class Reference:
    """An HDF5 object reference; ``file[ref]`` opens its target."""

    path: str
    object_id: str | None = None


def open_index(index: Mapping[str, Any], fetch: Fetch | None = None) -> File:
    """Open an index dict (as :func:`~neuropil.index.build_index` returns it)."""
    return File(index, fetch)


class _Node:
    def __init__(self, file: File, prefix: str) -> None:
        self.file = file
        self._prefix = prefix

    @property
    def name(self) -> str:
        """The absolute path, as in h5py."""
        return "/" + self._prefix

    @property
    def attrs(self) -> Attributes:
        """The object's attributes (without the format's own annotations)."""
        return Attributes(self.file._doc(join(self._prefix, ".zattrs")) or {})


class Group(_Node):
    """A group: a mapping from names to groups and datasets."""

    def keys(self) -> list[str]:
        """Member names, sorted as h5py sorts them."""
        return self.file._children.get(self._prefix, [])

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str | Reference):
            return False
        try:
            self[path]
        except KeyError:
            return False
        return True

    def __getitem__(self, path: str | Reference) -> Group | Dataset:
        if isinstance(path, Reference):
            return self.file._open(path.path.strip("/"))
        if path.startswith("/"):
            return self.file._open(path.strip("/"))
        return self.file._open(join(self._prefix, path.strip("/")))

    def get(self, path: str, default: Any = None) -> Any:
        """``self[path]``, or ``default`` when there is no such object."""
        try:
            return self[path]
        except KeyError:
            return default


class File(Group):
    """The root group of an index; also resolves paths, links and references."""

    def __init__(self, index: Mapping[str, Any], fetch: Fetch | None = None) -> None:
        refs = index.get("refs")
        if not isinstance(refs, Mapping):
            raise InvalidIndex("an index needs a 'refs' mapping")
        self.refs: Mapping[str, Any] = refs
        self._chunk_source = ChunkSource(index.get("templates") or {}, fetch)
        self._children = _children(refs)
        super().__init__(self, "")

    def _doc(self, key: str) -> Any:
        return self.refs.get(key)

    def _open(self, prefix: str) -> Group | Dataset:
        for _ in range(_MAX_LINK_HOPS):
            prefix = self._follow_parents(prefix)
            if join(prefix, ".zarray") in self.refs:
                return Dataset(self, prefix)
            if join(prefix, ".zgroup") not in self.refs:
                raise KeyError(f"no object named /{prefix}")
            link = (self._doc(join(prefix, ".zattrs")) or {}).get(SOFT_LINK)
            if link is None:
                return Group(self, prefix)
            prefix = str(link["path"]).strip("/")
        raise KeyError(f"/{prefix}: too many levels of soft links")

    def _follow_parents(self, prefix: str) -> str:
        """Resolve soft links among the parents of ``prefix``."""
        if "/" not in prefix:
            return prefix
        parent, name = prefix.rsplit("/", 1)
        return join(self._open(parent)._prefix, name)


class Dataset(_Node):
    """A dataset: shape, dtype and numpy-style reads."""

    def __init__(self, file: File, prefix: str) -> None:
        super().__init__(file, prefix)
        key = join(prefix, ".zarray")
        self._meta = ArrayMeta.parse(file._doc(key), key=key)
        zattrs = file._doc(join(prefix, ".zattrs")) or {}
        self._scalar = bool(zattrs.get(SCALAR, False))
        self._compound = zattrs.get(COMPOUND_DTYPE)
        self._external = zattrs.get(EXTERNAL_ARRAY_LINK)

    @property
    def shape(self) -> tuple[int, ...]:
        """The HDF5 shape (``()`` for scalars, which the index stores as ``(1,)``)."""
        return () if self._scalar else self._meta.shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype[Any]:
        """The element type; compounds as numpy structured types (references as objects)."""
        if self._compound is not None:
            return _compound_dtype(self._compound)
        return self._meta.dtype

    @property
    def chunks(self) -> tuple[int, ...]:
        return self._meta.chunks

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("a scalar dataset has no length")
        return self.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        return np.asarray(self[()], dtype=dtype)

    def __getitem__(self, selection: Any) -> Any:
        if self._scalar:
            if selection not in ((), Ellipsis):
                raise IndexError("a scalar dataset is read with ds[()]")
            return self._convert(self._read(resolve((), self._meta.shape)))[0]
        return self._convert(self._read(resolve(selection, self._meta.shape)))

    def _read(self, selection: Any) -> np.ndarray[Any, Any]:
        if self._external is not None:
            # LINDI leaves out the chunk refs of big arrays; reading them as fill values
            # would be silently wrong.
            raise InvalidIndex(
                f"dataset {self.name} has no chunk refs (_EXTERNAL_ARRAY_LINK to "
                f"{self._external.get('name')} in {self._external.get('url')}); rebuild the "
                "index with neuropil, which lists every chunk"
            )
        return finish(read_box(self._meta, selection, self._chunk), selection)

    def _chunk(self, index: tuple[int, ...]) -> np.ndarray[Any, Any] | None:
        key = join(self._prefix, chunk_name(index))
        value = self.file.refs.get(key)
        if value is None:
            return None
        return decode_chunk(self._meta, self.file._chunk_source.load(key, value))

    def _convert(self, data: np.ndarray[Any, Any]) -> Any:
        if data.dtype.kind != "O":
            return data
        if self._compound is not None:
            rows = [tuple(_element(v) for v in row) for row in data.reshape(-1)]
            return np.array(rows, dtype=self.dtype).reshape(data.shape)
        out = np.empty(data.shape, dtype=object)
        out.reshape(-1)[:] = [_element(v) for v in data.reshape(-1)]
        return out


class Attributes(Mapping[str, Any]):
    """An object's attributes, decoded from ``.zattrs``."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self._doc = {k: v for k, v in doc.items() if k not in SPECIAL_ATTRIBUTES}

    def __getitem__(self, name: str) -> Any:
        return _attribute(self._doc[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._doc)

    def __len__(self) -> int:
        return len(self._doc)


def _attribute(value: Any) -> Any:
    if isinstance(value, dict) and REFERENCE in value:
        return _element(value)
    if isinstance(value, list):
        flat = _flatten(value)
        if any(isinstance(v, dict) for v in flat):
            return np.array([_element(v) for v in flat], dtype=object)
        if flat and all(isinstance(v, str) for v in flat):
            return np.array(value, dtype=object)
        return np.array(_nested_floats(value))
    return decode_float(value)


def _element(value: Any) -> Any:
    if isinstance(value, dict) and REFERENCE in value:
        target = value[REFERENCE]
        return Reference(str(target["path"]), target.get("object_id"))
    return value


def _flatten(items: list[Any]) -> list[Any]:
    return [x for item in items for x in (_flatten(item) if isinstance(item, list) else [item])]


def _nested_floats(items: Any) -> Any:
    if isinstance(items, list):
        return [_nested_floats(item) for item in items]
    return decode_float(items)


def _compound_dtype(fields: list[list[str]]) -> np.dtype[Any]:
    return np.dtype(
        [(name, object if kind == REFERENCE_DTYPE else np.dtype(kind)) for name, kind in fields]
    )


def _children(refs: Mapping[str, Any]) -> dict[str, list[str]]:
    """Member names per group prefix, from the keys of group and array documents."""
    children: dict[str, list[str]] = {}
    for key in refs:
        if key.endswith(("/.zgroup", "/.zarray")):
            parent, _, name = key[: -len("/.zgroup")].rpartition("/")
            children.setdefault(parent, []).append(name)
    return {parent: sorted(names) for parent, names in children.items()}

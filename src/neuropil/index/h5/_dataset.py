"""Datasets read from an index, as ``h5py.Dataset`` objects.

A read resolves the selection (:mod:`neuropil.index._select`), names the chunks it touches,
has the file's :class:`~neuropil.index._store.ChunkStore` load all of them in one batch
(coalesced, concurrent requests), decodes them and assembles the result. Values follow
h5py 3 (:mod:`._h5py_values`): ``bytes`` for variable-length strings, references as
``h5py.Reference``, numpy scalars for single elements.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import h5py
import numpy as np

from neuropil.errors import InvalidIndex, Unsupported
from neuropil.index._decode import ArrayMeta
from neuropil.index._format import (
    COMPOUND_DTYPE,
    EXTERNAL_ARRAY_LINK,
    REFERENCE_TYPE,
    SCALAR,
    VLEN_ASCII,
    chunk_name,
    inline_bytes,
    join,
)
from neuropil.index._select import Selection, resolve
from neuropil.index.h5 import _h5py_values as _values
from neuropil.index.h5._core import FileCore
from neuropil.index.h5._node import Node, ObjectId
from neuropil.index.h5._refs import is_reference

#: Rows per step when iterating over a dataset whose chunks are unknown or huge.
_ITER_ROWS = 4096


@dataclass(frozen=True)
class DatasetId(ObjectId):
    """A dataset's ``id``, with the few low-level calls h5py's own methods make when they
    run on a wrapper of this dataset (hdmf's ``StrDataset`` inherits ``h5py.Dataset``'s
    ``__array__``, which ends in ``self.id.read(mspace, fspace, arr)``)."""

    dataset: IndexDataset = field(compare=False, hash=False, repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.dataset.shape

    @property
    def rank(self) -> int:
        return self.dataset.ndim

    def get_space(self) -> h5py.h5s.SpaceID:
        shape = self.dataset.shape
        return h5py.h5s.create_simple(shape) if shape else h5py.h5s.create(h5py.h5s.SCALAR)

    def get_storage_size(self) -> int:
        return self.dataset._storage_size()

    def read(self, mspace: Any, fspace: Any, arr: np.ndarray[Any, Any], *_: Any, **__: Any) -> None:
        data = self.dataset[_box(fspace)]
        arr[_box(mspace)] = np.asarray(data).reshape(arr[_box(mspace)].shape)


def _box(space: Any) -> tuple[slice, ...]:
    """The block a dataspace selection covers; other selections are not supported."""
    if space.get_simple_extent_type() == h5py.h5s.SCALAR:
        return ()
    start, end = space.get_select_bounds()
    box = tuple(slice(a, b + 1) for a, b in zip(start, end, strict=True))
    if space.get_select_npoints() != math.prod(b - a + 1 for a, b in zip(start, end, strict=True)):
        raise Unsupported(
            "only block (hyperslab) selections can be read through an index dataset's low-level "
            "id; read point or irregular selections with numpy-style indexing (dset[...])"
        )
    return box


class IndexDataset(Node, h5py.Dataset):  # type: ignore[misc]  # h5py is untyped
    """A dataset: shape, types, storage properties and numpy-style reads."""

    def __init__(self, file: FileCore, key: str, name: str) -> None:
        self._init_node(file, key, name)
        zarray = join(key, ".zarray")
        self._meta = ArrayMeta.parse(file._tree.doc(zarray), key=zarray)
        zattrs = file._tree.attrs_doc(key)
        self._scalar = bool(zattrs.get(SCALAR, False))
        compound = zattrs.get(COMPOUND_DTYPE)
        self._compound = _values.compound_dtype(compound) if compound is not None else None
        self._external = zattrs.get(EXTERNAL_ARRAY_LINK)
        self._dtype: np.dtype[Any] | None = None

    #: What h5py's own methods look up when they run on a wrapper of this dataset.
    _dxpl = None
    _is_empty = False

    @property
    def id(self) -> DatasetId:
        return DatasetId(id(self._file), self._key, self)

    def _storage_size(self) -> int:
        """Bytes the stored chunks take (inline chunks counted by their encoded size)."""
        refs = self._file._tree.refs
        total = 0
        for index in resolve((), self._meta.shape).grid(self._meta.chunks):
            value = refs.get(join(self._key, chunk_name(index)))
            if isinstance(value, list):
                total += int(value[2])
            elif isinstance(value, str):
                total += len(inline_bytes(value))
        return total

    # -- what h5py reports about a dataset ----------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The HDF5 shape (``()`` for scalars, which the index stores as ``(1,)``)."""
        return () if self._scalar else self._meta.shape

    @property
    def dtype(self) -> np.dtype[Any]:
        if self._dtype is None:
            self._dtype = self._element_dtype()
        return self._dtype

    def _element_dtype(self) -> np.dtype[Any]:
        if self._compound is not None:
            return self._compound
        if self._meta.dtype.kind == "U":  # LINDI stores scalar strings as Zarr unicode
            return _values.VLEN_STR
        if self._meta.dtype.kind != "O":
            return self._meta.dtype
        kind = self._meta.hdf5.get("type")
        if kind is None:  # an index written by LINDI: look at the data
            kind = self._guess_object_type()
        special: np.dtype[Any]
        if kind == REFERENCE_TYPE:
            special = h5py.ref_dtype
        else:
            special = _values.VLEN_ASCII if kind == VLEN_ASCII else _values.VLEN_STR
        return special

    def _guess_object_type(self) -> str | None:
        if self._meta.shape and 0 in self._meta.shape:
            return None
        first = self._read(resolve((0,) * len(self._meta.shape), self._meta.shape))[()]
        return REFERENCE_TYPE if first is None or is_reference(first) else None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def chunks(self) -> tuple[int, ...] | None:
        """HDF5's chunk shape: ``None`` for scalars and (neuropil indexes) unchunked data."""
        if self._scalar:
            return None
        if "chunks" in self._meta.hdf5:
            recorded = self._meta.hdf5["chunks"]
            return None if recorded is None else tuple(int(n) for n in recorded)
        return self._meta.chunks

    @property
    def maxshape(self) -> tuple[int | None, ...]:
        recorded = self._meta.hdf5.get("maxshape")
        if recorded is None or self._scalar:
            return self.shape
        return tuple(None if n is None else int(n) for n in recorded)

    @property
    def fillvalue(self) -> Any:
        if self.dtype.kind == "O":
            return b"" if h5py.check_string_dtype(self.dtype) else None
        fill = self._meta.fill_value
        return np.zeros((), self.dtype)[()] if fill is None else self.dtype.type(fill)

    def _filter(self, name: str) -> Any:
        """An h5py filter property: recorded for JSON data, else read off the codecs."""
        if self._meta.dtype.kind == "O":
            return self._meta.hdf5.get(name)
        codecs = {str(codec.codec_id): codec for codec in self._meta.codecs}
        if name == "compression":
            if "zlib" in codecs:
                return "gzip"
            return "unknown" if set(codecs) - {"shuffle", "fletcher32"} else None  # a plugin
        if name == "compression_opts":
            return codecs["zlib"].level if "zlib" in codecs else None
        return name in codecs

    @property
    def compression(self) -> str | None:
        return self._filter("compression")  # type: ignore[no-any-return]

    @property
    def compression_opts(self) -> Any:
        return self._filter("compression_opts")

    @property
    def shuffle(self) -> bool:
        return bool(self._filter("shuffle"))

    @property
    def fletcher32(self) -> bool:
        return bool(self._filter("fletcher32"))

    @property
    def scaleoffset(self) -> None:
        return None

    @property
    def is_virtual(self) -> bool:
        return False

    @property
    def external(self) -> None:
        return None

    @property
    def is_scale(self) -> bool:
        return self.attrs.get("CLASS") in ("DIMENSION_SCALE", b"DIMENSION_SCALE")

    def __repr__(self) -> str:
        if not self._file:
            return "<Closed HDF5 dataset>"
        name = self._name.rpartition("/")[2] or "/"
        return f'<HDF5 dataset "{name}": shape {self.shape}, type "{self.dtype.str}" from an index>'

    def __len__(self) -> int:
        return self.len()

    def len(self) -> int:
        if not self.shape:
            raise TypeError("Attempt to take len() of scalar dataset")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        """Rows, read a block of chunks at a time (h5py reads one row per step)."""
        if not self.shape:
            raise TypeError("Can't iterate over a scalar dataset")
        step = self.chunks[0] if self.chunks else _ITER_ROWS
        for start in range(0, self.shape[0], step):
            yield from self[start : start + step]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        if copy is False:
            raise ValueError("reading a dataset always makes a copy (copy=False asked)")
        return np.asarray(self[()] if self.shape else self[...], dtype=dtype)

    def read_direct(
        self, dest: np.ndarray[Any, Any], source_sel: Any = None, dest_sel: Any = None
    ) -> None:
        dest[() if dest_sel is None else dest_sel] = self[() if source_sel is None else source_sel]

    # -- reading --------------------------------------------------------------------------------

    def __getitem__(self, args: Any, new_dtype: Any = None) -> Any:
        items = args if isinstance(args, tuple) else (args,)
        names = [a for a in items if isinstance(a, str)]
        rest = tuple(a for a in items if not isinstance(a, str))
        if names and self.dtype.names is None:
            raise ValueError("Field names only allowed for compound types")
        data = self._scalar_read(rest) if self._scalar else self._array_read(rest)
        if names:
            data = data[names[0]] if len(names) == 1 else data[names]
        if new_dtype is not None:
            data = _as_dtype(data, np.dtype(new_dtype))
        if isinstance(data, np.ndarray) and data.ndim == 0 and not _only_ellipsis(rest):
            return data[()]  # one element: a numpy scalar, bytes or a reference, as h5py
        return data

    def _scalar_read(self, rest: tuple[Any, ...]) -> Any:
        if rest and not _only_ellipsis(rest):
            raise ValueError("Illegal slicing argument for scalar dataspace")
        data = self._convert(self._read(resolve((), self._meta.shape)))
        return data.reshape(())

    def _array_read(self, rest: tuple[Any, ...]) -> Any:
        if len(rest) == 1 and _is_mask(rest[0], self.shape):
            return self._convert(self._read(resolve((), self.shape)))[rest[0]]
        return self._convert(self._read(resolve(rest, self.shape)))

    def _read(self, selection: Selection) -> np.ndarray[Any, Any]:
        if self._external is not None:
            # LINDI leaves out the chunk refs of big arrays; reading them as fill values
            # would be silently wrong.
            raise InvalidIndex(
                f"dataset {self._name} has no chunk refs (_EXTERNAL_ARRAY_LINK to "
                f"{self._external.get('name')} in {self._external.get('url')}); rebuild the "
                "index with neuropil, which lists every chunk"
            )
        keys = {
            index: join(self._key, chunk_name(index)) for index in selection.grid(self._meta.chunks)
        }
        return self._file._read_chunks(self._meta, selection, keys)

    def _convert(self, data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if data.dtype.kind == "U":
            return _values.elements(data.astype(object))
        if data.dtype.kind != "O":
            return data
        if self._compound is not None:
            return _values.compound_rows(data, self._compound)
        return _values.elements(data)


def _only_ellipsis(items: tuple[Any, ...]) -> bool:
    return len(items) == 1 and items[0] is Ellipsis


def _is_mask(item: Any, shape: tuple[int, ...]) -> bool:
    return isinstance(item, np.ndarray) and item.dtype == bool and item.shape == shape


def _as_dtype(data: Any, dtype: np.dtype[Any]) -> Any:
    """``data`` as ``dtype`` (``astype()``, ``fields()`` and numpy 2 string reads)."""
    array = np.asarray(data)
    if dtype.names is not None:
        out = np.empty(array.shape, dtype=dtype)
        for name in dtype.names:
            out[name] = array[name]
        return out
    if dtype.kind == "T" and array.dtype.kind in "OS":
        text = [v.decode("utf-8") if isinstance(v, bytes) else v for v in array.reshape(-1)]
        return np.array(text, dtype=dtype).reshape(array.shape)
    return array.astype(dtype)

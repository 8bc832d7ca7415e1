"""JSON values of an index turned back into what h5py 3 returns.

h5py's conventions, which hdmf and pynwb depend on:

* attributes: numbers as numpy scalars or arrays, variable-length strings as ``str`` (object
  arrays of ``str`` for lists), references as ``h5py.Reference``;
* dataset elements: variable-length strings as ``bytes`` (``.asstr()`` decodes them),
  references as ``h5py.Reference``, compound rows as numpy structured values with the
  string and reference fields as objects.

The index cannot tell every HDF5 type apart (a 32-bit attribute is a JSON number like any
other), so numbers come back as 64-bit: equal values, not always equal types.
"""

from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from neuropil.index._format import REFERENCE_DTYPE, decode_float
from neuropil.index.h5._refs import is_reference, reference

_INT64_MAX = np.iinfo(np.int64).max
VLEN_STR: np.dtype[Any] = h5py.string_dtype("utf-8")
VLEN_ASCII: np.dtype[Any] = h5py.string_dtype("ascii")


def attribute(value: Any) -> Any:
    """An attribute's JSON value as h5py returns it (``None``: an empty attribute)."""
    if value is None:
        return None
    if is_reference(value):
        return reference(value)
    if isinstance(value, list):
        return _attribute_array(value)
    return _attribute_scalar(value)


def _attribute_scalar(value: Any) -> Any:
    value = decode_float(value)
    if isinstance(value, bool):
        return np.bool_(value)
    if isinstance(value, int):
        return np.uint64(value) if value > _INT64_MAX else np.int64(value)
    if isinstance(value, float):
        return np.float64(value)
    return value  # text


def _attribute_array(value: list[Any]) -> np.ndarray[Any, Any]:
    shape = _shape(value)
    flat = _flatten(value)
    if any(is_reference(v) or v is None for v in flat):
        items: list[Any] = [reference(v) for v in flat]
        return _objects(items, shape)
    flat = [decode_float(v) for v in flat]
    if any(isinstance(v, str) for v in flat):
        return _objects(flat, shape)
    if flat and all(isinstance(v, bool) for v in flat):
        return np.array(flat, dtype=bool).reshape(shape)
    if any(isinstance(v, float) for v in flat) or not flat:
        return np.array(flat, dtype=np.float64).reshape(shape)
    if max(flat) > _INT64_MAX:
        return np.array(flat, dtype=np.uint64).reshape(shape)
    return np.array(flat, dtype=np.int64).reshape(shape)


def _objects(items: list[Any], shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out.reshape(shape)


def _shape(value: Any) -> tuple[int, ...]:
    shape: list[int] = []
    while isinstance(value, list):
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(shape)


def _flatten(items: list[Any]) -> list[Any]:
    return [x for item in items for x in (_flatten(item) if isinstance(item, list) else [item])]


def element(value: Any) -> Any:
    """One element of a string or reference dataset, as h5py returns it."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if value is None or is_reference(value):
        return reference(value)
    return value


def elements(data: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """An object array of JSON elements converted by :func:`element`."""
    out = np.empty(data.shape, dtype=object)
    out.reshape(-1)[:] = [element(v) for v in data.reshape(-1)]
    return out


def compound_dtype(fields: list[list[str]]) -> np.dtype[Any]:
    """The numpy type of LINDI's ``_COMPOUND_DTYPE`` (h5py's special types for references
    and variable-length strings, which the index spells ``object``)."""
    spelled = []
    for name, kind in fields:
        if kind == REFERENCE_DTYPE:
            spelled.append((name, h5py.ref_dtype))
        elif np.dtype(kind).kind == "O":
            spelled.append((name, VLEN_STR))
        else:
            spelled.append((name, np.dtype(kind)))
    return np.dtype(spelled)


def compound_rows(data: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """An object array of JSON rows (lists of field values) as a structured array."""
    assert dtype.names is not None
    kinds = [dtype.fields[name][0] for name in dtype.names]  # type: ignore[index]
    out = np.empty(data.size, dtype=dtype)
    for i, row in enumerate(data.reshape(-1)):
        out[i] = tuple(_field(v, kind) for v, kind in zip(row, kinds, strict=True))
    return out.reshape(data.shape)


def _field(value: Any, kind: np.dtype[Any]) -> Any:
    if kind.kind == "O":
        if h5py.check_ref_dtype(kind) is not None:
            return reference(value)
        return value.encode("utf-8") if isinstance(value, str) else value
    if kind.kind == "S" and isinstance(value, str):
        return value.encode("utf-8")
    return decode_float(value) if kind.kind == "f" else value

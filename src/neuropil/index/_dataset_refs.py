"""One HDF5 dataset as Zarr v2 refs: ``.zarray``, ``.zattrs`` and its chunks.

Two kinds of data, as in LINDI:

* **raw** (numbers, booleans, fixed-length strings): the file's own chunks are referenced
  and decoded by the numcodecs twins of the HDF5 filters (:mod:`._layouts`);
* **JSON** (variable-length strings, object references, compound types): HDF5 keeps these
  in heaps or in forms Zarr cannot read, so the values are read through h5py and inlined
  as one chunk in numcodecs' JSON encoding; compounds carry ``_COMPOUND_DTYPE``.

HDF5 scalars become shape ``(1,)`` arrays with ``_SCALAR: true``, their value inlined.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import h5py
import numcodecs
import numpy as np

from neuropil.errors import UnsupportedHdf5
from neuropil.index._filters import codec_configs, dataset_filters
from neuropil.index._format import (
    COMPOUND_DTYPE,
    HDF5_INFO,
    REFERENCE_DTYPE,
    REFERENCE_TYPE,
    SCALAR,
    SPECIAL_ATTRIBUTES,
    VLEN_ASCII,
    VLEN_UTF8,
    chunk_name,
    encode_fill_value,
    inline_value,
    join,
    zarray,
)
from neuropil.index._indexed_file import SourceFile
from neuropil.index._json_values import References, attribute_value, element_value
from neuropil.index._layouts import IndexOptions, raw_layout

_JSON_CODEC = numcodecs.JSON()
# As JSON will spell it (separators as a list), so a built index equals its reloaded self.
_JSON_CONFIG = json.loads(json.dumps(_JSON_CODEC.get_config()))
_ZLIB = numcodecs.Zlib(level=9)
#: Inline JSON payloads longer than this are deflated.
_COMPRESS_JSON_BYTES = 512

#: Converts one element (value, where, references) to JSON.
_Converter = Callable[[Any, str, References], Any]


def attributes(obj: h5py.HLObject, refs: References) -> dict[str, Any]:
    """The attributes of a group or dataset as a ``.zattrs`` document."""
    out: dict[str, Any] = {}
    names = list(obj.attrs)
    path = obj.name if names else ""  # h5py looks a name up in the file each time: once
    for name in names:
        where = f"attribute {name!r} of {path}"
        if name in SPECIAL_ATTRIBUTES:
            raise UnsupportedHdf5(f"{where} has a name the index format reserves")
        try:
            value = obj.attrs[name]
        except (OSError, TypeError, ValueError) as exc:
            raise UnsupportedHdf5(f"{where} has a type h5py cannot read: {exc}") from exc
        out[name] = attribute_value(value, where=where, refs=refs)
    return out


def dataset_refs(
    ds: h5py.Dataset, prefix: str, *, src: SourceFile, refs: References, options: IndexOptions
) -> dict[str, Any]:
    """All refs of dataset ``ds``, whose keys start with ``prefix``."""
    if ds.shape is None:
        raise UnsupportedHdf5(f"dataset {ds.name} has a null dataspace, which is not supported")
    attrs = attributes(ds, refs)
    if _is_raw(ds.dtype):
        meta, chunks = _raw(ds, src, options)
    else:
        meta, chunks = _json(ds, refs)
        if ds.dtype.names is not None:
            attrs[COMPOUND_DTYPE] = _compound_fields(ds.dtype)
    if ds.ndim == 0:
        attrs[SCALAR] = True
    info = _hdf5_info(ds, tuple(meta["chunks"]))
    if info:
        meta[HDF5_INFO] = info
    out: dict[str, Any] = {join(prefix, ".zarray"): meta}
    if attrs:
        out[join(prefix, ".zattrs")] = attrs
    out.update({join(prefix, name): value for name, value in chunks.items()})
    return out


def _hdf5_info(ds: h5py.Dataset, zarr_chunks: tuple[int, ...]) -> dict[str, Any]:
    """What h5py says about ``ds`` that the Zarr view cannot (see ``HDF5_INFO``)."""
    info: dict[str, Any] = {}
    dtype = ds.dtype
    if dtype.names is None and not _is_raw(dtype):
        if h5py.check_ref_dtype(dtype) is h5py.Reference:
            info["type"] = REFERENCE_TYPE
        else:
            string = h5py.check_string_dtype(dtype)
            ascii_ = string is not None and string.encoding == "ascii"
            info["type"] = VLEN_ASCII if ascii_ else VLEN_UTF8
    if ds.ndim and ds.chunks != zarr_chunks:
        info["chunks"] = None if ds.chunks is None else list(ds.chunks)
    if ds.ndim and ds.maxshape != ds.shape:
        info["maxshape"] = list(ds.maxshape)
    if not _is_raw(dtype):
        # JSON data are stored re-encoded, so their filters say nothing of the file's.
        stored = {
            "compression": ds.compression,
            "compression_opts": ds.compression_opts,
            "shuffle": ds.shuffle,
            "fletcher32": ds.fletcher32,
        }
        info.update({k: v for k, v in stored.items() if v})
    return info


def _is_raw(dtype: np.dtype[Any]) -> bool:
    # h5py marks booleans and enums as numpy bool/int; fixed strings are plain bytes.
    return dtype.kind in "biufS"


def _raw(
    ds: h5py.Dataset, src: SourceFile, options: IndexOptions
) -> tuple[dict[str, Any], dict[str, Any]]:
    dtype = ds.dtype
    fill = encode_fill_value(ds.fillvalue, dtype)
    if ds.ndim == 0:
        # A scalar is read by value: whatever its layout, one small inline chunk is simplest.
        value = np.asarray(ds[()], dtype=dtype).reshape(1)
        meta = zarray(shape=(1,), chunks=(1,), dtype=dtype.str, fill_value=fill, filters=None)
        return meta, {"0": inline_value(value.tobytes())}
    codecs = codec_configs(dataset_filters(ds.id.get_create_plist()), dtype, dataset=ds.name)
    layout = raw_layout(ds, codecs, src, options)
    shape = tuple(int(n) for n in ds.shape)
    meta = zarray(
        shape=shape, chunks=layout.chunks, dtype=dtype.str, fill_value=fill, filters=codecs
    )
    return meta, layout.refs


def _json(ds: h5py.Dataset, refs: References) -> tuple[dict[str, Any], dict[str, Any]]:
    shape = tuple(int(n) for n in ds.shape) or (1,)
    values = _json_values(ds, shape, refs)
    payload = _JSON_CODEC.encode(values)
    compressor = None
    if len(payload) > _COMPRESS_JSON_BYTES:
        # NWB's cached specifications are tens of kB of JSON text each; deflated they are
        # a fifth of that, and base64 costs less than escaping every quote twice.
        compressor = _ZLIB.get_config()
        payload = _ZLIB.encode(payload)
    meta = zarray(
        shape=shape,
        chunks=tuple(max(1, n) for n in shape),
        dtype="|O",
        fill_value=None,
        filters=[_JSON_CONFIG],
        compressor=compressor,
    )
    if math.prod(shape) == 0:
        return meta, {}
    return meta, {chunk_name((0,) * len(shape)): inline_value(payload)}


def _json_values(
    ds: h5py.Dataset, shape: tuple[int, ...], refs: References
) -> np.ndarray[Any, Any]:
    """Every element of ``ds`` converted to JSON, as an object array of ``shape``."""
    convert = _json_kind(ds)
    values = np.empty(shape, dtype=object)
    flat = values.reshape(-1)
    data = ds[()]
    # A scalar comes back as a bare value; np.asarray would turn bytes into a fixed-width
    # string and drop trailing NULs.
    items = [data] if ds.ndim == 0 else np.asarray(data).reshape(-1)
    name = ds.name
    for i, item in enumerate(items):
        flat[i] = convert(item, f"element {i} of dataset {name}", refs)
    return values


def _json_kind(ds: h5py.Dataset) -> _Converter:
    """How one element of a JSON-kind dataset is converted; raises for unsupported types."""
    dtype = ds.dtype
    if dtype.names is not None:
        fields = [(name, dtype.fields[name][0]) for name in dtype.names]
        for name, field in fields:
            if not (_is_raw(field) or _is_text_or_ref(field)):
                raise UnsupportedHdf5(
                    f"dataset {ds.name}: field {name!r} has unsupported dtype {field}"
                )
        return lambda row, where, refs: [
            element_value(row[name], where=f"{where}, field {name!r}", refs=refs)
            for name, _ in fields
        ]
    if _is_text_or_ref(dtype):
        return lambda item, where, refs: element_value(item, where=where, refs=refs)
    base = h5py.check_vlen_dtype(dtype)
    if base is not None:
        raise UnsupportedHdf5(
            f"dataset {ds.name} holds variable-length sequences of {base}, which the index "
            "cannot express"
        )
    raise UnsupportedHdf5(f"dataset {ds.name} has dtype {dtype}, which the index cannot express")


def _is_text_or_ref(dtype: np.dtype[Any]) -> bool:
    """Variable-length strings and object references (not region references)."""
    if h5py.check_string_dtype(dtype) is not None and dtype.kind == "O":
        return True
    return h5py.check_ref_dtype(dtype) is h5py.Reference


def _compound_fields(dtype: np.dtype[Any]) -> list[list[str]]:
    """LINDI's ``_COMPOUND_DTYPE``: ``[[name, numpy dtype or "<REFERENCE>"], ...]``."""
    assert dtype.names is not None and dtype.fields is not None  # callers check: a compound
    fields = []
    for name in dtype.names:
        field = dtype.fields[name][0]
        spelled = REFERENCE_DTYPE if h5py.check_ref_dtype(field) is h5py.Reference else str(field)
        fields.append([name, spelled])
    return fields

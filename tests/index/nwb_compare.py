"""Compare two ``NWBFile`` objects read by pynwb: every object, every field, every value."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import h5py
import numpy as np
from hdmf.container import AbstractContainer
from hdmf.query import HDMFDataset
from pynwb import NWBFile

from neuropil.index import IndexReference


def assert_same_nwb(expected: NWBFile, got: NWBFile, *, exact_text: bool = True) -> int:
    """Same objects (by object id), types, names and field values; returns values compared.

    ``exact_text=False`` lets ``bytes`` equal their UTF-8 text: an index that does not
    record HDF5's string encodings makes ASCII datasets read as text.
    """
    assert set(got.objects) == set(expected.objects)
    h5 = expected.read_io._file
    compared = 0
    for object_id, obj in expected.objects.items():
        mine = got.objects[object_id]
        assert type(mine) is type(obj) and mine.name == obj.name, object_id
        assert set(mine.fields) == set(obj.fields), obj.name
        for field, value in obj.fields.items():
            a, b = plain(value, h5), plain(mine.fields[field], h5)
            if not exact_text:
                a, b = _text(a), _text(b)
            assert same(a, b), f"{obj.name}.{field}: {a!r} != {b!r}"
            compared += 1
    return compared


def plain(value: Any, h5: h5py.File) -> Any:
    """Plain Python for comparing: containers by object id, datasets by their values."""
    if isinstance(value, AbstractContainer):
        return ("container", value.object_id)
    if isinstance(value, h5py.Dataset | HDMFDataset):
        return plain(value[()], h5)
    if isinstance(value, IndexReference):
        return ("ref", value.path)
    if isinstance(value, h5py.Reference):
        return ("ref", h5[value].name if value else None)
    if isinstance(value, np.void):
        return [plain(value[name], h5) for name in value.dtype.names or ()]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return plain(value[()], h5)
        return [plain(item, h5) for item in value]
    if isinstance(value, list | tuple):
        return [plain(item, h5) for item in value]
    if isinstance(value, dict):
        return {key: plain(item, h5) for key, item in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | bytes | int | float | datetime) or value is None:
        return value
    raise AssertionError(f"no comparison for a {type(value).__name__}: {value!r}")


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, list):
        return [_text(item) for item in value]
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    return value


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)

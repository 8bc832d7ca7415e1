"""Checks that an index reads back exactly what h5py reads from the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neuropil.index import Dataset, File, Reference


class FileFetcher:
    """``fetch(url, offset, size)`` over local files, counting requests."""

    def __init__(self, files: dict[str, Path]) -> None:
        self.files = files
        self.requests = 0

    def __call__(self, url: str, offset: int, size: int) -> bytes:
        self.requests += 1
        with open(self.files[url], "rb") as f:
            f.seek(offset)
            data = f.read(size)
        assert len(data) == size, f"ref past the end of {url}"
        return data


def assert_same_file(h5: h5py.File, idx: File) -> int:
    """Every link, attribute and dataset value of ``h5`` equals the index's; returns the
    number of objects compared."""
    compared = 0
    names = ["", *_all_links(h5)]
    for name in names:
        link = h5.get(name, getlink=True) if name else h5py.HardLink()
        if isinstance(link, h5py.SoftLink):
            assert idx[name].name == link.path, name
            continue
        obj = h5[name] if name else h5
        if isinstance(obj, h5py.Datatype):
            assert name not in idx, name
            continue
        mine = idx[name] if name else idx
        assert_same_attrs(obj, mine, h5)
        if isinstance(obj, h5py.Dataset):
            assert isinstance(mine, Dataset), name
            assert_same_dataset(obj, mine, h5)
        else:
            assert _members(obj) == mine.keys(), name
        compared += 1
    return compared


def _members(group: h5py.Group) -> list[str]:
    """Member names, less committed datatypes (which hold no data and are not indexed)."""
    return sorted(
        name
        for name in group
        if isinstance(group.get(name, getlink=True), h5py.SoftLink)
        or not isinstance(group[name], h5py.Datatype)
    )


def _all_links(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visit_links(names.append)
    return names


def assert_same_attrs(obj: h5py.HLObject, mine: Any, h5: h5py.File) -> None:
    assert sorted(obj.attrs) == sorted(mine.attrs), obj.name
    for key in obj.attrs:
        expected, got = normalize(obj.attrs[key], h5), normalize(mine.attrs[key], h5)
        assert equal(expected, got), f"{obj.name} @{key}: {expected!r} != {got!r}"


def assert_same_dataset(ds: h5py.Dataset, mine: Dataset, h5: h5py.File) -> None:
    assert mine.shape == ds.shape, ds.name
    expected = ds[()]
    got = mine[()]
    if ds.dtype.kind in "biufS" and ds.dtype.names is None:
        assert mine.dtype == ds.dtype, ds.name
        np.testing.assert_array_equal(got, expected, err_msg=ds.name)
        assert np.asarray(got).dtype == np.asarray(expected).dtype, ds.name
    else:
        assert equal(normalize(expected, h5), normalize(got, h5)), ds.name


def normalize(value: Any, h5: h5py.File) -> Any:
    """A plain-Python form in which h5py's and the index's spellings compare equal."""
    if isinstance(value, h5py.Reference):
        return ("ref", h5[value].name) if value else None
    if isinstance(value, Reference):
        return ("ref", value.path)
    if isinstance(value, np.void):  # one compound row
        return [normalize(value[field], h5) for field in value.dtype.names or ()]
    if isinstance(value, np.ndarray):
        return (
            [normalize(item, h5) for item in value.tolist()]
            if value.ndim
            else normalize(value[()], h5)
        )
    if isinstance(value, list | tuple):
        return [normalize(item, h5) for item in value]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, h5py.Empty):
        return None
    return value


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)

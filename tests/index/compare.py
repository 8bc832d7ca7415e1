"""Checks that an index reads back exactly what h5py reads from the file itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neuropil.index import IndexDataset, IndexFile, IndexReference


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


def assert_same_file(h5: h5py.File, idx: IndexFile, *, ours: bool = True) -> int:
    """Every link, attribute and dataset of ``h5`` reads the same through the index; returns
    the number of objects compared. For an index neuropil wrote (``ours``), also the string
    encodings, chunks, maxshape and filters, which other indexes do not record."""
    compared = 0
    for name in ["", *_all_links(h5)]:
        link = h5.get(name, getlink=True) if name else h5py.HardLink()
        if isinstance(link, h5py.SoftLink):
            mine_link = idx.get(name, getlink=True)
            assert isinstance(mine_link, h5py.SoftLink) and mine_link.path == link.path, name
            assert idx[name].name == h5[name].name, name
            assert idx[name].id == idx[link.path].id, name
            continue
        obj = h5[name] if name else h5
        if isinstance(obj, h5py.Datatype):
            assert name not in idx, name
            continue
        mine = idx[name] if name else idx
        assert mine.name == obj.name, name
        assert isinstance(idx.get(name, getlink=True) if name else link, h5py.HardLink), name
        assert_same_attrs(obj, mine, h5)
        if isinstance(obj, h5py.Dataset):
            assert isinstance(mine, IndexDataset) and isinstance(mine, h5py.Dataset), name
            assert_same_dataset(obj, mine, h5, ours=ours)
        else:
            assert isinstance(mine, h5py.Group) and not isinstance(mine, h5py.Dataset), name
            assert _members(obj) == list(mine.keys()), name
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
    """Equal values; fixed-length byte strings compare as text (the index keeps text)."""
    assert sorted(obj.attrs) == sorted(mine.attrs), obj.name
    for key in obj.attrs:
        expected, got = normalize(obj.attrs[key], h5), normalize(mine.attrs[key], h5)
        assert equal(expected, got), f"{obj.name} @{key}: {expected!r} != {got!r}"
        if isinstance(obj.attrs[key], np.ndarray) and obj.attrs[key].dtype.kind in "biuf":
            assert np.shape(mine.attrs[key]) == obj.attrs[key].shape, f"{obj.name} @{key}"


def assert_same_dataset(
    ds: h5py.Dataset, mine: IndexDataset, h5: h5py.File, *, ours: bool = True
) -> None:
    where = ds.name
    assert (mine.shape, mine.ndim, mine.size) == (ds.shape, ds.ndim, ds.size), where
    assert_same_dtype(ds.dtype, mine.dtype, where, encoding=ours)
    expected, got = ds[()], mine[()]
    assert type(got) is type(expected) or isinstance(got, h5py.Reference), where
    if ds.dtype.kind in "biufS" and ds.dtype.names is None:
        np.testing.assert_array_equal(got, expected, err_msg=where)
        assert np.asarray(got).dtype == np.asarray(expected).dtype, where
    else:
        # Exact: bytes stay bytes, references are compared by their targets.
        assert equal(refs_only(expected, h5), refs_only(got, h5)), where
    if h5py.check_string_dtype(ds.dtype) is not None and ds.dtype.kind == "O":
        assert equal(refs_only(ds.asstr()[()], h5), refs_only(mine.asstr()[()], h5)), where
    if ours:
        assert mine.chunks == ds.chunks, where
        assert mine.maxshape == ds.maxshape, where
        assert (mine.compression, mine.compression_opts) == (
            ds.compression,
            ds.compression_opts,
        ), where
        assert (mine.shuffle, mine.fletcher32) == (ds.shuffle, ds.fletcher32), where


def assert_same_dtype(
    expected: np.dtype[Any], got: np.dtype[Any], where: str, *, encoding: bool = True
) -> None:
    if expected.names is not None:
        assert got.names == expected.names, where
        for name in expected.names:
            assert_same_dtype(expected[name], got[name], f"{where}[{name!r}]", encoding=encoding)
        return
    assert got == expected, f"{where}: {got} != {expected}"
    mine, theirs = h5py.check_string_dtype(got), h5py.check_string_dtype(expected)
    if encoding:
        assert mine == theirs, where
    else:
        assert (mine is None) == (theirs is None), where
    assert h5py.check_ref_dtype(got) == h5py.check_ref_dtype(expected), where


def refs_only(value: Any, h5: h5py.File) -> Any:
    """``value`` with references replaced by their targets' names; everything else kept."""
    if isinstance(value, IndexReference):
        return ("ref", value.path)
    if isinstance(value, h5py.Reference):
        return ("ref", h5[value].name) if value else ("ref", None)
    if isinstance(value, np.void):
        return [refs_only(value[field], h5) for field in value.dtype.names or ()]
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return refs_only(value[()], h5)
        return [refs_only(item, h5) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def normalize(value: Any, h5: h5py.File) -> Any:
    """A plain-Python form in which h5py's and the index's spellings compare equal."""
    if isinstance(value, IndexReference):
        return ("ref", value.path) if value else None
    if isinstance(value, h5py.Reference):
        return ("ref", h5[value].name) if value else None
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

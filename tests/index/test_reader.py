"""The h5py-like reader: navigation, links, references, values and its errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from neuropil.errors import InvalidIndex
from neuropil.index import Dataset, Group, Reference, open_index
from tests.index.compare import FileFetcher


def test_navigation(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    f = open_index(sample_index, fetcher)
    assert f.name == "/"
    assert "chunked" in f and "nothing" not in f and "chunked/int16" in f
    assert isinstance(f["chunked"], Group) and isinstance(f["/chunked/int16"], Dataset)
    assert f["chunked"]["int16"].name == "/chunked/int16"
    assert f.get("missing") is None
    with pytest.raises(KeyError, match="no object named /missing"):
        f["missing"]


def test_soft_links_are_followed(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    f = open_index(sample_index, fetcher)
    assert f["links/to_group"].name == "/chunked"
    assert f["links/to_group/int16"].name == "/chunked/int16"  # a link in the middle of a path
    np.testing.assert_array_equal(f["links/to_dataset"][:3], np.sin(np.arange(3.0)))


def test_references_dereference(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    f = open_index(sample_index, fetcher)
    ref = f["attrs"].attrs["ref"]
    assert ref == Reference("/chunked/int16", None)
    assert f[ref].shape == (4100, 48)
    objects = f["refs/objects"][:]
    assert [f[r].name for r in objects[:4]] == [
        "/chunked",
        "/chunked/int16",
        "/strings/vlen",
        "/refs",
    ]
    assert objects[2].object_id is None and objects[3].object_id == "refs-object-id"
    assert objects[4] is None  # a null reference


def test_scalars(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    f = open_index(sample_index, fetcher)
    scalar = f["scalars/int"]
    assert scalar.shape == () and scalar.ndim == 0 and scalar.size == 1
    assert scalar[()] == 42 and scalar[()].dtype == np.dtype("i4")
    assert f["scalars/text"][()] == "a variable-length scalar, \u00b5V"
    assert f["scalars/fixed"][()] == b"fixed!"
    assert np.isnan(f["scalars/nan"][()])
    with pytest.raises(IndexError):
        scalar[0]
    with pytest.raises(TypeError):
        len(scalar)


def test_compound(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    ds = open_index(sample_index, fetcher)["refs/compound"]
    assert ds.dtype.names == ("idx", "weight", "label", "target")
    rows = ds[:]
    assert rows["idx"].tolist() == [0, 1, 2, 3, 4, 5, 9]
    assert rows["label"][1] == b"r1" and np.isnan(rows["weight"][-1])
    assert rows["target"][-1] == Reference("/", "root-object-id")
    assert ds[2:4]["idx"].tolist() == [2, 3]


def test_attribute_values(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    attrs = open_index(sample_index, fetcher)["attrs"].attrs
    assert attrs["int"] == 7 and attrs["text"] == "some text, \u00b5"
    assert np.isnan(attrs["nan"]) and attrs["ninf"] == -np.inf
    np.testing.assert_array_equal(attrs["ints_2d"], np.arange(6).reshape(2, 3))
    assert attrs["vlen_array"].dtype == object and list(attrs["vlen_array"]) == ["x", "yy", "zzz"]
    assert "_SCALAR" not in open_index(sample_index, fetcher)["scalars/int"].attrs


def test_dataset_properties(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    ds = open_index(sample_index, fetcher)["chunked/cube"]
    assert (ds.shape, ds.ndim, ds.size, len(ds)) == ((10, 20, 30), 3, 6000, 10)
    assert ds.chunks == (3, 7, 11) and ds.dtype == np.dtype("f4")
    assert np.asarray(ds).sum() == np.arange(6000, dtype="f4").sum()
    np.testing.assert_array_equal(ds[2, 5:9, -3:], np.arange(6000).reshape(10, 20, 30)[2, 5:9, -3:])


def test_bad_selections(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    ds = open_index(sample_index, fetcher)["chunked/int16"]
    with pytest.raises(IndexError):
        ds[5000]
    with pytest.raises(IndexError):
        ds[1, 2, 3]
    with pytest.raises(IndexError):
        ds[::-1]
    with pytest.raises(TypeError):
        ds[[1, 2]]


def test_file_refs_need_a_fetch(sample_index: dict[str, Any]) -> None:
    f = open_index(sample_index)  # inline data and metadata still work
    assert f["contiguous/small"][3] == 3
    with pytest.raises(InvalidIndex, match="no fetch"):
        f["chunked/int16"][0]


def test_malformed_indexes() -> None:
    with pytest.raises(InvalidIndex, match="refs"):
        open_index({"version": 1})
    refs = {
        ".zgroup": {"zarr_format": 2},
        "x/.zarray": {"shape": [2], "chunks": [2], "dtype": "<i2", "filters": None},
        "x/0": ["{{u9}}", 0, 4],
        "y/.zarray": {"shape": [2]},
    }
    f = open_index({"refs": refs, "templates": {"u1": "https://x"}}, lambda *a: b"\0" * 4)
    with pytest.raises(InvalidIndex, match="template"):
        f["x"][:]
    with pytest.raises(InvalidIndex, match=r"y/\.zarray is not a valid"):
        f["y"]

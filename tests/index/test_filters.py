"""HDF5 filter pipelines as numcodecs configs, checked against real plugin-compressed data."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from neuropil.errors import UnsupportedHdf5
from neuropil.index import build_index, open_index
from neuropil.index._filters import Hdf5Filter, codec_configs
from tests.index.compare import FileFetcher, assert_same_file

I2 = np.dtype("<i2")


def test_deflate_shuffle_fletcher_configs() -> None:
    stages = [
        Hdf5Filter(h5py.h5z.FILTER_SHUFFLE, 1, (2,), "shuffle"),
        Hdf5Filter(h5py.h5z.FILTER_DEFLATE, 1, (6,), "deflate"),
        Hdf5Filter(h5py.h5z.FILTER_FLETCHER32, 0, (), "fletcher32"),
    ]
    assert codec_configs(stages, I2, dataset="/d") == [
        {"id": "shuffle", "elementsize": 2},
        {"id": "zlib", "level": 6},
        {"id": "fletcher32"},
    ]


def test_plugin_configs() -> None:
    blosc = Hdf5Filter(32001, 1, (2, 2, 2, 65536, 7, 2, 1), "blosc")
    zstd = Hdf5Filter(32015, 1, (9,), "zstd")
    assert codec_configs([blosc, zstd], I2, dataset="/d") == [
        {"id": "blosc", "cname": "lz4", "clevel": 7, "shuffle": 2, "blocksize": 0},
        {"id": "zstd", "level": 9, "checksum": False},
    ]


@pytest.mark.parametrize(("code", "name"), [(32008, "bitshuffle"), (32004, "lz4"), (40000, "mine")])
def test_unsupported_filter_ids(code: int, name: str) -> None:
    with pytest.raises(UnsupportedHdf5, match=f"dataset /a/b uses the HDF5 filter '{name}'"):
        codec_configs([Hdf5Filter(code, 1, (), "mine")], I2, dataset="/a/b")


def test_blosc_and_zstd_files_read_back(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin")
    data = (np.arange(60_000) % 1000).astype("<i4").reshape(600, 100)
    path = tmp_path / "plugins.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("blosc_lz4", data=data, chunks=(100, 50), **hdf5plugin.Blosc("lz4", 5, 1))
        f.create_dataset("blosc_zstd", data=data, chunks=(64, 64), **hdf5plugin.Blosc("zstd", 3, 2))
        f.create_dataset("zstd", data=data * 1.5, chunks=(128, 100), **hdf5plugin.Zstd(clevel=4))
    index = build_index(path, url="file")
    assert [c["id"] for c in index["refs"]["blosc_lz4/.zarray"]["filters"]] == ["blosc"]
    assert index["refs"]["zstd/.zarray"]["filters"] == [
        {"id": "zstd", "level": 4, "checksum": False}
    ]
    with h5py.File(path) as h5:
        assert_same_file(h5, open_index(index, FileFetcher({"file": path})))

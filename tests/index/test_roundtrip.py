"""Everything read through an index equals what h5py reads from the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neuropil.index import IndexOptions, build_index, dumps_index, open_index
from tests.index.compare import FileFetcher, assert_same_file
from tests.index.samples import MANY_SHAPE, expected_masked


def test_sample_file_reads_back_identically(
    sample_path: Path, sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    with h5py.File(sample_path) as h5:
        assert assert_same_file(h5, open_index(sample_index, fetcher)) >= 45


def test_index_survives_json(
    sample_path: Path, sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    reloaded = json.loads(dumps_index(sample_index))
    with h5py.File(sample_path) as h5:
        assert_same_file(h5, open_index(reloaded, fetcher))


def test_nwb_file_reads_back_identically(
    nwb_path: Path, nwb_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    with h5py.File(nwb_path) as h5:
        assert assert_same_file(h5, open_index(nwb_index, fetcher)) > 50


def test_many_chunks_are_all_read(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    data = open_index(sample_index, fetcher)["chunked/int16"][:]
    assert data.shape == MANY_SHAPE
    assert fetcher.requests == 1026  # one per chunk: none was skipped or inlined away


def test_chunks_stored_with_skipped_filters_decode(
    sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    ds = open_index(sample_index, fetcher)["masked/gzip_shuffle"]
    np.testing.assert_array_equal(ds[:], expected_masked())


def test_unallocated_chunks_read_as_fill_value(
    sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    f = open_index(sample_index, fetcher)
    sparse = f["chunked/sparse"][:]
    assert sparse[0, 0] == -7 and sparse[10, 42] == 3
    assert np.isnan(f["chunked/nan_fill"][-1])
    np.testing.assert_array_equal(f["empty/unwritten_chunked"][:], np.full(30, 9, dtype="u1"))


@pytest.mark.parametrize(
    "selection",
    [
        (slice(None), slice(None)),
        (slice(5, 17), slice(3, 40)),
        (slice(4090, None), slice(None, None, 5)),
        (7,),
        (-1, slice(10, 11)),
        (slice(100, 2000, 37), 47),
        (Ellipsis, 3),
        (slice(10, 10),),
    ],
)
def test_slices_match_h5py(
    sample_path: Path, sample_index: dict[str, Any], fetcher: FileFetcher, selection: Any
) -> None:
    ds = open_index(sample_index, fetcher)["chunked/int16"]
    with h5py.File(sample_path) as h5:
        np.testing.assert_array_equal(ds[selection], h5["chunked/int16"][selection])


def test_a_slice_fetches_only_its_chunks(
    sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    open_index(sample_index, fetcher)["chunked/int16"][0:16, 0:24]
    assert fetcher.requests == 2


def test_split_contiguous_dataset(sample_path: Path, fetcher: FileFetcher) -> None:
    index = build_index(
        sample_path,
        url="https://archive.example.org/api/assets/sample/download/",
        options=IndexOptions(split_contiguous_bytes=10_000),
    )
    zarray = index["refs"]["contiguous/matrix/.zarray"]
    assert zarray["chunks"] == [25, 200]  # 10,000 bytes / 400 bytes per row
    assert "contiguous/matrix/7.0" in index["refs"]
    with h5py.File(sample_path) as h5:
        expected = h5["contiguous/matrix"][()]
        f = open_index(index, fetcher)
        np.testing.assert_array_equal(f["contiguous/matrix"][()], expected)
        np.testing.assert_array_equal(f["contiguous/float64"][()], h5["contiguous/float64"][()])


def test_short_last_block_is_padded(sample_path: Path, fetcher: FileFetcher) -> None:
    index = build_index(
        sample_path,
        url="https://archive.example.org/api/assets/sample/download/",
        options=IndexOptions(split_contiguous_bytes=9000),  # 22 rows a block; 200 = 9*22 + 2
    )
    assert index["refs"]["contiguous/matrix/9.0"][2] == 2 * 400
    with h5py.File(sample_path) as h5:
        np.testing.assert_array_equal(
            open_index(index, fetcher)["contiguous/matrix"][195:], h5["contiguous/matrix"][195:]
        )

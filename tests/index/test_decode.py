"""Chunk decoding: a zlib-only chunk is inflated only as far as a selection reaches."""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np

from neuropil.index._decode import ArrayMeta, decode_chunk


def _meta(filters: list[dict[str, Any]], compressor: dict[str, Any] | None) -> ArrayMeta:
    doc = {
        "shape": [100, 6],
        "chunks": [40, 6],
        "dtype": "<i2",
        "fill_value": 0,
        "filters": filters,
        "compressor": compressor,
    }
    return ArrayMeta.parse(doc, key="x/.zarray")


CHUNK = np.arange(240, dtype="<i2").reshape(40, 6) * 7


def test_a_zlib_chunk_is_inflated_only_up_to_the_rows_asked() -> None:
    meta = _meta([], {"id": "zlib", "level": 4})
    payload = numcodecs.Zlib(4).encode(CHUNK.tobytes())
    np.testing.assert_array_equal(decode_chunk(meta, payload), CHUNK)
    part = decode_chunk(meta, payload, rows=9)
    assert part.shape == (9, 6)
    np.testing.assert_array_equal(part, CHUNK[:9])
    np.testing.assert_array_equal(decode_chunk(meta, payload, rows=40), CHUNK)


def test_other_pipelines_decode_the_whole_chunk() -> None:
    shuffle = numcodecs.Shuffle(elementsize=2)
    meta = _meta([shuffle.get_config()], {"id": "zlib", "level": 4})
    payload = numcodecs.Zlib(4).encode(shuffle.encode(CHUNK.tobytes()))
    got = decode_chunk(meta, payload, rows=9)
    assert got.shape == (40, 6)  # shuffle spreads every element over the whole chunk
    np.testing.assert_array_equal(got, CHUNK)


def test_a_short_chunk_is_padded_with_the_fill_value() -> None:
    meta = _meta([], {"id": "zlib", "level": 1})
    payload = numcodecs.Zlib(1).encode(CHUNK[:5].tobytes())
    got = decode_chunk(meta, payload, rows=8)
    np.testing.assert_array_equal(got[:5], CHUNK[:5])
    assert got.shape == (8, 6) and not got[5:].any()

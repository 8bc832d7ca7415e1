"""A chunk that claims to decode to more than its shape holds is refused, not inflated."""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
import pytest

from neuropil.errors import CorruptHdf5
from neuropil.index._bounds import decode_bounded
from neuropil.index._decode import ArrayMeta, decode_chunk

CHUNK = np.arange(240, dtype="<i2").reshape(40, 6)
#: What a small chunk must never turn into: 64 MB of zeros compress to about 64 kB.
BOMB = np.zeros(64 << 20, dtype="u1").tobytes()


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


@pytest.mark.parametrize(
    "codec",
    [numcodecs.Zlib(4), numcodecs.Blosc("lz4"), numcodecs.Zstd(3)],
    ids=lambda c: str(c.codec_id),
)
def test_honest_chunks_decode_and_bombs_are_refused(codec: Any) -> None:
    meta = _meta([], codec.get_config())
    np.testing.assert_array_equal(decode_chunk(meta, codec.encode(CHUNK.tobytes())), CHUNK)
    bomb = codec.encode(BOMB)
    assert len(bomb) < 1 << 20
    with pytest.raises(CorruptHdf5, match="the 544 bytes its shape holds"):
        decode_chunk(meta, bomb)


def test_shuffled_chunks_are_bounded_at_their_compressor() -> None:
    shuffle = numcodecs.Shuffle(elementsize=2)
    meta = _meta([shuffle.get_config()], {"id": "zlib", "level": 4})
    payload = numcodecs.Zlib(4).encode(shuffle.encode(CHUNK.tobytes()))
    np.testing.assert_array_equal(decode_chunk(meta, payload), CHUNK)
    with pytest.raises(CorruptHdf5):
        decode_chunk(meta, numcodecs.Zlib(4).encode(BOMB))


def test_damaged_streams_are_errors_that_say_so() -> None:
    zlib = numcodecs.Zlib(4)
    whole = zlib.encode(CHUNK.tobytes())
    with pytest.raises(CorruptHdf5, match="truncated"):
        decode_bounded(zlib, whole[: len(whole) // 2], 1000)
    with pytest.raises(CorruptHdf5, match="cannot be inflated"):
        decode_bounded(zlib, b"not zlib at all", 1000)
    with pytest.raises(CorruptHdf5, match="does not announce its size"):
        decode_bounded(numcodecs.Zstd(), b"\x28\xb5\x2f\xfd\x00", 1000)  # no content size

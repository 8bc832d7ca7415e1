"""HDF5 filter pipelines as numcodecs codec configs (the ``filters`` of a ``.zarray``).

HDF5 applies a dataset's filters in pipeline order when writing a chunk; Zarr v2 applies
``filters`` in list order when encoding and in reverse when decoding. So the pipeline maps
one to one, in order. (LINDI always puts shuffle first; we keep the file's order because a
pipeline such as deflate-then-shuffle, however odd, would otherwise decode wrongly.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from neuropil.errors import UnsupportedHdf5

_BLOSC_COMPRESSORS = ("blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd")

# Registered HDF5 filter ids (https://portal.hdfgroup.org/documentation/hdf5-docs/registered_filter_plugins.html)
# that numcodecs cannot decode byte-compatibly, named so the error says what was found.
_UNSUPPORTED = {
    h5py.h5z.FILTER_SZIP: "szip",
    h5py.h5z.FILTER_NBIT: "nbit",
    h5py.h5z.FILTER_SCALEOFFSET: "scaleoffset",
    32000: "lzf",
    32004: "lz4",  # HDF5's lz4 filter frames blocks differently from numcodecs' LZ4
    32008: "bitshuffle",
    32026: "blosc2",
}


@dataclass(frozen=True)
class Hdf5Filter:
    """One stage of a dataset's filter pipeline, as ``H5Pget_filter`` reports it."""

    code: int
    flags: int
    values: tuple[int, ...]
    name: str


def dataset_filters(dcpl: h5py.h5p.PropDCID) -> list[Hdf5Filter]:
    """The filter pipeline of a dataset creation property list, in pipeline order."""
    stages = []
    for i in range(dcpl.get_nfilters()):
        code, flags, values, name = dcpl.get_filter(i)
        stages.append(
            Hdf5Filter(int(code), int(flags), tuple(values), name.decode("ascii", "replace"))
        )
    return stages


def codec_configs(
    stages: list[Hdf5Filter], dtype: np.dtype[Any], *, dataset: str
) -> list[dict[str, Any]]:
    """numcodecs configs equivalent to ``stages``; raises for a filter we cannot express."""
    return [_codec_config(stage, dtype, dataset=dataset) for stage in stages]


def _codec_config(stage: Hdf5Filter, dtype: np.dtype[Any], *, dataset: str) -> dict[str, Any]:
    code = stage.code
    if code == h5py.h5z.FILTER_DEFLATE:
        # HDF5's deflate writes zlib streams (with header), which numcodecs' zlib reads.
        return {"id": "zlib", "level": stage.values[0] if stage.values else 6}
    if code == h5py.h5z.FILTER_SHUFFLE:
        # The element size is the dataset's; HDF5 records it in values[0] at creation.
        return {"id": "shuffle", "elementsize": stage.values[0] if stage.values else dtype.itemsize}
    if code == h5py.h5z.FILTER_FLETCHER32:
        return {"id": "fletcher32"}
    if code == 32001:
        return _blosc_config(stage)
    if code == 32015:
        return {"id": "zstd", "level": stage.values[0] if stage.values else 0, "checksum": False}
    name = _UNSUPPORTED.get(code, stage.name or "unknown")
    raise UnsupportedHdf5(
        f"dataset {dataset} uses the HDF5 filter {name!r} (id {code}), which the index cannot "
        "express: only deflate/gzip, shuffle, fletcher32, blosc and zstd are supported"
    )


def _blosc_config(stage: Hdf5Filter) -> dict[str, Any]:
    # hdf5-blosc cd_values: version, format, typesize, chunk bytes, [clevel, shuffle, compressor].
    # Only decoding matters for refs (Blosc frames describe themselves); the rest is used
    # when a chunk has to be re-encoded, so defaults mirror hdf5-blosc's.
    values = stage.values
    clevel = values[4] if len(values) > 4 else 5
    shuffle = values[5] if len(values) > 5 else 1
    compressor = values[6] if len(values) > 6 else 0
    cname = _BLOSC_COMPRESSORS[compressor] if compressor < len(_BLOSC_COMPRESSORS) else "blosclz"
    return {"id": "blosc", "cname": cname, "clevel": clevel, "shuffle": shuffle, "blocksize": 0}

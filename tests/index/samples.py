"""HDF5 files that exercise every feature the index builder must express."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np

#: Shape and chunks of the many-chunk dataset: 513 x 2 = 1026 chunks, partial edge chunks.
MANY_SHAPE = (4100, 48)
MANY_CHUNKS = (8, 24)
REF = h5py.ref_dtype
VLEN = h5py.string_dtype("utf-8")


def write_sample(path: Path) -> Path:
    """One file with every kind of group, link, dataset and attribute we support."""
    with h5py.File(path, "w") as f:
        f.attrs["object_id"] = "root-object-id"
        _chunked(f.create_group("chunked"))
        _contiguous(f.create_group("contiguous"))
        _scalars(f.create_group("scalars"))
        _strings(f.create_group("strings"))
        _empty(f.create_group("empty"))
        _references(f)
        _attributes(f.create_group("attrs"), f)
        _links(f)
        _filter_mask(f.create_group("masked"))
    return path


def _chunked(g: h5py.Group) -> None:
    rng = np.random.default_rng(1)
    walk = np.cumsum(rng.integers(-50, 50, MANY_SHAPE), axis=0)
    data = np.clip(walk, -32768, 32767).astype(np.int16)
    g.create_dataset("int16", data=data, chunks=MANY_CHUNKS, compression="gzip", shuffle=True)
    g.create_dataset(
        "fletcher32",
        data=np.linspace(0, 1, 5000).reshape(100, 50),
        chunks=(30, 20),
        compression="gzip",
        compression_opts=9,
        shuffle=True,
        fletcher32=True,
    )
    g.create_dataset(
        "fletcher_only", data=np.arange(300, dtype="<u4"), chunks=(64,), fletcher32=True
    )
    sparse = g.create_dataset("sparse", shape=(100, 100), chunks=(10, 10), dtype="i4", fillvalue=-7)
    sparse[5:25, 40:45] = 3  # only a few chunks are ever allocated
    nan_fill = g.create_dataset("nan_fill", shape=(50,), chunks=(10,), dtype="f4", fillvalue=np.nan)
    nan_fill[:15] = 1.5
    g.create_dataset(
        "cube", data=np.arange(6000, dtype="f4").reshape(10, 20, 30), chunks=(3, 7, 11)
    )
    g.create_dataset("big_endian", data=np.arange(2000, dtype=">i4"), chunks=(300,), compression=1)
    g.create_dataset("bools", data=np.arange(3000) % 3 == 0, chunks=(1000,))
    g.create_dataset("uint64", data=np.arange(2000, dtype=np.uint64) * 2**40, chunks=(512,))
    g.create_dataset("fixed_strings", data=np.array([b"abc", b"de", b""] * 500), chunks=(100,))


def _contiguous(g: h5py.Group) -> None:
    g.create_dataset("float64", data=np.sin(np.arange(3000.0)))
    g.create_dataset("small", data=np.arange(10, dtype="i8"))
    g.create_dataset("matrix", data=np.arange(40000, dtype="i2").reshape(200, 200))
    g.create_dataset("unwritten", shape=(20,), dtype="f8")  # never allocated: fill value
    g.create_dataset("enum", data=np.array([0, 1, 1, 0], dtype=h5py.enum_dtype({"a": 0, "b": 1})))
    space = h5py.h5s.create_simple((6,))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    h5py.h5d.create(g.id, b"compact", h5py.h5t.STD_I32LE, space, dcpl=dcpl)
    g["compact"][...] = np.arange(6) * 11


def _scalars(g: h5py.Group) -> None:
    g["int"] = np.int32(42)
    g["float"] = 2.5
    g["nan"] = np.float64(np.nan)
    g["bool"] = np.bool_(True)
    g["text"] = "a variable-length scalar, µV"
    g["fixed"] = np.bytes_(b"fixed!")
    g.create_dataset("ref", data=g.file["chunked"].ref, dtype=REF)


def _strings(g: h5py.Group) -> None:
    g.create_dataset("vlen", data=["alpha", "béta", "", "NaN"], dtype=VLEN)
    g.create_dataset("vlen_2d", data=[["a", "b", "c"], ["d", "e", "f"]], dtype=VLEN)
    g.create_dataset("vlen_ascii", data=[b"x", b"yz"], dtype=h5py.string_dtype("ascii"))
    g.create_dataset(
        "vlen_chunked", data=[f"row {i}" for i in range(500)], dtype=VLEN, chunks=(64,)
    )
    g.create_dataset("fixed", data=np.array([b"one", b"two", b"three"], dtype="S5"))
    g.create_dataset("fixed_2d", data=np.array([[b"a", b"bb"], [b"ccc", b"d"]], dtype="S3"))
    text = "".join(f'{{"key": "value {i}", "n": {i}}}\n' for i in range(200))
    g.create_dataset("long_text", data=text, dtype=VLEN)


def _empty(g: h5py.Group) -> None:
    g.create_dataset("contiguous", shape=(0,), dtype="f8")
    g.create_dataset("chunked", shape=(0, 5), dtype="i2", chunks=(10, 5), maxshape=(None, 5))
    g.create_dataset("strings", shape=(0,), dtype=VLEN)
    g.create_dataset("unwritten_chunked", shape=(30,), dtype="u1", chunks=(10,), fillvalue=9)


def _references(f: h5py.File) -> None:
    g = f.create_group("refs")
    g.attrs["object_id"] = "refs-object-id"
    targets = [f["chunked"], f["chunked/int16"], f["strings/vlen"], g]
    g.create_dataset("objects", data=[t.ref for t in targets] + [h5py.Reference()], dtype=REF)
    row = np.dtype([("idx", "<i4"), ("weight", "<f8"), ("label", "S6"), ("target", REF)])
    rows = np.array(
        [(i, i / 3, f"r{i}".encode(), targets[i % 4].ref) for i in range(6)]
        + [(9, np.nan, b"", f.ref)],
        dtype=row,
    )
    g.create_dataset("compound", data=rows)
    named = np.dtype([("x", "<f4"), ("name", VLEN)])
    g.create_dataset("compound_text", data=np.array([(1.0, "one"), (2.0, "two")], dtype=named))


def _attributes(g: h5py.Group, f: h5py.File) -> None:
    a = g.attrs
    a["int"] = 7
    a["int8"] = np.int8(-3)
    a["uint64"] = np.uint64(2**63)
    a["float"] = 1.25
    a["nan"] = np.nan
    a["inf"] = np.inf
    a["ninf"] = -np.inf
    a["floats"] = np.array([1.0, np.nan, np.inf, -np.inf])
    a["ints_2d"] = np.arange(6, dtype="i4").reshape(2, 3)
    a["bool"] = True
    a["bools"] = np.array([True, False])
    a["text"] = "some text, µ"
    a["fixed"] = np.bytes_(b"fixed bytes")
    a["fixed_array"] = np.array([b"ab", b"cd"], dtype="S2")
    a["vlen_array"] = np.array(["x", "yy", "zzz"], dtype=VLEN)
    a["ref"] = f["chunked/int16"].ref
    a["refs"] = np.array([f["chunked"].ref, f["strings"].ref], dtype=REF)
    a["empty"] = h5py.Empty("f8")
    d = g.create_dataset("with_attrs", data=np.arange(3))
    d.attrs["unit"] = "volts"
    d.attrs["scale"] = np.float32(0.5)


def _links(f: h5py.File) -> None:
    f["links/to_group"] = h5py.SoftLink("/chunked")
    f["links/to_dataset"] = h5py.SoftLink("/contiguous/float64")
    f["links/hard"] = f["contiguous/small"]  # a second hard link to the same dataset
    f["links/type"] = np.dtype("<i8")  # a committed datatype: holds no data


def _filter_mask(g: h5py.Group) -> None:
    """Chunks written raw with some filters skipped, as HDF5 allows for optional filters."""
    data = np.arange(400, dtype="<i2").reshape(40, 10) * 3
    ds = g.create_dataset(
        "gzip_shuffle", data=data, chunks=(10, 10), compression="gzip", shuffle=True
    )
    special = (np.arange(100, dtype="<i2").reshape(10, 10) - 500).tobytes()
    # Pipeline: shuffle (bit 0), deflate (bit 1). Mask 1 = not shuffled, only deflated.
    ds.id.write_direct_chunk((10, 0), zlib.compress(special), filter_mask=1)
    # Mask 3 = no filter applied at all: the raw bytes are stored.
    ds.id.write_direct_chunk((30, 0), special, filter_mask=3)


def expected_masked() -> np.ndarray:
    """What ``masked/gzip_shuffle`` holds."""
    data = np.arange(400, dtype="<i2").reshape(40, 10) * 3
    special = np.arange(100, dtype="<i2").reshape(10, 10) - 500
    data[10:20] = special
    data[30:40] = special
    return data

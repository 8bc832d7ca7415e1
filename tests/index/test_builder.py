"""The refs the builder writes: LINDI's format, every chunk, compact, clear errors."""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path
from typing import Any

import h5py
import numcodecs
import numpy as np
import pytest

from neuropil.errors import CorruptHdf5, NotHdf5, UnsupportedHdf5
from neuropil.index import IndexOptions, build_index, dumps_index, open_index, write_index
from neuropil.index import _chunks as chunks_module
from neuropil.index._chunks import stored_chunks, stored_chunks_slow
from neuropil.index._format import inline_bytes
from neuropil.index._indexed_file import SourceFile
from tests.index.conftest import SAMPLE_URL
from tests.index.samples import MANY_CHUNKS, MANY_SHAPE


def test_top_level_shape(sample_index: dict[str, Any]) -> None:
    assert set(sample_index) == {"version", "templates", "refs"}
    assert sample_index["version"] == 1
    assert sample_index["templates"] == {"u1": SAMPLE_URL}
    assert sample_index["refs"][".zgroup"] == {"zarr_format": 2}
    assert sample_index["refs"][".zattrs"] == {"object_id": "root-object-id"}


def test_every_chunk_is_referenced(sample_path: Path, sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    chunk_refs = {k: v for k, v in refs.items() if k.startswith("chunked/int16/") and "/." not in k}
    assert len(chunk_refs) == 513 * 2 > 1000
    with h5py.File(sample_path) as h5:
        dsid = h5["chunked/int16"].id
        for i in range(dsid.get_num_chunks()):
            info = dsid.get_chunk_info(i)
            key = "chunked/int16/" + ".".join(
                str(o // c) for o, c in zip(info.chunk_offset, MANY_CHUNKS, strict=True)
            )
            assert chunk_refs[key] == ["{{u1}}", info.byte_offset, info.size]
    assert not any("_EXTERNAL_ARRAY_LINK" in json.dumps(v) for v in refs.values())


def test_chunked_zarray_maps_filters_in_pipeline_order(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    assert refs["chunked/int16/.zarray"] == {
        "chunks": list(MANY_CHUNKS),
        "compressor": None,
        "dtype": "<i2",
        "fill_value": 0,
        "filters": [{"id": "shuffle", "elementsize": 2}, {"id": "zlib", "level": 4}],
        "order": "C",
        "shape": list(MANY_SHAPE),
        "zarr_format": 2,
    }
    assert refs["chunked/fletcher32/.zarray"]["filters"] == [
        {"id": "shuffle", "elementsize": 8},
        {"id": "zlib", "level": 9},
        {"id": "fletcher32"},
    ]
    assert refs["chunked/big_endian/.zarray"]["dtype"] == ">i4"
    assert refs["chunked/nan_fill/.zarray"]["fill_value"] == "NaN"
    assert refs["chunked/sparse/.zarray"]["fill_value"] == -7


def test_contiguous_dataset_is_one_ref(sample_path: Path, sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    with h5py.File(sample_path) as h5:
        dsid = h5["contiguous/float64"].id
        assert refs["contiguous/float64/0"] == ["{{u1}}", dsid.get_offset(), 3000 * 8]
    assert refs["contiguous/float64/.zarray"]["chunks"] == [3000]
    assert "contiguous/unwritten/0" not in refs  # never written: readers use the fill value


def test_small_data_is_inlined(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    small = refs["contiguous/small/0"]
    assert base64.b64decode(small.removeprefix("base64:")) == np.arange(10, dtype="i8").tobytes()
    assert isinstance(refs["contiguous/compact/0"], str)  # compact data live in the header
    assert isinstance(refs["chunked/bools/0"], str)  # tiny compressed chunks


def test_scalars_follow_lindi(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    assert refs["scalars/int/.zattrs"] == {"_SCALAR": True}
    assert refs["scalars/int/.zarray"]["shape"] == [1]
    text_meta = refs["scalars/text/.zarray"]
    assert text_meta["dtype"] == "|O" and text_meta["filters"][0]["id"] == "json2"
    assert json.loads(refs["scalars/text/0"]) == ["a variable-length scalar, \u00b5V", "|O", [1]]


def test_strings_and_compounds_are_inline_json(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    assert _json_chunk(refs, "strings/vlen")[:4] == ["alpha", "b\u00e9ta", "", "NaN"]
    assert refs["refs/compound/.zattrs"]["_COMPOUND_DTYPE"] == [
        ["idx", "int32"],
        ["weight", "float64"],
        ["label", "|S6"],
        ["target", "<REFERENCE>"],
    ]
    rows = _json_chunk(refs, "refs/compound")
    assert rows[0][3] == {
        "_REFERENCE": {
            "object_id": None,
            "path": "/chunked",
            "source": ".",
            "source_object_id": "root-object-id",
        }
    }


def test_long_json_is_deflated(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    assert refs["strings/long_text/.zarray"]["compressor"] == {"id": "zlib", "level": 9}
    assert refs["strings/long_text/0"].startswith("base64:")
    assert _json_chunk(refs, "strings/long_text")[0].startswith('{"key": "value 0"')


def _json_chunk(refs: dict[str, Any], path: str) -> Any:
    """The JSON values of a one-chunk inline dataset, decoded by hand."""
    payload = inline_bytes(refs[f"{path}/0"])
    if refs[f"{path}/.zarray"]["compressor"]:
        payload = zlib.decompress(payload)
    return json.loads(payload)


def test_attributes_follow_lindi(sample_index: dict[str, Any]) -> None:
    attrs = sample_index["refs"]["attrs/.zattrs"]
    assert attrs["nan"] == "NaN" and attrs["inf"] == "Infinity" and attrs["ninf"] == "-Infinity"
    assert attrs["floats"] == [1.0, "NaN", "Infinity", "-Infinity"]
    assert attrs["uint64"] == 2**63
    assert attrs["fixed"] == "fixed bytes" and attrs["fixed_array"] == ["ab", "cd"]
    assert attrs["ref"]["_REFERENCE"]["path"] == "/chunked/int16"
    assert [r["_REFERENCE"]["path"] for r in attrs["refs"]] == ["/chunked", "/strings"]
    assert attrs["empty"] is None


def test_links(sample_index: dict[str, Any]) -> None:
    refs = sample_index["refs"]
    assert refs["links/to_group/.zattrs"] == {"_SOFT_LINK": {"path": "/chunked"}}
    assert refs["links/to_dataset/.zgroup"] == {"zarr_format": 2}
    assert "links/to_dataset/.zarray" not in refs
    assert refs["links/hard/0"] == refs["contiguous/small/0"]
    assert not any(key.startswith("links/type") for key in refs)


def test_masked_chunks_are_reencoded_inline(sample_path: Path) -> None:
    refs = build_index(sample_path, url="u", options=IndexOptions(inline_dataset_bytes=0))["refs"]
    assert isinstance(refs["masked/gzip_shuffle/0.0"], list)  # an ordinary chunk
    for key in ("masked/gzip_shuffle/1.0", "masked/gzip_shuffle/3.0"):
        payload = base64.b64decode(refs[key].removeprefix("base64:"))
        data = numcodecs.Shuffle(2).decode(numcodecs.Zlib().decode(payload))
        expected = np.arange(100, dtype="<i2") - 500
        np.testing.assert_array_equal(np.frombuffer(data, "<i2"), expected)


def test_slow_chunk_listing_agrees(sample_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with h5py.File(sample_path) as h5:
        dsid = h5["chunked/int16"].id
        fast = stored_chunks(dsid, MANY_CHUNKS)
        assert sorted(stored_chunks_slow(dsid, MANY_CHUNKS), key=_start) == sorted(fast, key=_start)
    small = _tiny_file()
    fast = build_index(small, url="u")
    asked: list[object] = []
    monkeypatch.setattr(chunks_module, "chunk_iterator", lambda dsid: asked.append(dsid))
    assert build_index(small, url="u") == fast
    assert asked  # the fast path was refused, so the slow one produced the refs


def _start(chunk: chunks_module.StoredChunk) -> int:
    return chunk.offset


def _tiny_file(**create: Any) -> io.BytesIO:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_dataset("x", data=np.arange(5000, dtype="i4"), chunks=(100,), **create)
    buffer.seek(0)
    return buffer


def test_file_objects_and_user_blocks(tmp_path: Path) -> None:
    path = tmp_path / "userblock.h5"
    with h5py.File(path, "w", userblock_size=512) as f:
        f["x"] = np.arange(3000.0)
    with open(path, "rb") as handle:
        index = build_index(handle, url="u")
    assert index["refs"]["x/0"][1] > 512
    fetched = open_index(index, lambda url, offset, size: path.read_bytes()[offset : offset + size])
    np.testing.assert_array_equal(fetched["x"][()], np.arange(3000.0))


def test_write_index_is_compact_and_sorted(sample_index: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "sample.lindi.json"
    write_index(sample_index, path)
    text = path.read_text()
    assert "\n" not in text and '", "' not in text
    assert json.loads(text) == sample_index
    assert text == dumps_index(json.loads(text))
    keys = list(json.loads(text)["refs"])
    assert keys == sorted(keys)


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"hello world\n" * 100, b"PK\x03\x04" + bytes(2000)])
def test_not_hdf5(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "file.nwb"
    path.write_bytes(content)
    with pytest.raises(NotHdf5, match="not an HDF5 file"):
        build_index(path, url="u")


@pytest.mark.parametrize("keep", [0.5, 0.999])
def test_truncated_hdf5(keep: float, sample_path: Path) -> None:
    data = sample_path.read_bytes()
    with pytest.raises(CorruptHdf5, match=r"truncated|damaged"):
        build_index(io.BytesIO(data[: int(len(data) * keep)]), url="u")


def test_refs_past_the_end_are_refused() -> None:
    src = SourceFile(io.BytesIO(b"\x89HDF\r\n\x1a\n" + bytes(100)), name="short.h5")
    src.check_range(0, 108)
    with pytest.raises(CorruptHdf5, match=r"short\.h5 is truncated"):
        src.check_range(100, 9)


def test_external_link(tmp_path: Path) -> None:
    path = tmp_path / "links.h5"
    with h5py.File(path, "w") as f:
        f["group/outside"] = h5py.ExternalLink("other.h5", "/data")
    with pytest.raises(UnsupportedHdf5, match=r"/group/outside is an external link .*other\.h5"):
        build_index(path, url="u")


@pytest.mark.parametrize(
    ("create", "name"),
    [({"compression": "lzf"}, "lzf"), ({"scaleoffset": 2}, "scaleoffset")],
)
def test_unsupported_filter_names_dataset_and_filter(create: dict[str, Any], name: str) -> None:
    with pytest.raises(UnsupportedHdf5, match=f"dataset /x uses the HDF5 filter '{name}'"):
        build_index(_tiny_file(**create), url="u")


def test_hard_link_cycle(tmp_path: Path) -> None:
    path = tmp_path / "cycle.h5"
    with h5py.File(path, "w") as f:
        f["a/b/c"] = np.arange(3)
        f["a/b/up"] = f["a"]
    with pytest.raises(UnsupportedHdf5, match="/a/b/up is a hard link to one of its own parent"):
        build_index(path, url="u")


def test_unsupported_values(tmp_path: Path) -> None:
    cases = {
        "region": lambda f: f.attrs.create("r", f["d"].regionref[0:2]),
        "complex": lambda f: f.create_dataset("c", data=np.ones(3, dtype="c8")),
        "reserved string": lambda f: f.attrs.create("s", "Infinity"),
        "vlen ints": lambda f: f.create_dataset("v", (2,), dtype=h5py.vlen_dtype("i4")),
    }
    for label, make in cases.items():
        path = tmp_path / f"{label}.h5"
        with h5py.File(path, "w") as f:
            f["d"] = np.arange(4)
            make(f)
        with pytest.raises(UnsupportedHdf5):
            build_index(path, url="u")

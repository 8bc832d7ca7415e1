"""The h5py-compatible reader: navigation, links, references, values, selections, errors.

Most checks compare with h5py reading the same file, so "what h5py does" is the spec.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neuropil.errors import InvalidIndex
from neuropil.index import IndexDataset, IndexFile, IndexGroup, IndexReference, open_index
from tests.index.compare import FileFetcher, refs_only


@pytest.fixture
def f(sample_index: dict[str, Any], fetcher: FileFetcher) -> IndexFile:
    return open_index(sample_index, fetcher)


@pytest.fixture
def h5(sample_path: Path) -> Iterator[h5py.File]:
    with h5py.File(sample_path) as file:
        yield file


def test_objects_are_h5py_objects(f: IndexFile) -> None:
    assert isinstance(f, h5py.File) and isinstance(f, h5py.Group)
    assert isinstance(f["chunked"], h5py.Group) and isinstance(f["chunked"], IndexGroup)
    assert isinstance(f["chunked/int16"], h5py.Dataset)
    assert isinstance(f["chunked/int16"], IndexDataset)
    assert isinstance(f["attrs"].attrs["ref"], h5py.Reference)
    assert f.mode == "r" and bool(f) and f.name == "/" and f.file is f and f.parent == f


def test_navigation_matches_h5py(f: IndexFile, h5: h5py.File) -> None:
    for path in ["chunked", "/chunked/int16", "links/to_group/int16", "links/to_group"]:
        assert f[path].name == h5[path].name
        assert f[path].parent.name == h5[path].parent.name
    assert f["chunked"]["int16"].name == "/chunked/int16"
    assert f["chunked"]["/strings"].name == "/strings"  # absolute from a subgroup
    assert "chunked" in f and "nothing" not in f and "chunked/int16" in f and 3 not in f
    assert list(f.keys()) == list(h5.keys()) and len(f) == len(h5)
    assert [k for k, _ in f["chunked"].items()] == list(h5["chunked"])
    assert [v.name for v in f["scalars"].values()] == [v.name for v in h5["scalars"].values()]
    assert f.get("missing") is None and f.get("missing", 5) == 5
    with pytest.raises(KeyError, match="no object named /missing"):
        f["missing"]
    with pytest.raises(KeyError, match="not a group"):
        f["chunked/int16/x"]
    with pytest.raises(TypeError):
        f[1.5]


def test_links_and_ids(f: IndexFile, h5: h5py.File) -> None:
    link = f.get("links/to_group", getlink=True)
    assert isinstance(link, h5py.SoftLink) and link.path == "/chunked"
    assert isinstance(f.get("chunked", getlink=True), h5py.HardLink)
    assert f.get("links/nothing", getlink=True) is None
    assert f.get("links/to_dataset", getclass=True) is h5py.Dataset
    assert f.get("links/to_group", getclass=True, getlink=True) is h5py.SoftLink
    assert f["links/to_group"].id == f["chunked"].id  # one object, two paths
    assert f["links/to_group"] == f["chunked"] and f["chunked"] != f["strings"]
    assert hash(f["links/to_dataset"].id) == hash(f["contiguous/float64"].id)
    np.testing.assert_array_equal(f["links/to_dataset"][:3], np.sin(np.arange(3.0)))


def test_visits_match_h5py(f: IndexFile, h5: h5py.File) -> None:
    def _collect(group: Any) -> list[str]:
        names: list[str] = []
        group.visit(names.append)
        return names

    # h5py visits each object once; committed datatypes are not indexed.
    expected = [n for n in _collect(h5) if not isinstance(h5[n], h5py.Datatype)]
    mine = _collect(f)
    # The index cannot tell a second hard link from an object of its own.
    assert [n for n in mine if n != "links/hard"] == expected
    links: list[str] = []
    f.visit_links(links.append)
    expected_links: list[str] = []
    h5.visit_links(expected_links.append)
    assert links == [n for n in expected_links if n != "links/type"]
    found = f.visititems(lambda name, obj: name if name.endswith("int16") else None)
    assert found == "chunked/int16"


def test_references_dereference(f: IndexFile, h5: h5py.File) -> None:
    ref = f["attrs"].attrs["ref"]
    assert ref == IndexReference("/chunked/int16", None) and bool(ref)
    assert f[ref].shape == (4100, 48) and f["strings"][ref].name == "/chunked/int16"
    objects = f["refs/objects"][:]
    assert objects.dtype == object and objects.shape == (5,)
    assert [f[r].name for r in objects[:4]] == [
        "/chunked",
        "/chunked/int16",
        "/strings/vlen",
        "/refs",
    ]
    assert objects[3].object_id == "refs-object-id"
    assert not objects[4]  # a null reference, as h5py's is falsy
    with pytest.raises(ValueError, match="null"):
        f[objects[4]]
    assert f["refs"].ref == IndexReference("/refs", "refs-object-id")
    assert f[f["refs"].ref].name == "/refs"
    with pytest.raises(TypeError):
        f[h5["refs"].ref]  # a reference into another file
    assert h5py.check_ref_dtype(f["refs/objects"].dtype) is h5py.Reference


def test_strings_are_bytes_as_in_h5py(f: IndexFile, h5: h5py.File) -> None:
    for path in ["strings/vlen", "strings/vlen_ascii", "scalars/text", "strings/vlen_2d"]:
        assert refs_only(f[path][()], h5) == refs_only(h5[path][()], h5), path
        assert refs_only(f[path].asstr()[()], h5) == refs_only(h5[path].asstr()[()], h5), path
        assert h5py.check_string_dtype(f[path].dtype) == h5py.check_string_dtype(h5[path].dtype)
    assert f["strings/vlen"][1] == "b\u00e9ta".encode()
    assert f["scalars/fixed"][()] == b"fixed!"
    assert f["strings/fixed"][:].dtype == np.dtype("S5")
    assert f["attrs"].attrs["text"] == "some text, \u00b5"  # attributes are str in h5py 3
    assert f["strings/vlen"].astype("T")[:2].tolist() == ["alpha", "b\u00e9ta"]


def test_scalars(f: IndexFile, h5: h5py.File) -> None:
    scalar = f["scalars/int"]
    assert scalar.shape == () and scalar.ndim == 0 and scalar.size == 1 and scalar.chunks is None
    value = scalar[()]
    assert value == 42 and type(value) is type(h5["scalars/int"][()])
    whole = scalar[...]
    assert isinstance(whole, np.ndarray) and whole.shape == () and whole == 42
    assert np.isnan(f["scalars/nan"][()]) and f["scalars/bool"][()] is np.True_
    assert np.asarray(scalar).shape == ()
    with pytest.raises(ValueError):
        scalar[0]
    with pytest.raises(TypeError):
        len(scalar)
    with pytest.raises(TypeError):
        iter(scalar).__next__()


def test_selections_match_h5py(f: IndexFile, h5: h5py.File) -> None:
    cube, direct = f["chunked/cube"], h5["chunked/cube"]
    expected = direct[()]
    basic: list[Any] = [
        np.s_[2, 5:9, -3:],
        np.s_[...],
        np.s_[..., 4],
        np.s_[-1, -1, -1],
        np.s_[3:3],
        np.s_[2, 3],
        np.s_[1:9:3, 4:17:5, 29],
    ]
    for sel in basic:  # h5py and numpy agree on these
        np.testing.assert_array_equal(cube[sel], direct[sel], err_msg=str(sel))
        assert np.shape(cube[sel]) == np.shape(direct[sel]), sel
    # Negative steps: numpy's meaning (h5py refuses them).
    for sel in [np.s_[::-1], np.s_[1:9:3, ::-2, 5], np.s_[9:2:-3, 1::7]]:
        np.testing.assert_array_equal(cube[sel], expected[sel], err_msg=str(sel))
    # One index list (or boolean vector) keeps its axis in place, as in h5py.
    fancy: list[Any] = [
        np.s_[[0, 4, 9], 2:5],
        np.s_[:, [3, 7, 19], 1],
        np.s_[5, :, np.array([True] * 15 + [False] * 15)],
    ]
    for sel in fancy:
        np.testing.assert_array_equal(cube[sel], direct[sel], err_msg=str(sel))
        assert cube[sel].shape == direct[sel].shape, sel
    assert type(cube[1, 2, 3]) is np.float32
    mask = expected > 3000
    np.testing.assert_array_equal(cube[mask], expected[mask])
    rows = f["chunked/int16"]
    np.testing.assert_array_equal(rows[::997, 5], h5["chunked/int16"][::997, 5])
    with pytest.raises(IndexError):
        cube[10]
    with pytest.raises(IndexError):
        cube[1, 2, 3, 4]
    with pytest.raises(TypeError):
        cube[[1, 2], [3, 4]]  # one index list at most, as in h5py
    with pytest.raises(IndexError):
        cube[..., ...]


def test_a_strided_read_fetches_only_its_chunks(
    sample_index: dict[str, Any], fetcher: FileFetcher
) -> None:
    rows = open_index(sample_index, fetcher)["chunked/int16"]  # chunks of 8 x 24
    rows[::800, 0]  # 6 rows, each in its own chunk of the first column
    assert fetcher.requests == 6


def test_compound(f: IndexFile, h5: h5py.File) -> None:
    ds, direct = f["refs/compound"], h5["refs/compound"]
    assert ds.dtype.names == direct.dtype.names
    assert h5py.check_ref_dtype(ds.dtype["target"]) is h5py.Reference
    rows = ds[:]
    assert rows["idx"].tolist() == [0, 1, 2, 3, 4, 5, 9]
    assert rows["label"][1] == b"r1" and np.isnan(rows["weight"][-1])
    assert f[rows["target"][-1]].name == "/"
    assert ds[2:4]["idx"].tolist() == [2, 3]
    assert ds["idx"].tolist() == direct["idx"].tolist()
    assert ds["weight", 1:3].tolist() == direct["weight", 1:3].tolist()
    assert ds.fields(["idx", "label"])[:2].tolist() == direct.fields(["idx", "label"])[:2].tolist()
    assert isinstance(ds[0], np.void)
    text = f["refs/compound_text"][:]
    assert text["name"].tolist() == [b"one", b"two"] == h5["refs/compound_text"]["name"].tolist()
    with pytest.raises(ValueError, match="compound"):
        f["chunked/cube"]["x"]


def test_attribute_values(f: IndexFile, h5: h5py.File) -> None:
    attrs, direct = f["attrs"].attrs, h5["attrs"].attrs
    assert (
        sorted(attrs) == sorted(direct)
        and "int" in attrs
        and "_SCALAR" not in f["scalars/int"].attrs
    )
    assert attrs["int"] == 7 and isinstance(attrs["int"], np.integer)
    assert isinstance(attrs["float"], np.floating) and np.isnan(attrs["nan"])
    assert attrs["ninf"] == -np.inf and attrs["uint64"] == 2**63
    np.testing.assert_array_equal(attrs["ints_2d"], direct["ints_2d"])
    np.testing.assert_array_equal(attrs["bools"], direct["bools"])
    assert attrs["vlen_array"].dtype == object and list(attrs["vlen_array"]) == ["x", "yy", "zzz"]
    assert [f[r].name for r in attrs["refs"]] == ["/chunked", "/strings"]
    assert attrs.get("nothing") is None and len(attrs) == len(direct)
    with pytest.raises(KeyError, match="no attribute"):
        attrs["nothing"]
    with pytest.raises(OSError, match="read-only"):
        attrs["new"] = 1  # type: ignore[index]


def test_dataset_properties(f: IndexFile, h5: h5py.File) -> None:
    for path in ["chunked/int16", "chunked/fletcher32", "contiguous/float64", "empty/chunked"]:
        mine, direct = f[path], h5[path]
        for prop in ["shape", "dtype", "chunks", "maxshape", "compression", "shuffle", "size"]:
            assert getattr(mine, prop) == getattr(direct, prop), (path, prop)
        assert mine.fletcher32 == direct.fletcher32 and mine.nbytes == direct.nbytes
        assert mine.fillvalue == direct.fillvalue
    ds = f["chunked/cube"]
    assert len(ds) == 10 and ds.len() == 10
    assert np.asarray(ds).sum() == np.arange(6000, dtype="f4").sum()
    assert [row.shape for row in ds] == [(20, 30)] * 10
    out = np.zeros((2, 20, 30), dtype="f4")
    ds.read_direct(out, np.s_[3:5])
    np.testing.assert_array_equal(out, h5["chunked/cube"][3:5])
    assert ds.astype("f8")[0, 0, :3].dtype == np.float64
    assert "cube" in repr(ds) and "chunked" in repr(f["chunked"])


def test_writing_is_refused(f: IndexFile) -> None:
    with pytest.raises(ValueError, match="read-only"):
        f.create_group("x")
    with pytest.raises(ValueError, match="read-only"):
        f["x"] = 1
    with pytest.raises(ValueError, match="read-only"):
        del f["chunked"]


def test_closed_file(sample_index: dict[str, Any], fetcher: FileFetcher) -> None:
    with open_index(sample_index, fetcher) as f:
        ds = f["chunked/int16"]
        ds[0]
    assert not f and not ds and "closed" in repr(f)
    with pytest.raises(ValueError, match="closed"):
        ds[1]


def test_inline_data_need_no_fetch(sample_index: dict[str, Any], tmp_path: Path) -> None:
    # The index's URL names a file that is not there: inline data are read all the same.
    f = open_index(dict(sample_index, templates={"u1": str(tmp_path / "gone.h5")}))
    assert f["contiguous/small"][3] == 3
    with pytest.raises(InvalidIndex, match="cannot be read"):
        f["chunked/int16"][0]


def test_malformed_indexes() -> None:
    with pytest.raises(InvalidIndex, match="refs"):
        open_index({"version": 1})
    with pytest.raises(InvalidIndex, match="root group"):
        open_index({"refs": {}})
    refs = {
        ".zgroup": {"zarr_format": 2},
        "x/.zarray": {"shape": [2], "chunks": [2], "dtype": "<i2", "filters": None},
        "x/0": ["{{u9}}", 0, 4],
        "y/.zarray": {"shape": [2]},
        "z/.zarray": {"shape": [2], "chunks": [2], "dtype": "<i2", "filters": None},
        "z/0": {"not": "a ref"},
    }
    f = open_index({"refs": refs, "templates": {"u1": "https://x"}}, lambda *a: b"\0" * 4)
    with pytest.raises(InvalidIndex, match="template"):
        f["x"][:]
    with pytest.raises(InvalidIndex, match=r"y/\.zarray is not a valid"):
        f["y"]
    with pytest.raises(InvalidIndex, match="not a chunk ref"):
        f["z"][:]


def test_h5py_methods_run_on_wrappers(f: IndexFile, h5: h5py.File) -> None:
    """hdmf wraps string datasets in ``StrDataset`` (an ``h5py.Dataset`` subclass), whose
    inherited ``__array__`` calls into ``id``: that path must work too."""
    from hdmf.utils import StrDataset

    for path in ["strings/vlen", "strings/vlen_2d"]:
        mine, theirs = StrDataset(f[path], None), StrDataset(h5[path], None)
        assert np.asarray(mine).tolist() == np.asarray(theirs).tolist()
        assert np.asarray(mine[1]).tolist() == np.asarray(theirs[1]).tolist()
    assert f["chunked/int16"].id.get_storage_size() == h5["chunked/int16"].id.get_storage_size()

"""Interoperability with LINDI both ways: LINDI (and pynwb through it) reads our indexes,
and our reader reads the indexes LINDI writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from neuropil.errors import InvalidIndex
from neuropil.index import build_index, dumps_index, open_index
from tests.index import samples
from tests.index.compare import FileFetcher, assert_same_file, equal, normalize

lindi = pytest.importorskip("lindi")
pynwb = pytest.importorskip("pynwb")

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

#: What lindi 0.4.6's reader cannot read, with the reason; everything else must match h5py.
LINDI_CANNOT = {
    "attrs@empty": "a null attribute (LINDI's builder refuses these files)",
    "attrs@refs": "an attribute holding an array of references",
    "attrs@bools": "it reads a list of booleans as integers",
    "chunked/fletcher32": "it zero-pads compressed chunks, which breaks the trailing checksum",
    "scalars/ref": "it returns a scalar reference as the raw dict",
    "refs/compound_text": "it takes every object field of a compound for a reference",
}


def _for_lindi(index: dict[str, Any]) -> Any:
    """LINDI reads refs whose URL is a local path; it is given the JSON as it would load it."""
    return lindi.LindiH5pyFile.from_reference_file_system(json.loads(dumps_index(index)))


def test_pynwb_reads_our_nwb_index_through_lindi(nwb_path: Path) -> None:
    index = build_index(nwb_path, url=str(nwb_path))
    with pynwb.NWBHDF5IO(str(nwb_path), "r") as direct_io:
        expected = direct_io.read()
        got = pynwb.NWBHDF5IO(file=_for_lindi(index), mode="r").read()
        assert got.identifier == expected.identifier
        assert got.session_start_time == expected.session_start_time
        assert got.subject.subject_id == expected.subject.subject_id
        series, direct = (
            got.acquisition["ElectricalSeries"],
            expected.acquisition["ElectricalSeries"],
        )
        np.testing.assert_array_equal(series.data[:], direct.data[:])
        assert series.rate == direct.rate and series.conversion == direct.conversion
        lfp = got.processing["ecephys"]["LFP"]["lfp"]
        np.testing.assert_array_equal(
            lfp.data[:], expected.processing["ecephys"]["LFP"]["lfp"].data[:]
        )
        columns = ["location", "x", "y", "z", "filtering"]
        assert got.electrodes.to_dataframe()[columns].equals(
            expected.electrodes.to_dataframe()[columns]
        )
        for unit in range(len(expected.units)):
            np.testing.assert_array_equal(
                got.units.get_unit_spike_times(unit), expected.units.get_unit_spike_times(unit)
            )
        assert list(got.units["quality"][:]) == list(expected.units["quality"][:])


def test_lindi_reads_our_sample_index(sample_path: Path) -> None:
    lf = _for_lindi(build_index(sample_path, url=str(sample_path)))
    checked = 0
    with h5py.File(sample_path) as h5:
        for name in _hard_links(h5):
            obj, mine = h5[name], lf[name]
            for key in obj.attrs:
                if f"{name}@{key}" not in LINDI_CANNOT:
                    assert equal(_lindi_norm(mine.attrs[key], h5), normalize(obj.attrs[key], h5))
            if isinstance(obj, h5py.Dataset) and name not in LINDI_CANNOT:
                _assert_lindi_dataset(obj, mine, h5)
                checked += 1
    assert checked > 35


def _assert_lindi_dataset(ds: h5py.Dataset, mine: Any, h5: h5py.File) -> None:
    if ds.dtype.names is not None:  # LINDI reads compounds field by field only
        for field in ds.dtype.names:
            got = [_lindi_norm(v, h5) for v in mine[field][:]]
            expected = [normalize(v, h5) for v in ds[field]]
            assert equal(got, expected), f"{ds.name}[{field!r}]"
        return
    got, expected = mine[()], ds[()]
    if ds.dtype.kind in "biufS":
        np.testing.assert_array_equal(got, expected, err_msg=ds.name)
    else:
        assert equal(_lindi_norm(got, h5), normalize(expected, h5)), ds.name


def _lindi_norm(value: Any, h5: h5py.File) -> Any:
    if type(value).__name__ == "LindiH5pyReference":
        return ("ref", value._obj["path"])
    if isinstance(value, np.ndarray) and value.dtype == object:
        return [_lindi_norm(v, h5) for v in value.tolist()]
    if isinstance(value, list):
        return [_lindi_norm(v, h5) for v in value]
    return normalize(value, h5)


def _hard_links(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visit_links(names.append)
    return [
        n
        for n in names
        if not isinstance(h5.get(n, getlink=True), h5py.SoftLink)
        and not isinstance(h5[n], h5py.Datatype)
    ]


def _lindi_index(path: Path, *, threshold: int | None = None) -> dict[str, Any]:
    opts = lindi.LindiH5ZarrStoreOpts(num_dataset_chunks_threshold=threshold)
    with lindi.LindiH5ZarrStore.from_file(str(path), url=str(path), opts=opts) as store:
        result: dict[str, Any] = json.loads(json.dumps(store.to_reference_file_system()))
    return result


def test_we_read_lindis_nwb_index(nwb_path: Path) -> None:
    index = _lindi_index(nwb_path)
    with h5py.File(nwb_path) as h5:
        assert assert_same_file(h5, open_index(index), ours=False) > 50


def test_we_read_lindis_index_of_what_lindi_can_index(tmp_path: Path) -> None:
    path = tmp_path / "lindi-friendly.h5"
    with h5py.File(path, "w") as f:  # LINDI's builder refuses scalar references and more
        f.attrs["object_id"] = "root"
        samples._chunked(f.create_group("chunked"))
        samples._contiguous(f.create_group("contiguous"))
        samples._scalars(f.create_group("scalars"))
        del f["scalars/ref"]
        samples._strings(f.create_group("strings"))
        samples._links(f)
    with h5py.File(path) as h5:
        index = _lindi_index(path)
        assert assert_same_file(h5, open_index(index), ours=False) > 30


def test_lindis_external_array_links_are_refused_not_zero_filled(tmp_path: Path) -> None:
    path = tmp_path / "many.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.arange(2000), chunks=(1,))
    f = open_index(_lindi_index(path, threshold=1000), FileFetcher({str(path): path}))
    assert f["x"].shape == (2000,)
    with pytest.raises(InvalidIndex, match="_EXTERNAL_ARRAY_LINK"):
        f["x"][:5]

"""LINDI interoperability on whole NWB files of every family, through ``.lindi.json`` files:
LINDI (and pynwb through it) reads the indexes neuropil writes, and ``neuropil.open`` reads
the ones LINDI writes."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pynwb
import pytest

import neuropil
from neuropil.index import IndexFile, build_index, write_index
from tests.index.compare import assert_same_file
from tests.index.nwb_compare import assert_same_nwb

lindi = pytest.importorskip("lindi")

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

FAMILIES = ["ecephys", "ophys", "icephys", "behavior"]


@pytest.mark.parametrize("family", FAMILIES)
def test_lindi_and_pynwb_read_our_index_file(
    family: str, family_paths: dict[str, Path], tmp_path: Path
) -> None:
    path = family_paths[family]
    index_path = tmp_path / f"{family}.lindi.json"
    write_index(build_index(path, url=str(path)), index_path)
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        expected = io.read()
        via_lindi = lindi.LindiH5pyFile.from_lindi_file(str(index_path))
        got = pynwb.NWBHDF5IO(file=via_lindi, mode="r").read()
        assert set(got.objects) == set(expected.objects)
        compared = 0
        for object_id, obj in expected.objects.items():
            data = getattr(obj, "data", None)
            if isinstance(data, h5py.Dataset) and data.dtype.kind in "iuf":
                mine = got.objects[object_id].data
                np.testing.assert_array_equal(mine[()], data[()], err_msg=obj.name)
                compared += 1
        assert compared >= 3


@pytest.mark.parametrize("family", FAMILIES)
def test_we_read_lindis_index_file(
    family: str, family_paths: dict[str, Path], tmp_path: Path
) -> None:
    path = family_paths[family]
    index_path = tmp_path / f"{family}.lindi.json"
    with lindi.LindiH5pyFile.from_hdf5_file(str(path), url=str(path)) as source:
        source.write_lindi_file(str(index_path))
    with neuropil.open(index_path) as f, h5py.File(path) as h5:
        assert isinstance(f, IndexFile)
        assert assert_same_file(h5, f, ours=False) > 60
    with pynwb.NWBHDF5IO(str(path), "r") as io, neuropil.open(index_path) as f:
        mine = pynwb.NWBHDF5IO(file=f, mode="r").read()
        assert assert_same_nwb(io.read(), mine, exact_text=False) > 60

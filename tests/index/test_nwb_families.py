"""NWB files of every neurodata type family read through their index exactly as h5py and
pynwb read the files themselves."""

from __future__ import annotations

from pathlib import Path

import h5py
import pynwb
import pytest

from neuropil.index import build_index, open_index
from tests.index.compare import assert_same_file
from tests.index.nwb_compare import assert_same_nwb

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

FAMILIES = ["ecephys", "ophys", "icephys", "behavior"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_object_reads_back_identically(family: str, family_paths: dict[str, Path]) -> None:
    path = family_paths[family]
    with h5py.File(path) as h5, open_index(build_index(path, url=str(path))) as idx:
        assert assert_same_file(h5, idx) > 60


@pytest.mark.parametrize("family", FAMILIES)
def test_pynwb_reads_the_same_nwbfile(family: str, family_paths: dict[str, Path]) -> None:
    path = family_paths[family]
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        expected = io.read()
        with pynwb.NWBHDF5IO(file=open_index(build_index(path, url=str(path))), mode="r") as mine:
            assert assert_same_nwb(expected, mine.read()) > 60


def test_what_the_families_exercise(family_paths: dict[str, Path]) -> None:
    """The files do hold what the tests above claim to cover."""
    with h5py.File(family_paths["ophys"]) as f:
        pixel_mask = f["processing/ophys/ImageSegmentation/PixelSegmentation/pixel_mask"]
        assert pixel_mask.dtype.names == ("x", "y", "weight")
        assert isinstance(
            f.get("acquisition/TwoPhotonSeries/imaging_plane", getlink=True), h5py.SoftLink
        )
    with h5py.File(family_paths["icephys"]) as f:
        stimulus = f["general/intracellular_ephys/intracellular_recordings/stimuli/stimulus"]
        assert h5py.check_ref_dtype(stimulus.dtype["timeseries"]) is h5py.Reference
    with h5py.File(family_paths["behavior"]) as f:
        speed = "processing/behavior/BehavioralTimeSeries/speed/timestamps"
        assert isinstance(f.get(speed, getlink=True), h5py.SoftLink)
        assert h5py.check_string_dtype(f["file_create_date"].dtype).encoding == "ascii"
    with h5py.File(family_paths["ecephys"]) as f:
        series = f["acquisition/ElectricalSeries/data"]
        assert series.compression == "gzip" and series.chunks is not None
        assert h5py.check_ref_dtype(f["general/extracellular_ephys/electrodes/group"].dtype)

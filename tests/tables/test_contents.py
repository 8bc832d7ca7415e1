"""What an NWB file holds, from its LINDI index."""

from __future__ import annotations

import json
from pathlib import Path

from neuropil.demo import make_nwb_files
from neuropil.index import build_index
from neuropil.tables import NwbContents, read_contents


def test_contents_of_a_demo_file(tmp_path: Path) -> None:
    path = make_nwb_files(tmp_path)[0]
    contents = read_contents(build_index(path, url="", name="demo"))
    assert contents == NwbContents(
        devices=("probe0",),
        electrode_count=16,
        units_count=8,
        imaging_planes=(),
        acquisition=("ElectricalSeries",),
    )
    assert NwbContents.from_json(json.loads(json.dumps(contents.to_json()))) == contents


def test_contents_of_icephys_and_ophys_groups() -> None:
    group = {"zarr_format": 2}
    refs = {
        ".zgroup": group,
        "general/devices/scope/.zgroup": group,
        "general/devices/amp/.zgroup": group,
        "general/intracellular_ephys/elec0/.zgroup": group,
        # Attributes may be stored as JSON text as well as inline objects.
        "general/intracellular_ephys/elec0/.zattrs": '{"neurodata_type": "IntracellularElectrode"}',
        "general/intracellular_ephys/sweep_table/.zgroup": group,
        "general/intracellular_ephys/sweep_table/.zattrs": {"neurodata_type": "SweepTable"},
        "general/optophysiology/plane0/.zgroup": group,
        "general/optophysiology/plane0/.zattrs": {"neurodata_type": "ImagingPlane"},
        "acquisition/TwoPhotonSeries/.zgroup": group,
        "acquisition/TwoPhotonSeries/data/.zarray": {"shape": [10, 4, 4]},
        "acquisition/TwoPhotonSeries/data/0.0.0": ["{{u}}", 0, 10],
        "acquisition/raw/.zarray": {"shape": [3]},  # a dataset directly in acquisition
        "units/id/.zarray": '{"shape": [5]}',
    }
    contents = read_contents({"refs": refs, "version": 1})
    assert contents.devices == ("amp", "scope")
    assert contents.electrode_count == 1
    assert contents.units_count == 5
    assert contents.imaging_planes == ("plane0",)
    assert contents.acquisition == ("TwoPhotonSeries", "raw")


def test_an_empty_or_odd_index_holds_nothing() -> None:
    assert read_contents({"refs": {}}) == NwbContents()
    assert read_contents({"units/id/.zarray": "not json"}) == NwbContents()

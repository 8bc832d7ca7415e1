"""pynapple reads the demo NWB files straight from the archive through ``neuropil.open_nwb``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import neuropil
from neuropil.client.upload_files import upload_file
from neuropil.demo import make_nwb_files
from neuropil.http.transport import Transport
from neuropil.index import IndexFile, build_index, write_index
from tests.conftest import Archive

nap = pytest.importorskip("pynapple")

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf/pynapple chatter


@pytest.fixture(scope="module")
def demo(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The demo sessions uploaded: download URL -> local file."""
    files = make_nwb_files(tmp_path_factory.mktemp("pynapple"))
    with Transport(archive.api_url, archive.admin_token) as t:
        did = t.post_json("dandisets/", {"name": "pynapple", "metadata": {}})["identifier"]
        urls = {}
        for path in files:
            asset = upload_file(t, dandiset_id=did, path=path, asset_path=path.name)
            urls[f"{archive.api_url}/assets/{asset['asset_id']}/download/"] = path
    yield urls


def _assert_like_local(remote: object, local: Path) -> None:
    expected = nap.NWBFile(str(local))
    got = nap.NWBFile(remote)
    units, local_units = got["units"], expected["units"]
    assert isinstance(units, nap.TsGroup) and len(units) == len(local_units) == 8
    for unit in local_units:
        np.testing.assert_array_equal(units[unit].t, local_units[unit].t)
    np.testing.assert_array_equal(units.metadata["quality"], local_units.metadata["quality"])
    position = got["position"]
    assert isinstance(position, nap.TsdFrame) and position.shape == (100, 2)
    np.testing.assert_array_equal(position.t, expected["position"].t)
    np.testing.assert_array_equal(
        np.asarray(position.values), np.asarray(expected["position"].values)
    )


def test_pynapple_reads_units_and_position_without_an_index(demo: dict[str, Path]) -> None:
    for url, local in demo.items():
        nwbfile = neuropil.open_nwb(url)
        try:
            _assert_like_local(nwbfile, local)
        finally:
            nwbfile.read_io.close()


def test_pynapple_reads_units_and_position_through_an_index(
    demo: dict[str, Path], tmp_path: Path
) -> None:
    for i, (url, local) in enumerate(demo.items()):
        index = tmp_path / f"{i}.lindi.json"
        write_index(build_index(local, url=url), index)
        nwbfile = neuropil.open_nwb(url, index=index)
        try:
            assert isinstance(nwbfile.read_io._file, IndexFile)
            _assert_like_local(nwbfile, local)
            lfp = nap.NWBFile(nwbfile)["lfp"]  # a lazily read series, sliced by pynapple
            np.testing.assert_array_equal(
                np.asarray(lfp[10:20].values),
                np.asarray(nap.NWBFile(str(local))["lfp"][10:20].values),
            )
        finally:
            nwbfile.read_io.close()

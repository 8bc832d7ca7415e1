"""The demo data (`neuropil.demo_data`) and seeding it with `neuropil serve --demo`.

The content tests check what a scientist would look for in each file: place cells that fire
in their fields, a theta peak in the LFP, calcium transients on segmented ROIs, action
potentials above rheobase, and metadata that names the approaches and techniques.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pynwb
import pytest

from neuropil import demo
from neuropil.client.upload_files import upload_file
from neuropil.demo_data import DEMO_SESSIONS, DEMO_SHAPE
from neuropil.http.transport import Transport
from neuropil.nwb.fields import read_fields
from neuropil.nwb.metadata import extract_asset_metadata
from neuropil.nwb.organize import assign_names, entry_from_fields
from tests.support.server import ServerProcess

pytestmark = pytest.mark.filterwarnings("ignore")  # pynwb/hdmf version chatter

EPHYS = "electrophysiological approach"
IMAGING = "microscopy approach; cell population imaging"
BEHAVIOR = "behavioral approach"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """The demo files, organized as seeding uploads them: (root, files in SESSIONS order)."""
    root = tmp_path_factory.mktemp("demo")
    return root, demo.make_demo_files(root)


@pytest.fixture(scope="module")
def files(built: tuple[Path, list[Path]]) -> dict[str, Path]:
    """Session id -> file."""
    return dict(zip(demo.SESSIONS, built[1], strict=True))


@contextmanager
def _read(path: Path) -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pynwb.NWBHDF5IO(str(path), "r") as io:
            yield io.read()


def _ecephys(files: dict[str, Path]) -> list[Path]:
    return [files[s.session_id] for s in DEMO_SESSIONS if s.kind == "ecephys"]


def _only(files: dict[str, Path], kind: str) -> Path:
    (path,) = [files[s.session_id] for s in DEMO_SESSIONS if s.kind == kind]
    return path


# -- the files ----------------------------------------------------------------------------------
def test_files_are_small_and_named_as_dandi_organize_names_them(
    built: tuple[Path, list[Path]],
) -> None:
    root, paths = built
    names = [p.relative_to(root).as_posix() for p in paths]
    assert names == [demo.session_filename(s, organized=True) for s in demo.SESSIONS]
    entries = [entry_from_fields(str(p), read_fields(p)) for p in paths]
    assign_names(entries)
    assert [e.target for e in entries] == names
    assert sum(p.stat().st_size for p in paths) < 8_000_000


def test_the_extracted_metadata_names_approaches_and_techniques(files: dict[str, Path]) -> None:
    expected = {
        "ecephys": ({EPHYS, BEHAVIOR}, "spike sorting technique"),
        "ophys": ({IMAGING}, "two-photon microscopy technique"),
        "icephys": ({EPHYS}, "current clamp technique"),
    }
    for session in DEMO_SESSIONS:
        extraction = extract_asset_metadata(files[session.session_id])
        md = extraction.metadata
        assert extraction.problems == []
        approaches, technique = expected[session.kind]
        assert {a["name"] for a in md["approach"]} == approaches
        assert technique in {t["name"] for t in md["measurementTechnique"]}
        assert md["variableMeasured"]
        (participant,) = md["wasAttributedTo"]
        assert participant["identifier"] == session.subject.subject_id
        assert participant["species"]["name"].startswith(demo.SPECIES)
        assert participant["age"]["value"] == session.subject.age
        assert participant["sex"]["name"] in ("Male", "Female")
        assert md["wasGeneratedBy"][0]["identifier"] == session.session_id
        assert "hippocampus" in md["keywords"]


def test_the_track_sessions_are_deterministic(files: dict[str, Path], tmp_path: Path) -> None:
    again = demo.make_nwb_files(tmp_path, organized=True, shape=DEMO_SHAPE)
    for first, second in zip(_ecephys(files), again, strict=True):
        with _read(first) as a, _read(second) as b:
            np.testing.assert_array_equal(a.units["spike_times"][3], b.units["spike_times"][3])
            lfp_a = a.processing["ecephys"]["LFP"]["lfp"].data[:5000]
            np.testing.assert_array_equal(lfp_a, b.processing["ecephys"]["LFP"]["lfp"].data[:5000])


# -- extracellular: place cells and theta -------------------------------------------------------
def _rate_maps(nwb: Any, bin_size: float = 0.05) -> tuple[np.ndarray, np.ndarray, Any]:
    """(bin centres, occupancy-normalized rate while running: units x bins, units table)."""
    position = nwb.processing["behavior"]["Position"]["position"]
    x = position.data[:, 0]
    t = position.starting_time + np.arange(len(x)) / position.rate
    running = np.abs(np.gradient(x, t)) > 0.05
    edges = np.arange(0.0, 1.0 + bin_size, bin_size)
    occupancy = np.histogram(x[running], edges)[0] / position.rate
    units = nwb.units.to_dataframe()
    maps = []
    for spikes in units["spike_times"]:
        at = np.clip(np.searchsorted(t, spikes), 0, len(t) - 1)
        counts = np.histogram(x[at][running[at]], edges)[0]
        maps.append(counts / np.maximum(occupancy, 1e-9))
    return (edges[:-1] + edges[1:]) / 2, np.array(maps), units


def test_place_cells_fire_in_their_place_fields(files: dict[str, Path]) -> None:
    centers_by_day = []
    for path in _ecephys(files):
        with _read(path) as nwb:
            bins, maps, units = _rate_maps(nwb)
            place = (units["cell_type"] == "pyramidal").to_numpy()
            truth = units["true_field_center"].to_numpy()
            assert place.sum() >= 10 and (~place).sum() >= 2
            peaks = bins[np.argmax(maps, axis=1)]
            assert np.all(np.abs(peaks[place] - truth[place]) <= 0.1), (peaks, truth)
            # A place cell fires mostly in its field; an interneuron fires everywhere.
            in_field = maps[place][np.abs(bins[None, :] - truth[place][:, None]) < 0.15]
            assert in_field.sum() > 0.7 * maps[place].sum()
            spread = maps[~place].max(axis=1) / maps[~place].mean(axis=1)
            assert np.all(spread < 2.5)
            centers_by_day.append(truth)
    np.testing.assert_array_equal(*centers_by_day)  # the same cells on both days


def test_the_lfp_has_a_theta_rhythm(files: dict[str, Path]) -> None:
    with _read(_ecephys(files)[0]) as nwb:
        lfp = nwb.processing["ecephys"]["LFP"]["lfp"]
        fs = lfp.rate
        window = int(4 * fs)
        data = lfp.data[: 15 * window].astype(float) * lfp.conversion
        segments = data[:, 0].reshape(-1, window)
        power = (np.abs(np.fft.rfft(segments * np.hanning(window), axis=1)) ** 2).mean(axis=0)
        freqs = np.fft.rfftfreq(window, 1 / fs)
        band = (freqs > 1) & (freqs < 40)
        peak = freqs[band][np.argmax(power[band])]
        assert 6.5 <= peak <= 10.0
        theta = power[(freqs >= 6) & (freqs <= 10)].mean()
        assert theta > 20 * power[(freqs >= 15) & (freqs <= 30)].mean()
        # The rhythm reverses across the layers: the top and bottom channels are opposite.
        assert np.corrcoef(data[:, 0], data[:, -1])[0, 1] < -0.3
        assert nwb.acquisition["ElectricalSeries"].data.shape == (20_000, 16)


# -- two-photon ---------------------------------------------------------------------------------
def test_the_two_photon_session_has_rois_transients_and_summary_images(
    files: dict[str, Path],
) -> None:
    with _read(_only(files, "ophys")) as nwb:
        movie = nwb.acquisition["TwoPhotonSeries"]
        assert movie.data.shape == (400, 64, 64) and movie.data.dtype == np.uint16
        ophys = nwb.processing["ophys"]
        rois = ophys["ImageSegmentation"]["PlaneSegmentation"]
        masks = rois["image_mask"][:]
        assert masks.shape == (24, 64, 64)
        dff = ophys["DfOverF"]["RoiResponseSeries"].data[:]
        assert dff.shape == (400, 24)
        assert ophys["Fluorescence"]["RoiResponseSeries"].data.shape == (400, 24)
        # Calcium transients: a quiet baseline with a few large, brief events.
        assert np.median(np.abs(dff)) < 0.1
        assert np.mean(dff.max(axis=0) > 0.3) >= 0.8
        mean = ophys["SummaryImages"]["mean"].data[:]
        assert mean.shape == (64, 64)
        inside = masks.max(axis=0) > 0.5
        assert mean[inside].mean() > 2 * mean[~inside].mean()


# -- intracellular ------------------------------------------------------------------------------
def test_a_step_above_rheobase_fires_action_potentials(files: dict[str, Path]) -> None:
    with _read(_only(files, "icephys")) as nwb:
        assert len(nwb.intracellular_recordings) == 4
        assert list(nwb.icephys_electrodes) == ["electrode0"]
        counts = {}
        for name, response in nwb.acquisition.items():
            stimulus = nwb.stimulus[name.replace("Series", "StimulusSeries")]
            volts = response.data[:]
            step = stimulus.data[:]
            amplitude = round(float(step[np.argmax(np.abs(step))]) * 1e12)
            counts[amplitude] = int(np.sum((volts[1:] > 0) & (volts[:-1] <= 0)))
            assert volts.min() > -0.1 and volts.max() < 0.05  # physiological volts
        assert counts[-100] == counts[50] == 0
        assert 2 <= counts[200] < counts[350]


# -- seeding ------------------------------------------------------------------------------------
def _asset_paths(api_url: str, identifier: str) -> list[str]:
    page = httpx.get(f"{api_url}/dandisets/{identifier}/versions/draft/assets/").json()
    return sorted(a["path"] for a in page["results"])


def _assets_summary(server: ServerProcess, identifier: str) -> dict[str, Any]:
    """The draft's ``assetsSummary`` once every asset is valid and summarized."""
    deadline = time.monotonic() + 60
    while True:
        md = httpx.get(f"{server.api_url}/dandisets/{identifier}/versions/draft/").json()
        summary: dict[str, Any] = md.get("assetsSummary") or {}
        if summary.get("numberOfFiles") == len(demo.SESSIONS):
            return summary
        assert time.monotonic() < deadline, (summary, server.log()[-3000:])
        time.sleep(0.3)


def test_demo_seeding_resumes_after_an_interruption(
    built: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    root, files = built
    server = ServerProcess(tmp_path / "data")
    token = server.add_user(demo.DEMO_USER, admin=True)
    with server:
        # What a seeding killed after its first upload leaves behind.
        with Transport(server.api_url, token) as t:
            created = t.post_json(
                "dandisets/", {"name": demo.DEMO_NAME, "metadata": demo.dandiset_metadata()}
            )
            ident = str(created["identifier"])
            first = files[0]
            upload_file(
                t,
                dandiset_id=ident,
                path=first,
                asset_path=first.relative_to(root).as_posix(),
            )
        assert len(_asset_paths(server.api_url, ident)) == 1

    server.demo = True
    with server:
        deadline = time.monotonic() + 60
        while len(_asset_paths(server.api_url, ident)) < len(files):
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        listing = httpx.get(f"{server.api_url}/dandisets/").json()
        paths = _asset_paths(server.api_url, ident)
        summary = _assets_summary(server, ident)
    assert listing["count"] == 1  # finished in place, no second demo dandiset
    assert paths == sorted(p.relative_to(root).as_posix() for p in files)
    # What the dandiset page shows, computed from the metadata extracted from each file.
    assert {a["name"] for a in summary["approach"]} == {EPHYS, IMAGING, BEHAVIOR}
    techniques = {t["name"] for t in summary["measurementTechnique"]}
    assert {"spike sorting technique", "two-photon microscopy technique"} <= techniques
    assert "current clamp technique" in techniques
    assert {"Units", "LFP", "TwoPhotonSeries", "CurrentClampSeries"} <= set(
        summary["variableMeasured"]
    )
    assert summary["numberOfSubjects"] == 3
    assert [s["name"] for s in summary["species"]] == ["Mus musculus - House mouse"]
